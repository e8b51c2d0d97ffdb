package gatewayfeed_test

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kfsidebar/kfsidebar/internal/kftest"
	"github.com/kfsidebar/kfsidebar/push"
	"github.com/kfsidebar/kfsidebar/push/feed"
	"github.com/kfsidebar/kfsidebar/push/store"
	"github.com/kfsidebar/kfsidebar/push/wechattest"
	"github.com/kfsidebar/kfsidebar/push/wire"
	"github.com/kfsidebar/kfsidebar/sidebar/gatewayfeed"
)

const wsToken = "workstation-token-0001"

var account = wechattest.Account{Token: "feedToken1", EncodingAESKey: "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
	AppID: "wxba5fad812f8e6fb9", OriginalID: "gh_97417a04a28d"}

// gateway is a real push gateway and its feed behind a TLS server, as
// `kfsidebar gateway` mounts them. down makes the feed answer 503.
type gateway struct {
	srv    *httptest.Server
	sender *wechattest.Sender
	feed   *feed.Feed
	down   atomic.Bool
	polls  atomic.Int64
	afters sync.Map // the query of every poll, by its number
}

func startGateway(t *testing.T) *gateway {
	t.Helper()
	st, err := store.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "gateway.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	// Ids settle at once: one instance, so the feed's resume point is the
	// last id sent.
	f, err := feed.New(feed.Config{Tokens: map[string]string{wsToken: "前台一号机"}, Source: st, PollInterval: 20 * time.Millisecond,
		Settle: time.Millisecond, Logger: kftest.Logger(t)})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := push.New(push.Config{Token: account.Token, EncodingAESKey: account.EncodingAESKey, AppID: account.AppID,
		OriginalID: account.OriginalID, OnFeed: f.Wake, Logger: kftest.Logger(t)}, st)
	if err != nil {
		t.Fatal(err)
	}
	g := &gateway{feed: f}
	mux := http.NewServeMux()
	mux.Handle("/wechat", srv)
	mux.HandleFunc("/feed", func(w http.ResponseWriter, r *http.Request) {
		g.afters.Store(g.polls.Add(1), r.URL.RawQuery)
		if g.down.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		f.ServeHTTP(w, r)
	})
	g.srv = httptest.NewUnstartedServer(mux)
	g.srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the untrusted client's handshakes fail on purpose
	g.srv.StartTLS()
	t.Cleanup(g.srv.Close)
	g.sender = &wechattest.Sender{URL: g.srv.URL + "/wechat", Account: account, Mode: wire.Safe, Format: wire.XML, Client: g.srv.Client()}
	return g
}

func (g *gateway) send(t *testing.T, p wechattest.Push) {
	t.Helper()
	if r, err := g.sender.Send(context.Background(), p); err != nil || r.Status != 200 {
		t.Fatalf("push: %v %+v", err, r)
	}
}

func (g *gateway) roots() *x509.CertPool {
	pool := x509.NewCertPool()
	pool.AddCert(g.srv.Certificate())
	return pool
}

// collector keeps every batch handed on.
type collector struct {
	mu      sync.Mutex
	batches []gatewayfeed.Batch
}

func (c *collector) handle(b gatewayfeed.Batch) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.batches = append(c.batches, b)
}

func (c *collector) events() []push.FeedEvent {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []push.FeedEvent
	for _, b := range c.batches {
		out = append(out, b.Events...)
	}
	return out
}

func (c *collector) last() gatewayfeed.Batch {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.batches) == 0 {
		return gatewayfeed.Batch{}
	}
	return c.batches[len(c.batches)-1]
}

// run starts a client; it stops when the test ends.
func run(t *testing.T, cfg gatewayfeed.Config) *gatewayfeed.Client {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = kftest.Logger(t)
	}
	c, err := gatewayfeed.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		c.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return c
}

