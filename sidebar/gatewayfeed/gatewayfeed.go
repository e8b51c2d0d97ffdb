// Package gatewayfeed is the workstation's subscription to the shop's push
// gateway (kfsidebar gateway, package push/feed): it long-polls the
// gateway's workstation feed with this workstation's token over verified
// TLS, hands each new event on (来源, logistics updates, queued messages),
// resumes after the last id it saw, reconnects with backoff, and says
// what its answers cover, so that the identity resolver can tell a push
// it has not seen from one that does not exist.
//
// It speaks the feed's long-poll mode over plain net/http: the feed's
// websocket mode would add nothing a workstation needs (a poll answers as
// soon as there is an event), and gorilla/websocket stays with the two
// packages that serve websockets.
//
// Nothing here blocks the proxy or the console: the client runs on a
// goroutine of its own, and a gateway that is down only shows on the
// status page (Health) and in the log.
package gatewayfeed

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/kfsidebar/kfsidebar/push"
)

// Defaults of Config.
const (
	DefaultWait       = 10 * time.Second
	DefaultMinBackoff = time.Second
	DefaultMaxBackoff = time.Minute
)

// feedBatch is the most events push/feed answers one poll with. An answer
// with fewer held everything the gateway had when it was asked; a full one
// may not have, and the next poll fetches the rest.
const feedBatch = 200

// clockMargin is how far this workstation's, the gateway's and WeChat's
// clocks, and WeChat's retries of a push, may set a push's CreateTime
// apart from when the gateway kept it. Coverage is claimed this much
// short of what the gateway's TTL allows.
const clockMargin = 2 * time.Minute

// repeatPause is how long the client waits before asking again after an
// answer that only repeated events (push/feed's ids settle within
// seconds).
const repeatPause = time.Second

// maxBody bounds one answer of the feed: 200 small events.
const maxBody = 4 << 20

// warnEvery is how often a gateway that stays unreachable is logged at
// WARN, with a count.
const warnEvery = time.Minute

// ErrConfig is a Config that New refuses.
var ErrConfig = errors.New("gateway feed config")

// Config configures a Client. Zero fields mean the default stated.
type Config struct {
	// URL is the gateway's feed, e.g. https://kf.shop.example/feed.
	// https, or http to a loopback address (a gateway on this machine).
	// Required.
	URL string
	// Token is this workstation's token, sent as Authorization: Bearer.
	// Required.
	Token string
	// RootCAs verify the gateway's certificate; nil means the system
	// roots.
	RootCAs *x509.CertPool
	// Proxy is an HTTP proxy to reach the gateway through (an office's);
	// nil means a direct connection, whatever the environment says.
	Proxy *url.URL
	// TTL is how long the gateway keeps feed items (its feed_ttl); default
	// push.DefaultFeedTTL. Older events are dropped, and after a gap
	// longer than TTL what the gateway dropped meanwhile is known lost.
	TTL time.Duration
	// Wait is how long one poll may wait for an event; default 10 s. A
	// waiting message the proxy saw is weighed once a poll asked after it
	// has been answered: within Wait when the gateway is quiet.
	Wait time.Duration
	// MinBackoff and MaxBackoff bound the wait before trying again after
	// a failure, doubling from the one to the other; defaults 1 s and 60 s.
	MinBackoff, MaxBackoff time.Duration
	// Handle receives every answer that brought events or moved the
	// coverage, in order, on the client's goroutine. It must return
	// quickly: the next poll waits for it. Required.
	Handle func(Batch)
	// Now is the clock; default time.Now.
	Now func() time.Time
	// Logger gets connection trouble (WARN, once a minute with a count)
	// and events at Debug; default discards. The token is never logged.
	Logger *slog.Logger
}

// Batch is one answer of the feed.
type Batch struct {
	// Events are new events in the feed's order, each once, none older
	// than the TTL.
	Events []push.FeedEvent
	// From and Through say what the events handed so far cover: every
	// event with a CreateTime at or after From that the gateway had kept
	// before Through (the client's clock, when it asked) is in this batch
	// or an earlier one. Through is zero when the answer proves nothing
	// (it was full, and more may be waiting).
	From, Through time.Time
}

