package proxy

import (
	"errors"
	"net"
	"time"
)

// Health is how the proxy is doing against its limits, for the status page
// and `kfsidebar doctor`. It names no host and no customer.
type Health struct {
	// Tunnels are the blind tunnels open now, MaxTunnels the cap.
	Tunnels, MaxTunnels int
	// TunnelsRefused counts the CONNECTs refused at the cap since the start.
	TunnelsRefused int64
	// TunnelIdleTimeout closes a tunnel that carries nothing.
	TunnelIdleTimeout time.Duration
	// Descriptors is how many descriptors the process has open, -1 where
	// it cannot be told (not Linux, or none left to count with).
	Descriptors int
	// DescriptorLimit is what the cap was derived from: RLIMIT_NOFILE, or
	// where there is none (Windows) a budget, and then DescriptorLimitKnown
	// is false.
	DescriptorLimit      int
	DescriptorLimitKnown bool
	// LastShortage is when descriptors last ran out (an accept or a dial
	// failed for want of one); zero if never.
	LastShortage time.Time
	// Short is true while LastShortage is less than a minute old: the
	// state clears by itself once a minute passes without one.
	Short bool
	// LastRefused is when a tunnel was last refused at the cap; zero if
	// never. Refusing is true while that is less than a minute ago.
	LastRefused time.Time
	Refusing    bool
}

// Health reports the tunnels and descriptors now. It reads the descriptor
// table (Linux), so it is for a status page, not for every request.
func (p *Proxy) Health() Health {
	h := Health{
		Tunnels:              p.tunnels.len(),
		MaxTunnels:           p.tunnels.max,
		TunnelsRefused:       p.tunnels.refused.Load(),
		TunnelIdleTimeout:    p.cfg.TunnelIdleTimeout,
		Descriptors:          openDescriptors(),
		DescriptorLimit:      p.fdLimit,
		DescriptorLimitKnown: p.fdLimitKnown,
	}
	h.LastShortage, h.Short = recent(p.shortage.Load())
	h.LastRefused, h.Refusing = recent(p.refusedAt.Load())
	return h
}

// recent turns a unix-ns time (0: never) into a time and whether it is
// less than a minute old.
func recent(ns int64) (time.Time, bool) {
	if ns == 0 {
		return time.Time{}, false
	}
	t := time.Unix(0, ns)
	return t, time.Since(t) < warnPeriod
}

// noteShortage records that descriptors ran short just now.
func (p *Proxy) noteShortage() { p.shortage.Store(time.Now().UnixNano()) }

// watchedListener reports the proxy port's accept errors at WARN,
// rate-limited. net/http retries them with a backoff and would say so
// only at its ErrorLog's level, Debug here: a machine out of descriptors
// stopped accepting connections, the browser's included, in silence.
type watchedListener struct {
	net.Listener
	p *Proxy
}

func (l *watchedListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	switch {
	case err == nil, errors.Is(err, net.ErrClosed):
	case isDescriptorShortage(err):
		l.p.noteShortage()
		l.p.warn.warn(warnDescriptors, "out of descriptors: new connections wait", "where", "accept",
			"open", openDescriptors(), "limit", l.p.fdLimit, "tunnels", l.p.tunnels.len(), "err", err)
	default:
		l.p.warn.warn(warnAccept, "accept failed; retrying", "err", err)
	}
	return c, err
}
