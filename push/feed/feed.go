// Package feed serves the push gateway's workstation feed: each
// workstation's kfsidebar subscribes with its own token and receives, live,
// only what the sidebar needs (来源 from user_enter_tempsession, logistics
// updates, the text and time of users' queued messages), for a short time
// only (push.Config.FeedTTL).
//
// It is the gateway's only use of gorilla/websocket. A workstation either
// holds a websocket (GET with Upgrade) or long-polls the same URL; both
// carry push.FeedEvent JSON with increasing ids, and resume after the last
// id seen (?after=).
package feed

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"github.com/kfsidebar/kfsidebar/push"
	"github.com/kfsidebar/kfsidebar/push/internal/wake"
)

// Defaults of Config.
const (
	DefaultPollInterval   = 500 * time.Millisecond
	DefaultSettle         = 5 * time.Second
	DefaultMaxSubscribers = 64
	DefaultWriteTimeout   = 10 * time.Second
	DefaultLongPoll       = 25 * time.Second
)

// pingEvery keeps NATs and proxies from closing an idle websocket, and
// finds dead workstations; a peer that misses two pings is dropped.
const pingEvery = 30 * time.Second

// batch bounds one read of the source.
const batch = 200

// ErrConfig is a Config that New refuses.
var ErrConfig = errors.New("feed config")

// Source is where feed items are kept: the gateway's push.Store.
type Source interface {
	FeedAfter(ctx context.Context, after int64, since time.Time, limit int) ([]push.FeedItem, error)
}

// Config configures a Feed. Zero fields mean the default stated.
type Config struct {
	// Tokens maps each workstation's token to its name (for logs). At
	// least one; each token at least 16 characters.
	Tokens map[string]string
	// Source holds the items (the gateway's store). Required.
	Source Source
	// TTL is how old an item may be and still be sent; default
	// push.DefaultFeedTTL. Keep it equal to the gateway's FeedTTL.
	TTL time.Duration
	// PollInterval is how often a subscriber looks for items that other
	// gateway instances added; default 500 ms. Items added here are sent
	// at once (Wake).
	PollInterval time.Duration
	// Settle is how long after its creation an item's id is final. With
	// several instances on PostgreSQL, ids are taken at insert and become
	// visible at commit, so a lower id can appear after a higher one; a
	// subscriber's resume point trails by this much and repeats are
	// filtered per connection. Default 5 s (the reply budget bounds a
	// commit's delay).
	Settle time.Duration
	// MaxSubscribers caps open subscriptions; default 64. More get 503.
	MaxSubscribers int
	// WriteTimeout drops a subscriber that stops reading; default 10 s.
	WriteTimeout time.Duration
	// Now is the clock; default time.Now.
	Now func() time.Time
	// Logger gets the feed's logs; default discards. Tokens are never
	// logged; workstation names are.
	Logger *slog.Logger
}

// Feed is the http.Handler of the workstation feed.
type Feed struct {
	cfg      Config
	tokens   [][]byte
	names    []string
	signal   wake.Signal
	open     atomic.Int64
	upgrader websocket.Upgrader
}

