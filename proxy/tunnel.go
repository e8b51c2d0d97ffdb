package proxy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/elazarl/goproxy"
)

// Blind tunnels are every CONNECT to a host that is not a console host: a
// browser whose manual proxy setting points at kfsidebar sends every site
// through them, and other programs may use the system proxy too. They are
// bounded the way every other connection is: closed when no byte has moved
// either way for the idle timeout, and no more at once than the
// descriptor limit allows, so that the console and the sidebar always find
// descriptors free.

// DefaultTunnelIdleTimeout is how long a blind tunnel may carry nothing in
// either direction before it is closed: long enough for the websockets and
// long polls of other sites, which send something every minute or so.
const DefaultTunnelIdleTimeout = 15 * time.Minute

// Copy buffers. A tunnel direction reads into a small buffer of its own
// while the traffic is light (an idle tunnel holds only that), and borrows
// a large one from a pool once a read fills the small one, until that
// direction has been quiet for bigBufferHold.
const (
	smallBufferSize = 2 << 10
	bigBufferSize   = 32 << 10
	bigBufferHold   = time.Second
)

var bigBuffers = sync.Pool{New: func() any { b := make([]byte, bigBufferSize); return &b }}

// tunnelRefusedText is all a browser learns when the cap is reached.
const tunnelRefusedText = "kfsidebar: too many connections through this proxy at once; try again in a moment\n"

// tunnelSet is the open blind tunnels, at most max at once.
type tunnelSet struct {
	max     int
	refused atomic.Int64
	wg      sync.WaitGroup
	// ctx ends with closeAll: it cancels the dials under way.
	ctx    context.Context
	cancel context.CancelFunc

	mu     sync.Mutex
	open   map[*tunnel]struct{}
	closed bool
}

// Why add refuses a tunnel.
var (
	errTunnelsFull   = errors.New("too many blind tunnels")
	errTunnelsClosed = errors.New("proxy shutting down")
)

func newTunnelSet(max int) *tunnelSet {
	ctx, cancel := context.WithCancel(context.Background())
	return &tunnelSet{max: max, open: map[*tunnel]struct{}{}, ctx: ctx, cancel: cancel}
}

// add registers t, unless max tunnels are open or the proxy is shutting
// down.
func (s *tunnelSet) add(t *tunnel) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.closed:
		return errTunnelsClosed
	case len(s.open) >= s.max:
		return errTunnelsFull
	}
	s.open[t] = struct{}{}
	s.wg.Add(1)
	return nil
}

func (s *tunnelSet) remove(t *tunnel) {
	s.mu.Lock()
	delete(s.open, t)
	s.mu.Unlock()
	s.wg.Done()
}

func (s *tunnelSet) len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.open)
}

// closeAll closes every tunnel and refuses new ones; wait then waits for
// their goroutines.
func (s *tunnelSet) closeAll() {
	s.mu.Lock()
	s.closed = true
	s.cancel()
	open := make([]*tunnel, 0, len(s.open))
	for t := range s.open {
		open = append(open, t)
	}
	s.mu.Unlock()
	for _, t := range open {
		t.close()
	}
}

func (s *tunnelSet) wait(ctx context.Context) error {
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// serveTunnel is the ConnectHijack action for hosts that are not decrypted:
// it answers the CONNECT itself (503 beyond the cap, 502 when the host
// cannot be reached) and then copies bytes both ways, blind, until either
// side closes or the tunnel has been idle for the idle timeout.
func (p *Proxy) serveTunnel(req *http.Request, client net.Conn, _ *goproxy.ProxyCtx) {
	t := &tunnel{client: client, idle: p.cfg.TunnelIdleTimeout, start: time.Now()}
	defer func() {
		if r := recover(); r != nil {
			p.log.Error("panic in blind tunnel", "panic", r)
			t.close()
		}
	}()
	if err := p.tunnels.add(t); err != nil {
		if errors.Is(err, errTunnelsClosed) {
			client.Close()
			return
		}
		n := p.tunnels.refused.Add(1)
		p.refusedAt.Store(time.Now().UnixNano())
		p.warn.warn(warnTunnel, "blind tunnel refused: too many open", "open", p.tunnels.len(), "max", p.tunnels.max, "refused_total", n)
		p.log.Debug("blind tunnel refused", "host", req.URL.Host)
		reply(client, http.StatusServiceUnavailable, tunnelRefusedText)
		client.Close()
		return
	}
	defer p.tunnels.remove(t)
	host := req.URL.Host
	if _, _, err := net.SplitHostPort(host); err != nil {
		host = net.JoinHostPort(host, "80") // as goproxy did: a CONNECT without a port is plain HTTP's
	}
	server, err := p.tunnelDial(p.tunnels.ctx, "tcp", host)
	if err != nil {
		p.noteDialError(err)
		p.log.Debug("blind tunnel dial failed", "host", host, "err", err)
		reply(client, http.StatusBadGateway, badGatewayText)
		client.Close()
		return
	}
	if !t.attach(server) { // the proxy shut down while we dialed
		return
	}
	if _, err := io.WriteString(client, "HTTP/1.1 200 Connection established\r\n\r\n"); err != nil {
		t.close()
		return
	}
	if t.run() {
		p.log.Debug("blind tunnel idle, closed", "host", host, "idle", t.idle)
	}
}

// noteDialError records a dial that failed for want of descriptors.
func (p *Proxy) noteDialError(err error) {
	if isDescriptorShortage(err) {
		p.noteShortage()
		p.warn.warn(warnDescriptors, "out of descriptors: connections fail", "where", "dial", "open", openDescriptors(), "limit", p.fdLimit, "err", err)
	}
}

// reply writes a complete HTTP/1.1 response with a text body.
func reply(c net.Conn, status int, text string) {
	c.SetWriteDeadline(time.Now().Add(5 * time.Second))
	fmt.Fprintf(c, "HTTP/1.1 %d %s\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: %d\r\nConnection: close\r\n", status, http.StatusText(status), len(text))
	if status == http.StatusServiceUnavailable {
		io.WriteString(c, "Retry-After: 5\r\n")
	}
	io.WriteString(c, "\r\n"+text)
}

// tunnel is one blind tunnel between the browser (client) and the host it
// asked for (server).
type tunnel struct {
	client net.Conn
	idle   time.Duration
	start  time.Time    // with its monotonic reading: the clock of last
	last   atomic.Int64 // when the last byte moved either way, in ns since start

	mu     sync.Mutex
	server net.Conn // nil until dialed
	closed bool
}

// attach sets the dialed server connection, or closes it and reports false
// when the tunnel was closed meanwhile.
func (t *tunnel) attach(server net.Conn) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		server.Close()
		return false
	}
	t.server = server
	return true
}