// TestClientAgainstGateway: a workstation subscribed to a real gateway
// gets 来源, the latest tracking step and a queued message as the pushes
// arrive, each once, with the coverage of each answer; a gateway that
// fails for a while shows in Health, and the client comes back and
// resumes after the last id, losing and repeating nothing.
func TestClientAgainstGateway(t *testing.T) {
	g := startGateway(t)
	at := time.Now()
	g.send(t, wechattest.EnterSession("oEarly", "goods:CUP-500", at)) // before the client starts: still kept
	got := &collector{}
	c := run(t, gatewayfeed.Config{URL: g.srv.URL + "/feed", Token: wsToken, RootCAs: g.roots(), Wait: 2 * time.Second,
		MinBackoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond, Handle: got.handle})
	kftest.Poll(t, "the early 来源", func() bool { return len(got.events()) == 1 })
	if b := got.last(); b.Through.IsZero() || b.From.After(b.Through.Add(-push.DefaultFeedTTL+3*time.Minute)) {
		t.Errorf("first batch covers %v..%v, want from the gateway's TTL (less a margin) to when it asked", b.From, b.Through)
	}
	for _, p := range []wechattest.Push{
		wechattest.EnterSession("oUserFeed", "order:E202611171032150023", at),
		wechattest.ExpressPath("oUserFeed", "SF", "SF1234567890", "E202611171032150023", 2, []wechattest.Action{
			{Time: at.Unix() - 60, Type: 100001, Msg: "揽件成功"}, {Time: at.Unix(), Type: 200001, Msg: "到达广州集包地"}}, at),
		wechattest.Text("oUserFeed", "我的快递到哪了", at, wechattest.NextMsgID()),
	} {
		g.send(t, p)
	}
	kftest.Poll(t, "three more events", func() bool { return len(got.events()) == 4 })
	evs := got.events()
	if evs[1].Kind != push.FeedSessionFrom || evs[1].SessionFrom != "order:E202611171032150023" ||
		evs[2].Kind != push.FeedLogistics || evs[2].Logistics.ActionMsg != "到达广州集包地" ||
		evs[3].Kind != push.FeedMessage || evs[3].Text != "我的快递到哪了" || evs[3].OpenID != "oUserFeed" {
		t.Errorf("events %+v", evs)
	}
	if h := c.Health(); !h.Connected || h.Events != 4 || h.LastEventAt.IsZero() || h.URL != g.srv.URL+"/feed" {
		t.Errorf("health %+v", h)
	}

	// The gateway fails: Health says so; meanwhile a push arrives.
	g.down.Store(true)
	kftest.Poll(t, "the failure in Health", func() bool { h := c.Health(); return !h.Connected && strings.Contains(h.LastError, "503") })
	g.send(t, wechattest.Text("oUserFeed", "还在吗", at, wechattest.NextMsgID()))
	failedAt := g.polls.Load()
	g.down.Store(false)
	kftest.Poll(t, "the message sent while down", func() bool { return len(got.events()) == 5 })
	if h := c.Health(); !h.Connected || h.LastError == "" {
		t.Errorf("health after recovery %+v, want connected with the last error kept", h)
	}
	if q, _ := g.afters.Load(failedAt + 1); q == nil || strings.HasPrefix(q.(string), "after=0&") {
		t.Errorf("the poll after the failure asked %v, want after the last id", q)
	}
	if evs := got.events(); evs[4].Text != "还在吗" {
		t.Errorf("event after recovery %+v", evs[4])
	}
	ids := map[int64]bool{}
	for _, ev := range got.events() {
		if ids[ev.ID] {
			t.Errorf("event %d handed twice", ev.ID)
		}
		ids[ev.ID] = true
	}
}

// TestClientRefused: a gateway whose certificate is not trusted, and one
// that refuses the token, are errors in Health, never events.
func TestClientRefused(t *testing.T) {
	g := startGateway(t)
	g.send(t, wechattest.EnterSession("oUser", "order:1", time.Now()))
	for name, cfg := range map[string]gatewayfeed.Config{
		"untrusted certificate": {URL: g.srv.URL + "/feed", Token: wsToken},
		"wrong token":           {URL: g.srv.URL + "/feed", Token: "workstation-token-0002", RootCAs: g.roots()},
	} {
		t.Run(name, func(t *testing.T) {
			got := &collector{}
			cfg.Handle, cfg.MinBackoff, cfg.MaxBackoff = got.handle, 10*time.Millisecond, 20*time.Millisecond
			c := run(t, cfg)
			kftest.Poll(t, "an error", func() bool { return c.Health().LastError != "" })
			h := c.Health()
			want := map[string]string{"untrusted certificate": "certificate", "wrong token": "token"}[name]
			if h.Connected || !strings.Contains(h.LastError, want) {
				t.Errorf("health %+v, want an error about the %s", h, want)
			}
			if evs := got.events(); len(evs) != 0 {
				t.Errorf("events %+v", evs)
			}
		})
	}
}