// New checks cfg and returns the feed. Mount it at a path of the gateway's
// listener (say /feed) and pass its Wake to push.Config.OnFeed.
func New(cfg Config) (*Feed, error) {
	if cfg.Source == nil {
		return nil, fmt.Errorf("%w: no source", ErrConfig)
	}
	if len(cfg.Tokens) == 0 {
		return nil, fmt.Errorf("%w: no workstation tokens", ErrConfig)
	}
	f := &Feed{}
	for tok, name := range cfg.Tokens {
		if len(tok) < 16 {
			return nil, fmt.Errorf("%w: workstation %q: token shorter than 16 characters", ErrConfig, name)
		}
		f.tokens = append(f.tokens, []byte(tok))
		f.names = append(f.names, name)
	}
	if cfg.TTL <= 0 {
		cfg.TTL = push.DefaultFeedTTL
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = DefaultPollInterval
	}
	if cfg.Settle <= 0 {
		cfg.Settle = DefaultSettle
	}
	if cfg.MaxSubscribers <= 0 {
		cfg.MaxSubscribers = DefaultMaxSubscribers
	}
	if cfg.WriteTimeout <= 0 {
		cfg.WriteTimeout = DefaultWriteTimeout
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	f.cfg = cfg
	// Workstations are programs, not browsers: a request with an Origin
	// comes from a web page and is refused.
	f.upgrader = websocket.Upgrader{CheckOrigin: func(r *http.Request) bool { return r.Header.Get("Origin") == "" }}
	return f, nil
}

// Wake tells subscribers that an item was added; it never blocks.
func (f *Feed) Wake() { f.signal.Wake() }

// Subscribers is how many workstations are subscribed now, for the status
// page.
func (f *Feed) Subscribers() int { return int(f.open.Load()) }

// ServeHTTP authenticates the workstation (Authorization: Bearer <token>)
// and serves a websocket (with Upgrade) or one long poll:
// GET ?after=<id>&wait=<seconds> answers {"events": [...], "after": <id>}
// as soon as there are events or the wait (default 25 s) ends; pass the
// returned after to the next poll, and drop events whose id was seen.
func (f *Feed) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", "GET")
		w.WriteHeader(http.StatusMethodNotAllowed)
		return
	}
	name, ok := f.authenticate(r)
	if !ok {
		w.Header().Set("WWW-Authenticate", `Bearer realm="kfsidebar gateway feed"`)
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	if f.open.Add(1) > int64(f.cfg.MaxSubscribers) {
		f.open.Add(-1)
		f.cfg.Logger.Warn("feed full; subscriber refused", "workstation", name, "max", f.cfg.MaxSubscribers)
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	defer f.open.Add(-1)
	after, _ := strconv.ParseInt(r.URL.Query().Get("after"), 10, 64)
	if websocket.IsWebSocketUpgrade(r) {
		f.serveWebsocket(w, r, name, after)
		return
	}
	f.servePoll(w, r, after)
}

// authenticate finds the workstation whose token the request carries,
// comparing with every token in constant time.
func (f *Feed) authenticate(r *http.Request) (string, bool) {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || tok == "" {
		return "", false
	}
	found := -1
	for i, t := range f.tokens {
		if subtle.ConstantTimeCompare([]byte(tok), t) == 1 {
			found = i
		}
	}
	if found < 0 {
		return "", false
	}
	return f.names[found], true
}

// cursor is one subscriber's position. Everything up to after is sent
// and final; high is the newest id sent (created at highAt); sent holds the
// ids in (after, high] already sent, so a late commit among them is sent
// once and nothing twice.
type cursor struct {
	after, high int64
	highAt      time.Time
	sent        map[int64]bool
}

func newCursor(after int64) *cursor {
	return &cursor{after: after, high: after, sent: map[int64]bool{}}
}

// next returns the events not yet sent, and moves the cursor.
func (f *Feed) next(ctx context.Context, c *cursor) ([]push.FeedEvent, error) {
	now := f.cfg.Now()
	since := now.Add(-f.cfg.TTL)
	var out []push.FeedEvent
	emit := func(it push.FeedItem) {
		if c.sent[it.ID] {
			return
		}
		c.sent[it.ID] = true
		var ev push.FeedEvent
		if json.Unmarshal(it.Data, &ev) == nil {
			ev.ID = it.ID
			out = append(out, ev)
		}
	}
	// Below high: items committed late, and how far everything is final.
	if c.high > c.after {
		items, err := f.cfg.Source.FeedAfter(ctx, c.after, since, batch)
		if err != nil {
			return nil, err
		}
		final := true
		for _, it := range items {
			if it.ID > c.high {
				break
			}
			emit(it)
			if final && now.Sub(it.Created) >= f.cfg.Settle {
				c.after = it.ID
			} else {
				final = false
			}
		}
		// Ids below high still missing once high itself is final belong to
		// transactions that rolled back, or to items already expired.
		if final && now.Sub(c.highAt) >= f.cfg.Settle {
			c.after = c.high
		}
	}
	// Above high: new items.
	items, err := f.cfg.Source.FeedAfter(ctx, c.high, since, batch)
	if err != nil {
		return out, err
	}
	final := c.after == c.high
	for _, it := range items {
		emit(it)
		c.high, c.highAt = it.ID, it.Created
		if final && now.Sub(it.Created) >= f.cfg.Settle {
			c.after = it.ID
		} else {
			final = false
		}
	}
	for id := range c.sent {
		if id <= c.after {
			delete(c.sent, id)
		}
	}
	return out, nil
}

func (f *Feed) servePoll(w http.ResponseWriter, r *http.Request, after int64) {
	wait := DefaultLongPoll
	if s, err := strconv.Atoi(r.URL.Query().Get("wait")); err == nil && s >= 0 && time.Duration(s)*time.Second < wait {
		wait = time.Duration(s) * time.Second
	}
	// The wait bounds the waiting, never a read: an answer is always a
	// complete read done after the request arrived, so an empty one means
	// there was nothing (a workstation relies on that to know what it
	// has), and wait=0 reads once.
	waited := time.NewTimer(wait)
	defer waited.Stop()
	c := newCursor(after)
	var events []push.FeedEvent
	for done := false; ; {
		woken := f.signal.C()
		var err error
		if events, err = f.next(r.Context(), c); err != nil {
			if r.Context().Err() == nil {
				f.cfg.Logger.Warn("feed read failed", "err", err)
				w.WriteHeader(http.StatusServiceUnavailable)
			}
			return
		}
		if len(events) > 0 || done {
			break
		}
		select {
		case <-r.Context().Done():
			return
		case <-waited.C:
			done = true // one more read, then the answer
		case <-woken:
		case <-time.After(f.cfg.PollInterval):
		}
	}
	if events == nil {
		events = []push.FeedEvent{}
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	json.NewEncoder(w).Encode(struct {
		Events []push.FeedEvent `json:"events"`
		After  int64            `json:"after"`
	}{events, c.after})
}

func (f *Feed) serveWebsocket(w http.ResponseWriter, r *http.Request, name string, after int64) {
	conn, err := f.upgrader.Upgrade(w, r, nil)
	if err != nil {
		return // the upgrader has answered
	}
	defer conn.Close()
	f.cfg.Logger.Info("workstation subscribed", "workstation", name)
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	// The reader only answers pings and notices the close; a workstation
	// sends nothing else.
	conn.SetReadLimit(1 << 10)
	conn.SetReadDeadline(time.Now().Add(2 * pingEvery))
	conn.SetPongHandler(func(string) error { return conn.SetReadDeadline(time.Now().Add(2 * pingEvery)) })
	go func() {
		defer cancel()
		for {
			if _, _, err := conn.NextReader(); err != nil {
				return
			}
		}
	}()
	ping := time.NewTicker(pingEvery)
	defer ping.Stop()
	poll := time.NewTimer(0)
	defer poll.Stop()
	c := newCursor(after)
	for {
		woken := f.signal.C()
		select {
		case <-ctx.Done():
			f.cfg.Logger.Info("workstation left", "workstation", name)
			return
		case <-ping.C:
			if err := conn.WriteControl(websocket.PingMessage, nil, time.Now().Add(f.cfg.WriteTimeout)); err != nil {
				return
			}
			continue
		case <-woken:
		case <-poll.C:
		}
		events, err := f.next(ctx, c)
		if err != nil {
			f.cfg.Logger.Warn("feed read failed", "workstation", name, "err", err)
		}
		for _, ev := range events {
			conn.SetWriteDeadline(time.Now().Add(f.cfg.WriteTimeout))
			if err := conn.WriteJSON(ev); err != nil {
				f.cfg.Logger.Warn("workstation dropped: not reading", "workstation", name, "err", err)
				return
			}
		}
		if len(events) >= batch {
			poll.Reset(0)
		} else {
			poll.Reset(f.cfg.PollInterval)
		}
	}
}