// close closes both sides; the copies then end.
func (t *tunnel) close() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return
	}
	t.closed = true
	t.client.Close()
	if t.server != nil {
		t.server.Close()
	}
}

// touch notes that a byte moved.
func (t *tunnel) touch() { t.last.Store(int64(time.Since(t.start))) }

// deadline is when the tunnel is idle if nothing moves before.
func (t *tunnel) deadline() time.Time {
	return t.start.Add(time.Duration(t.last.Load()) + t.idle)
}

// expired reports whether nothing moved either way for the idle timeout.
func (t *tunnel) expired() bool { return !time.Now().Before(t.deadline()) }

// run copies both ways until both directions end, then closes the tunnel.
// It reports whether the tunnel ended because it was idle.
func (t *tunnel) run() (idled bool) {
	t.touch()
	var up atomic.Bool
	done := make(chan struct{})
	go func() {
		defer close(done)
		up.Store(t.pipe(t.server, t.client))
	}()
	down := t.pipe(t.client, t.server)
	<-done
	t.close()
	return up.Load() || down
}

// pipe copies src to dst. It does not use io.Copy: between two TCP
// connections that would splice through a pair of pipe descriptors per
// direction, which the runtime pools and closes only when the garbage
// collector runs, minutes after a burst of tunnels has closed. At EOF it
// passes the half-close on and returns, leaving the other direction to
// finish; on any other error, and when the tunnel is idle, it closes the
// whole tunnel. It reports whether it stopped because the tunnel was idle.
func (t *tunnel) pipe(dst, src net.Conn) (idled bool) {
	small := make([]byte, smallBufferSize)
	buf := small
	var big *[]byte
	defer func() {
		if big != nil {
			bigBuffers.Put(big)
		}
	}()
	for {
		deadline := t.deadline()
		if big != nil {
			deadline = minTime(deadline, time.Now().Add(bigBufferHold))
		}
		src.SetReadDeadline(deadline)
		n, err := src.Read(buf)
		if n > 0 {
			t.touch()
			if werr := t.write(dst, buf[:n]); werr != nil {
				t.close()
				return errors.Is(werr, errIdle)
			}
			if n == len(buf) && big == nil {
				big = bigBuffers.Get().(*[]byte)
				buf = *big
			}
		}
		switch {
		case err == nil:
		case isTimeout(err) && big != nil:
			// Quiet for bigBufferHold: give the large buffer back.
			bigBuffers.Put(big)
			big, buf = nil, small
		case isTimeout(err) && !t.expired():
			// The other direction moved meanwhile: wait on.
		case isTimeout(err):
			t.close()
			return true
		case errors.Is(err, io.EOF):
			if cw, ok := dst.(interface{ CloseWrite() error }); ok && cw.CloseWrite() == nil {
				return false
			}
			t.close()
			return false
		default:
			t.close()
			return false
		}
	}
}

// errIdle is what write returns when the peer took nothing for the whole
// idle timeout.
var errIdle = errors.New("tunnel idle")

// write writes all of b to dst, waiting as long as the tunnel is not idle.
func (t *tunnel) write(dst net.Conn, b []byte) error {
	for len(b) > 0 {
		dst.SetWriteDeadline(t.deadline())
		n, err := dst.Write(b)
		b = b[n:]
		if n > 0 {
			t.touch()
		}
		switch {
		case err == nil:
		case isTimeout(err) && !t.expired():
		case isTimeout(err):
			return errIdle
		default:
			return err
		}
	}
	return nil
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}
