package main

import (
	"context"
	"crypto/x509"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"time"

	"github.com/kfsidebar/kfsidebar/proxy/admin"
	"github.com/kfsidebar/kfsidebar/proxy/chats"
	"github.com/kfsidebar/kfsidebar/proxy/console"
	"github.com/kfsidebar/kfsidebar/push"
	"github.com/kfsidebar/kfsidebar/sidebar"
	"github.com/kfsidebar/kfsidebar/sidebar/gatewayfeed"
)

// subscription is this workstation's subscription to the shop's push
// gateway, when [gateway] names one: its events go to the sidebar (来源,
// tracking) and to the resolver (queued messages).
type subscription struct {
	client *gatewayfeed.Client
	cancel context.CancelFunc
	done   chan struct{}
}

// newFeed subscribes to the gateway of cfg, through the office proxy up
// when there is one; nil when none is configured. Nothing is sent before
// start.
func newFeed(cfg FeedConfig, up *url.URL, sessions *chats.Sessions, hub *sidebar.Hub, log *slog.Logger) (*subscription, error) {
	if !cfg.enabled() {
		return nil, nil
	}
	roots, err := gatewayRoots(cfg.CAFile)
	if err != nil {
		return nil, err
	}
	c, err := gatewayfeed.New(gatewayfeed.Config{
		URL:     cfg.URL,
		Token:   cfg.token(),
		RootCAs: roots,
		Proxy:   up,
		TTL:     cfg.FeedTTL.Duration,
		Handle:  feedHandler(sessions, hub),
		Logger:  log.With("component", "gateway-feed"),
	})
	if err != nil {
		return nil, fmt.Errorf("[gateway]: %w", err)
	}
	log.Info("subscribing to the push gateway", "url", cfg.URL, "sources", len(cfg.Sources))
	return &subscription{client: c}, nil
}

// feedHandler hands each answer of the feed on: users' messages to the
// resolver (then what the answer covers), 来源 and tracking steps to the
// sidebar. None of them blocks.
func feedHandler(sessions *chats.Sessions, hub *sidebar.Hub) func(gatewayfeed.Batch) {
	return func(b gatewayfeed.Batch) {
		var msgs []chats.PushedMessage
		for _, ev := range b.Events {
			at := time.Unix(ev.CreateTime, 0)
			switch ev.Kind {
			case push.FeedMessage:
				if ev.Text != "" {
					msgs = append(msgs, chats.PushedMessage{OpenID: ev.OpenID, Text: ev.Text, CreateTime: at})
				}
			case push.FeedSessionFrom:
				hub.SessionFrom(ev.OpenID, ev.SessionFrom, at)
			case push.FeedLogistics:
				if l := ev.Logistics; l != nil {
					hub.Tracking(sidebar.TrackingUpdate{WayBillID: l.WayBillID, OrderID: l.OrderID, DeliveryID: l.DeliveryID,
						Version: l.Version, ActionTime: time.Unix(l.ActionTime, 0), ActionType: l.ActionType, ActionMsg: l.ActionMsg})
				}
			}
		}
		if len(msgs) > 0 {
			sessions.AddPushed(msgs)
		}
		if !b.Through.IsZero() {
			sessions.PushFeedSynced(b.From, b.Through)
		}
	}
}

// start runs the subscription until stop.
func (f *subscription) start() {
	if f == nil {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	f.cancel, f.done = cancel, make(chan struct{})
	go func() {
		defer close(f.done)
		f.client.Run(ctx)
	}()
}

// stop ends the subscription and waits for it.
func (f *subscription) stop() {
	if f == nil || f.cancel == nil {
		return
	}
	f.cancel()
	<-f.done
}

// health is the status page's data source; nil without a gateway.
func (f *subscription) health() func() admin.GatewayHealth {
	if f == nil {
		return nil
	}
	return func() admin.GatewayHealth {
		h := f.client.Health()
		return admin.GatewayHealth{URL: h.URL, Connected: h.Connected, Since: h.Since, LastError: h.LastError,
			LastErrorAt: h.LastErrorAt, LastEventAt: h.LastEventAt, Events: h.Events}
	}
}

// waitingList is the proxy's hook for the console's waiting list: the
// resolver's side of queued messages, wanted only with a gateway.
func (f *subscription) waitingList(sessions *chats.Sessions) func([]console.WaitingMessage) {
	if f == nil {
		return nil
	}
	return sessions.AddWaiting
}

// gatewayRoots are the system roots plus [gateway] ca_file; nil (the
// system roots alone) without one.
func gatewayRoots(file string) (*x509.CertPool, error) {
	if file == "" {
		return nil, nil
	}
	pem, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("[gateway] ca_file: %w", err)
	}
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("[gateway] ca_file %s: no PEM certificate found", file)
	}
	return pool, nil
}