func TestNewRefuses(t *testing.T) {
	h := func(gatewayfeed.Batch) {}
	for name, cfg := range map[string]gatewayfeed.Config{
		"no url":               {Token: wsToken, Handle: h},
		"plain http elsewhere": {URL: "http://kf.shop.example/feed", Token: wsToken, Handle: h},
		"credentials in url":   {URL: "https://u:p@kf.shop.example/feed", Token: wsToken, Handle: h},
		"no token":             {URL: "https://kf.shop.example/feed", Handle: h},
		"no handler":           {URL: "https://kf.shop.example/feed", Token: wsToken},
	} {
		if _, err := gatewayfeed.New(cfg); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := gatewayfeed.New(gatewayfeed.Config{URL: "http://127.0.0.1:8788/feed", Token: wsToken, Handle: h}); err != nil {
		t.Errorf("plain http to loopback: %v", err)
	}
}

// scripted is a feed that answers each poll with the next of its
// answers, moving the clock on after each (then with none, after a
// while, the clock standing still).
type scripted struct {
	mu      sync.Mutex
	answers []scriptedAnswer
	clock   time.Time
}

type scriptedAnswer struct {
	body    string
	advance time.Duration
}

func (s *scripted) now() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.clock
}

func (s *scripted) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	var body string
	if len(s.answers) > 0 {
		body = s.answers[0].body
		s.clock = s.clock.Add(s.answers[0].advance)
		s.answers = s.answers[1:]
	}
	s.mu.Unlock()
	if body == "" {
		select {
		case <-r.Context().Done():
		case <-time.After(time.Second):
		}
		body = `{"events": [], "after": 0}`
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write([]byte(body))
}

func feedAnswer(after int64, events ...push.FeedEvent) string {
	b, _ := json.Marshal(map[string]any{"events": events, "after": after})
	return string(b)
}

// TestCoverage: what each batch says it covers. The first answer covers
// what the gateway still keeps, less a margin for clocks; later answers
// keep that start while they come within the TTL (less the margin) of
// each other, and move it after a longer gap; a full answer proves
// nothing; an event too old to show is dropped and no longer covered; a
// repeated event is handed once.
func TestCoverage(t *testing.T) {
	t0 := time.Date(2026, 11, 17, 10, 0, 0, 0, time.UTC)
	ttl := 10 * time.Minute
	msg := func(id int64, at time.Time) push.FeedEvent {
		return push.FeedEvent{ID: id, Kind: push.FeedMessage, OpenID: "o", CreateTime: at.Unix(), MsgType: "text", Text: "x"}
	}
	full := make([]push.FeedEvent, 200)
	for i := range full {
		full[i] = msg(int64(10+i), t0.Add(time.Minute))
	}
	m := time.Minute
	sc := &scripted{clock: t0, answers: []scriptedAnswer{
		{feedAnswer(1, msg(1, t0)), m},                      // asked at t0
		{feedAnswer(2, msg(1, t0), msg(2, t0)), m},          // t0+1m: 1 repeated
		{feedAnswer(209, full...), m},                       // t0+2m: full
		{feedAnswer(209), m},                                // t0+3m
		{feedAnswer(300, msg(300, t0.Add(-7*m))), m},        // t0+4m: older than the TTL
		{feedAnswer(301, msg(301, t0.Add(5*m))), m},         // t0+5m
		{feedAnswer(302, msg(302, t0.Add(6*m))), ttl - 2*m}, // t0+6m; the next comes just within the TTL less the margin
		{feedAnswer(303, msg(303, t0.Add(14*m))), ttl},      // t0+14m; the next comes a TTL later: a gap
		{feedAnswer(303), 0},                                // t0+24m
	}}
	srv := httptest.NewServer(sc)
	t.Cleanup(srv.Close)
	got := &collector{}
	run(t, gatewayfeed.Config{URL: srv.URL, Token: wsToken, TTL: ttl, Now: sc.now, Handle: got.handle})
	kftest.Poll(t, "nine batches", func() bool { got.mu.Lock(); defer got.mu.Unlock(); return len(got.batches) >= 9 })

	got.mu.Lock()
	defer got.mu.Unlock()
	start := t0.Add(-ttl + 2*m)
	dropped := t0.Add(-7*m + time.Second)
	want := []struct {
		events        int
		from, through time.Time
	}{
		{1, start, t0},
		{1, start, t0.Add(m)},
		{200, start, time.Time{}},
		{0, start, t0.Add(3 * m)},
		{0, dropped, t0.Add(4 * m)},
		{1, dropped, t0.Add(5 * m)},
		{1, dropped, t0.Add(6 * m)},
		{1, dropped, t0.Add(14 * m)},
		{0, t0.Add(24*m - ttl + 2*m), t0.Add(24 * m)},
	}
	for i, w := range want {
		b := got.batches[i]
		if len(b.Events) != w.events || !b.From.Equal(w.from) || !b.Through.Equal(w.through) {
			t.Errorf("batch %d: %d events, covers %v..%v; want %d, %v..%v", i, len(b.Events), b.From, b.Through, w.events, w.from, w.through)
		}
	}
}

