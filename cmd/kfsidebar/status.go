package main

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/kfsidebar/kfsidebar/proxy"
	"github.com/kfsidebar/kfsidebar/proxy/admin"
	"github.com/kfsidebar/kfsidebar/proxy/chats"
	"github.com/kfsidebar/kfsidebar/proxy/console"
	"github.com/kfsidebar/kfsidebar/sidebar/shop"
)

// scanClock hands scanned chats on to the session map and notes when that
// last happened, for the status page's "last chat learned".
type scanClock struct {
	proxy.Sink
	last atomic.Int64 // unix nanoseconds; 0 before the first scan
}

func (s *scanClock) Add(ctx context.Context, recs []console.Record) error {
	s.last.Store(time.Now().UnixNano())
	return s.Sink.Add(ctx, recs)
}

// Last is when chats were last learned; zero if never since the start.
func (s *scanClock) Last() time.Time {
	if n := s.last.Load(); n != 0 {
		return time.Unix(0, n)
	}
	return time.Time{}
}

// backendHealth adapts the order backend's health for the status page and
// doctor; nil (no row) when the backend does not report any.
func backendHealth(backend any) func() admin.BackendHealth {
	hr, ok := backend.(shop.HealthReporter)
	if !ok {
		return nil
	}
	return func() admin.BackendHealth {
		h := hr.Health()
		return admin.BackendHealth{State: h.State, LastError: h.LastError, LastErrorAt: h.LastErrorAt, RetryAt: h.RetryAt}
	}
}

// storageHealth adapts the chat map's store failures for the status page
// and doctor.
func storageHealth(s *chats.Sessions) func() admin.StorageHealth {
	return func() admin.StorageHealth {
		since, err := s.StoreFailing()
		if err == nil {
			return admin.StorageHealth{OK: true}
		}
		return admin.StorageHealth{Error: err.Error(), Since: since}
	}
}

// proxyHealth adapts the proxy's tunnels and descriptors for the status
// page and doctor.
func proxyHealth(h proxy.Health) admin.ProxyHealth {
	return admin.ProxyHealth{
		Tunnels: admin.TunnelHealth{
			OK:          !h.Refusing,
			Open:        h.Tunnels,
			Max:         h.MaxTunnels,
			Refused:     h.TunnelsRefused,
			IdleTimeout: h.TunnelIdleTimeout.String(),
			LastRefused: h.LastRefused,
		},
		Descriptors: admin.DescriptorHealth{
			OK:           !h.Short,
			Open:         max(h.Descriptors, 0),
			Limit:        h.DescriptorLimit,
			LastShortage: h.LastShortage,
		},
	}
}