// Health is how the subscription is doing, for the status page and
// `kfsidebar doctor`. It holds no customer data.
type Health struct {
	// URL is the feed's address.
	URL string
	// Connected is true while the last poll was answered.
	Connected bool
	// Since is when the current state began: connected since, or failing
	// since; zero before the first attempt.
	Since time.Time
	// LastError is the latest failure, "" if none since the start;
	// LastErrorAt is when.
	LastError   string
	LastErrorAt time.Time
	// LastEventAt is when an event last arrived; Events counts them.
	LastEventAt time.Time
	Events      int64
}

// Client is one workstation's subscription. Run runs it.
type Client struct {
	cfg    Config
	http   *http.Client
	log    *slog.Logger
	target string // cfg.URL without a query

	mu     sync.Mutex
	health Health
}

// New checks cfg and returns a client; nothing is sent before Run.
func New(cfg Config) (*Client, error) {
	u, err := url.Parse(cfg.URL)
	switch {
	case err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http"):
		return nil, fmt.Errorf("%w: url %q: want https://HOST/PATH, e.g. https://kf.shop.example/feed", ErrConfig, cfg.URL)
	case u.Scheme == "http" && !isLoopback(u.Hostname()):
		return nil, fmt.Errorf("%w: url %q: use https (plain http only to a gateway on this machine)", ErrConfig, cfg.URL)
	case u.User != nil:
		return nil, fmt.Errorf("%w: url %q: the token goes in token, not in the URL", ErrConfig, cfg.URL)
	case cfg.Token == "":
		return nil, fmt.Errorf("%w: no token", ErrConfig)
	case cfg.Handle == nil:
		return nil, fmt.Errorf("%w: no Handle", ErrConfig)
	}
	if cfg.TTL <= 0 {
		cfg.TTL = push.DefaultFeedTTL
	}
	if cfg.Wait <= 0 {
		cfg.Wait = DefaultWait
	}
	if cfg.MinBackoff <= 0 {
		cfg.MinBackoff = DefaultMinBackoff
	}
	if cfg.MaxBackoff < cfg.MinBackoff {
		cfg.MaxBackoff = max(DefaultMaxBackoff, cfg.MinBackoff)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	u.RawQuery, u.Fragment = "", ""
	tr := &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSClientConfig:     &tls.Config{RootCAs: cfg.RootCAs, MinVersion: tls.VersionTLS12},
		TLSHandshakeTimeout: 10 * time.Second,
		MaxIdleConns:        1,
		IdleConnTimeout:     time.Minute,
		ForceAttemptHTTP2:   true,
	}
	if cfg.Proxy != nil {
		tr.Proxy = http.ProxyURL(cfg.Proxy)
	}
	c := &Client{
		cfg:    cfg,
		http:   &http.Client{Transport: tr, Timeout: cfg.Wait + 20*time.Second},
		log:    cfg.Logger,
		target: u.String(),
		health: Health{URL: u.String()},
	}
	return c, nil
}

// Health reports the subscription's state now.
func (c *Client) Health() Health {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.health
}

// Run polls the feed until ctx ends; it returns nil then. The first poll
// asks for everything the gateway still keeps.
func (c *Client) Run(ctx context.Context) error {
	defer c.http.CloseIdleConnections()
	var (
		s       = state{seen: map[int64]bool{}}
		backoff = c.cfg.MinBackoff
		fails   int
		warned  time.Time
		busy    bool // the last answer had events
	)
	for ctx.Err() == nil {
		// The first poll, the first after a failure and the one after an
		// answer with events do not wait: whether the gateway answers, and
		// that everything it held when asked is here (the coverage the
		// resolver waits for), is known at once, not a Wait later.
		wait := c.cfg.Wait
		if fails > 0 || s.lastOK.IsZero() || busy {
			wait = 0
		}
		asked := c.cfg.Now()
		ans, err := c.poll(ctx, s.after, wait)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			fails++
			c.failed(err, asked)
			if now := c.cfg.Now(); now.Sub(warned) >= warnEvery {
				c.log.Warn("gateway feed unreachable; 来源 and tracking updates wait", "url", c.target, "err", err, "failures", fails)
				warned = now
			}
			if !sleep(ctx, jitter(backoff)) {
				return nil
			}
			backoff = min(2*backoff, c.cfg.MaxBackoff)
			continue
		}
		if fails > 0 || s.lastOK.IsZero() {
			c.log.Info("gateway feed connected", "url", c.target, "after_failures", fails)
		}
		fails, backoff, warned = 0, c.cfg.MinBackoff, time.Time{}
		b := s.take(ans, asked, c.cfg.TTL)
		busy = len(b.Events) > 0
		c.answered(asked, b)
		if len(b.Events) > 0 || !b.Through.IsZero() {
			c.cfg.Handle(b)
		}
		if len(ans.Events) > 0 && len(b.Events) == 0 {
			// Only events already handed on: the feed repeats them until
			// their ids settle, and answers at once while it does. A
			// pause keeps that from becoming a busy loop.
			if !sleep(ctx, repeatPause) {
				return nil
			}
		}
	}
	return nil
}