// TestClientConnectsAtOnce: against a gateway with nothing to send, the
// first poll does not wait, so Health and the first coverage are known at
// once; the polls after it wait for events, except the one right after
// an answer with events.
func TestClientConnectsAtOnce(t *testing.T) {
	g := startGateway(t)
	got := &collector{}
	c := run(t, gatewayfeed.Config{URL: g.srv.URL + "/feed", Token: wsToken, RootCAs: g.roots(), Handle: got.handle})
	kftest.Poll(t, "connected", func() bool { return c.Health().Connected })
	if b := got.last(); b.Through.IsZero() || len(b.Events) != 0 {
		t.Errorf("first batch %+v, want no events and its coverage", b)
	}
	kftest.Poll(t, "a waiting poll", func() bool { return g.polls.Load() == 2 && g.feed.Subscribers() == 1 })
	g.send(t, wechattest.EnterSession("oUser", "goods:CUP-500", time.Now()))
	kftest.Poll(t, "the event, to the waiting poll", func() bool { return len(got.events()) == 1 })
	// Then one poll that does not wait (it moves the coverage past the
	// event at once); the feed repeats the event until its id settles,
	// and the client pauses after such a repeat rather than spin; then it
	// waits again, after the event's id.
	id := got.events()[0].ID
	kftest.Poll(t, "waiting again after the event", func() bool {
		last, _ := g.afters.Load(g.polls.Load())
		return g.feed.Subscribers() == 1 && last == fmt.Sprintf("after=%d&wait=10", id)
	})
	if n := g.polls.Load(); n > 6 {
		t.Errorf("%d polls for one event", n)
	}
	if b := got.last(); len(b.Events) != 0 || b.Through.IsZero() {
		t.Errorf("last batch %+v, want a coverage", b)
	}
}

// TestFullAnswerProvesNothing pins what the coverage rests on: push/feed
// answers a poll with at most 200 events, and a full answer is not taken
// as everything the gateway held; the next poll fetches the rest and
// covers it all.
func TestFullAnswerProvesNothing(t *testing.T) {
	st, err := store.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "gateway.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	now := time.Now()
	for i := range 250 {
		ev, _ := json.Marshal(push.FeedEvent{Kind: push.FeedMessage, OpenID: "oMany", CreateTime: now.Unix(), MsgType: "text", Text: "x"})
		if _, _, err := st.Accept(context.Background(), &push.Accepted{Key: "key-" + strconv.Itoa(i), At: now, Feed: ev,
			Reply: push.Reply{ContentType: "text/plain", Body: []byte("success")}}); err != nil {
			t.Fatal(err)
		}
	}
	f, err := feed.New(feed.Config{Tokens: map[string]string{wsToken: "pc"}, Source: st, Settle: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	got := &collector{}
	run(t, gatewayfeed.Config{URL: srv.URL, Token: wsToken, Handle: got.handle})
	kftest.Poll(t, "every event", func() bool { return len(got.events()) == 250 })
	got.mu.Lock()
	defer got.mu.Unlock()
	if b := got.batches[0]; len(b.Events) != 200 || !b.Through.IsZero() {
		t.Errorf("first batch: %d events, through %v; want the feed's 200 and no coverage", len(b.Events), b.Through)
	}
	if b := got.batches[1]; len(b.Events) != 50 || b.Through.IsZero() {
		t.Errorf("second batch: %d events, through %v; want the other 50, covered", len(b.Events), b.Through)
	}
}