// answer is one long poll's JSON.
type answer struct {
	Events []push.FeedEvent `json:"events"`
	After  int64            `json:"after"`
}

// poll asks for the events after the id given, waiting up to wait for one.
func (c *Client) poll(ctx context.Context, after int64, wait time.Duration) (answer, error) {
	q := url.Values{"after": {strconv.FormatInt(after, 10)}, "wait": {strconv.Itoa(int(wait / time.Second))}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.target+"?"+q.Encode(), nil)
	if err != nil {
		return answer{}, err
	}
	req.Header.Set("Authorization", "Bearer "+c.cfg.Token)
	req.Header.Set("Accept", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return answer{}, err
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
	case http.StatusUnauthorized, http.StatusForbidden:
		return answer{}, fmt.Errorf("the gateway refused this workstation's token (%s)", resp.Status)
	case http.StatusServiceUnavailable:
		return answer{}, fmt.Errorf("the gateway is busy or cannot read its store (%s)", resp.Status)
	default:
		return answer{}, fmt.Errorf("the gateway answered %s", resp.Status)
	}
	var ans answer
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxBody)).Decode(&ans); err != nil {
		return answer{}, fmt.Errorf("the gateway's answer is not the feed's JSON: %w", err)
	}
	return ans, nil
}

// state is where the subscription is.
type state struct {
	after  int64          // the feed's resume point: every id up to it is final and handed on
	seen   map[int64]bool // ids above after already handed on (a poll may repeat them)
	lastOK time.Time      // when the last answered poll was asked
	from   time.Time      // coverage: see Batch
}

// take turns an answer to the poll asked at asked into a batch: new events
// only, none older than ttl, and the coverage it proves.
func (s *state) take(ans answer, asked time.Time, ttl time.Duration) Batch {
	if s.lastOK.IsZero() || asked.Sub(s.lastOK) > ttl-clockMargin {
		// The first answer, or one after a gap (the gateway down, this
		// machine asleep) in which the gateway may have dropped events
		// not yet fetched: only what it still keeps is covered.
		s.from = later(s.from, asked.Add(-ttl+clockMargin))
	}
	s.lastOK = asked
	var b Batch
	oldest := asked.Add(-ttl)
	for _, ev := range ans.Events {
		if s.seen[ev.ID] || ev.ID <= s.after && ev.ID != 0 {
			continue
		}
		s.seen[ev.ID] = true
		if at := time.Unix(ev.CreateTime, 0); at.Before(oldest) {
			// Too old to show; and what is dropped is not covered.
			s.from = later(s.from, at.Add(time.Second))
			continue
		}
		b.Events = append(b.Events, ev)
	}
	if ans.After > s.after {
		s.after = ans.After
		for id := range s.seen {
			if id <= s.after {
				delete(s.seen, id)
			}
		}
	}
	b.From = s.from
	if len(ans.Events) < feedBatch {
		b.Through = asked
	}
	return b
}

// answered notes a successful poll.
func (c *Client) answered(asked time.Time, b Batch) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.health.Connected {
		c.health.Connected, c.health.Since = true, asked
	}
	if n := len(b.Events); n > 0 {
		c.health.Events += int64(n)
		c.health.LastEventAt = c.cfg.Now()
	}
}

// failed notes a failed poll.
func (c *Client) failed(err error, at time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.health.Connected || c.health.Since.IsZero() {
		c.health.Connected, c.health.Since = false, at
	}
	c.health.LastError, c.health.LastErrorAt = err.Error(), at
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// jitter spreads d by ±20 %, so workstations that lost the gateway
// together do not come back in step.
func jitter(d time.Duration) time.Duration {
	return d + time.Duration((rand.Float64()*0.4-0.2)*float64(d))
}

// sleep waits d or until ctx ends; it reports whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
