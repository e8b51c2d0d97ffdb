package sidebar

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/kfsidebar/kfsidebar/internal/kftest"
	"github.com/kfsidebar/kfsidebar/proxy/console"
	"github.com/kfsidebar/kfsidebar/sidebar/shop"
)

const testToken = "test-token-0123456789"

// fakeResolver is a Resolver with function fields. It records every
// query and signals subscribers on demand.
type fakeResolver struct {
	resolve func(console.Query) console.Resolution
	get     func(string) (console.Record, bool)

	mu      sync.Mutex
	queries []console.Query
	subs    map[chan struct{}]struct{}
}

func (f *fakeResolver) Resolve(q console.Query) console.Resolution {
	f.mu.Lock()
	f.queries = append(f.queries, q)
	fn := f.resolve
	f.mu.Unlock()
	if fn == nil {
		return console.Resolution{}
	}
	return fn(q)
}

func (f *fakeResolver) Get(openid string) (console.Record, bool) {
	if f.get == nil {
		return console.Record{}, false
	}
	return f.get(openid)
}

func (f *fakeResolver) Subscribe() (<-chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	f.mu.Lock()
	if f.subs == nil {
		f.subs = map[chan struct{}]struct{}{}
	}
	f.subs[ch] = struct{}{}
	f.mu.Unlock()
	var once sync.Once
	return ch, func() {
		once.Do(func() {
			f.mu.Lock()
			delete(f.subs, ch)
			close(ch)
			f.mu.Unlock()
		})
	}
}

// signal tells subscribers that the session map changed.
func (f *fakeResolver) signal() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for ch := range f.subs {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

// queryCount is the number of Resolve calls so far.
func (f *fakeResolver) queryCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.queries)
}

// queriesSince returns the queries resolved after the first n.
func (f *fakeResolver) queriesSince(n int) []console.Query {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.queries[n:])
}

func (f *fakeResolver) lastQuery() console.Query {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.queries) == 0 {
		return console.Query{}
	}
	return f.queries[len(f.queries)-1]
}

// fakeBackend is a Backend with function fields; a nil search finds nobody
// and Customer looks the id up as an openid.
type fakeBackend struct {
	lookup func(ctx context.Context, openid string) (*shop.Customer, error)
	search func(ctx context.Context, query string, limit int) ([]shop.Customer, error)
}

func (f fakeBackend) Lookup(ctx context.Context, openid string) (*shop.Customer, error) {
	return f.lookup(ctx, openid)
}

func (f fakeBackend) Customer(ctx context.Context, id string) (*shop.Customer, error) {
	return f.lookup(ctx, id)
}

func (f fakeBackend) Search(ctx context.Context, query string, limit int) ([]shop.Customer, error) {
	if f.search == nil {
		return []shop.Customer{}, nil
	}
	return f.search(ctx, query, limit)
}

// avatarTable resolves queries by avatar URL from a table that a test
// can change, as the session map changes when the console accepts a chat.
type avatarTable struct {
	mu sync.Mutex
	m  map[string]console.Resolution
}

func newAvatarTable(m map[string]console.Resolution) *avatarTable {
	return &avatarTable{m: maps.Clone(m)}
}

func (a *avatarTable) resolve(q console.Query) console.Resolution {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.m[q.Avatar]
}

func (a *avatarTable) set(avatar string, r console.Resolution) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.m[avatar] = r
}

// byAvatar resolves queries from a fixed table keyed by avatar URL.
func byAvatar(table map[string]console.Resolution) func(console.Query) console.Resolution {
	return func(q console.Query) console.Resolution { return table[q.Avatar] }
}

// customers answers lookups from a fixed table; other openids are not found.
func customers(table map[string]*shop.Customer) fakeBackend {
	return fakeBackend{lookup: func(ctx context.Context, openid string) (*shop.Customer, error) {
		if c, ok := table[openid]; ok {
			return c, nil
		}
		return nil, shop.ErrNotFound
	}}
}

func record(openid, nickname, avatar string) console.Record {
	return console.Record{OpenID: openid, Nickname: nickname, HeadImgURL: avatar, Source: console.SourceManual,
		SeenAt: time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)}
}

// known is the resolution naming r by its looks.
func known(r console.Record) console.Resolution {
	return console.Resolution{Record: &r, Evidence: console.EvidenceAvatar, Candidates: []console.Record{r}}
}

// pendingMsg is the 识别中 answer that comes first when the evidence
// cannot tell who a selected chat is.
func pendingMsg(seq int64) message {
	return message{Type: typeLoading, Seq: seq, Identity: identityPending}
}

// testHub is a Hub behind an httptest server; both close when the test
// ends.
type testHub struct {
	*Hub
	srv    *httptest.Server
	origin string
}

// newTestHub starts a hub; tweaks run before the server starts (so they
// happen before any connection reads what they change).
func newTestHub(t *testing.T, opts HubOptions, tweaks ...func(*Hub)) *testHub {
	t.Helper()
	if opts.Token == "" {
		opts.Token = testToken
	}
	if opts.Logger == nil {
		opts.Logger = kftest.Logger(t)
	}
	if opts.IdentifyWait == 0 {
		opts.IdentifyWait = 20 * time.Millisecond
	}
	srv := httptest.NewUnstartedServer(nil)
	origin := "http://" + srv.Listener.Addr().String()
	opts.AllowedOrigins = append(opts.AllowedOrigins, origin)
	h, err := NewHub(opts)
	if err != nil {
		t.Fatal(err)
	}
	for _, tweak := range tweaks {
		tweak(h)
	}
	srv.Config.Handler = h
	srv.Start()
	t.Cleanup(func() {
		h.Close()
		srv.Close()
	})
	return &testHub{Hub: h, srv: srv, origin: origin}
}

func (th *testHub) wsURL(token string) string {
	return "ws" + strings.TrimPrefix(th.srv.URL, "http") + console.ReservedPrefix + "ws?t=" + token
}

// dial opens a sidebar connection the way the page does.
func (th *testHub) dial(t *testing.T) *websocket.Conn {
	t.Helper()
	conn, resp, err := websocket.DefaultDialer.Dial(th.wsURL(testToken), http.Header{"Origin": {th.origin}})
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	resp.Body.Close()
	t.Cleanup(func() { conn.Close() })
	return conn
}

func send(t *testing.T, conn *websocket.Conn, req request) {
	t.Helper()
	if err := conn.WriteJSON(req); err != nil {
		t.Fatalf("send %s: %v", req.Type, err)
	}
}

func recv(t *testing.T, conn *websocket.Conn) message {
	t.Helper()
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	var m message
	if err := conn.ReadJSON(&m); err != nil {
		t.Fatalf("receive: %v", err)
	}
	return m
}

// expect reads len(want) messages and compares their type, seq, reason,
// openid, nickname and message text (the customer only by name), and
// their identity where want names one.
func expect(t *testing.T, conn *websocket.Conn, want ...message) []message {
	t.Helper()
	var got []message
	for i, w := range want {
		g := recv(t, conn)
		got = append(got, g)
		if summary(g) != summary(w) || (w.Identity != "" && g.Identity != w.Identity) {
			t.Fatalf("message %d:\n got %s identity=%s\nwant %s identity=%s", i, summary(g), g.Identity, summary(w), w.Identity)
		}
	}
	return got
}

func summary(m message) string {
	name := ""
	if m.Customer != nil {
		name = m.Customer.Name
	}
	var cands []string
	for _, c := range m.Candidates {
		cands = append(cands, c.OpenID)
	}
	return strings.Join([]string{m.Type, "seq=" + itoa(m.Seq), "openid=" + m.OpenID, "nick=" + m.Nickname,
		"reason=" + m.Reason, "msg=" + m.Message, "customer=" + name, "cands=" + strings.Join(cands, ","),
		fmt.Sprintf("bound=%t stale=%t", m.Bound, m.Stale), "error=" + m.Error, "field=" + m.Field, "value=" + m.Value}, " ")
}

func itoa(n int64) string { b, _ := json.Marshal(n); return string(b) }

const (
	avatarAlice = "https://wx.qlogo.cn/mmhead/alice/132"
	avatarTwins = "https://wx.qlogo.cn/mmhead/default/132"
	avatarNoOne = "https://wx.qlogo.cn/mmhead/nobody/132"
	avatarGhost = "https://wx.qlogo.cn/mmhead/ghost/132" // known, not a customer
)

var (
	alice    = record("oAlice", "爱丽丝", avatarAlice)
	twinA    = record("oTwinA", "小明", avatarTwins)
	twinB    = record("oTwinB", "小明", avatarTwins)
	ghost    = record("oGhost", "路人", avatarGhost)
	custA    = &shop.Customer{OpenID: "oAlice", Name: "Alice Wang", Phone: "13812345678"}
	custTwin = &shop.Customer{OpenID: "oTwinB", Name: "Twin B"}
)

func standardResolver() *fakeResolver {
	return &fakeResolver{resolve: byAvatar(map[string]console.Resolution{
		avatarAlice: known(alice),
		avatarTwins: {Candidates: []console.Record{twinA, twinB}},
		avatarGhost: known(ghost),
	})}
}

func standardBackend() fakeBackend {
	return customers(map[string]*shop.Customer{"oAlice": custA, "oTwinB": custTwin})
}

func TestNewHubRequiresOptions(t *testing.T) {
	full := HubOptions{Resolver: &fakeResolver{}, Backend: standardBackend(), Token: "x"}
	tests := []struct {
		name   string
		change func(*HubOptions)
		want   string
	}{
		{"resolver", func(o *HubOptions) { o.Resolver = nil }, "Resolver"},
		{"backend", func(o *HubOptions) { o.Backend = nil }, "Backend"},
		{"token", func(o *HubOptions) { o.Token = "" }, "Token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := full
			tt.change(&opts)
			h, err := NewHub(opts)
			if err == nil {
				h.Close()
				t.Fatal("NewHub succeeded")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not name %s", err, tt.want)
			}
		})
	}
}

func TestWebsocketRefused(t *testing.T) {
	th := newTestHub(t, HubOptions{Resolver: standardResolver(), Backend: standardBackend()})
	tests := []struct {
		name   string
		url    string
		header http.Header
		want   int
	}{
		{"no origin", th.wsURL(testToken), nil, http.StatusForbidden},
		{"other origin", th.wsURL(testToken), http.Header{"Origin": {"https://evil.example"}}, http.StatusForbidden},
		{"origin prefix", th.wsURL(testToken), http.Header{"Origin": {th.origin + ".evil.example"}}, http.StatusForbidden},
		{"no token", strings.TrimSuffix(th.wsURL(""), "?t="), http.Header{"Origin": {th.origin}}, http.StatusForbidden},
		{"empty token", th.wsURL(""), http.Header{"Origin": {th.origin}}, http.StatusForbidden},
		{"wrong token", th.wsURL(testToken + "x"), http.Header{"Origin": {th.origin}}, http.StatusForbidden},
		{"token prefix", th.wsURL(testToken[:5]), http.Header{"Origin": {th.origin}}, http.StatusForbidden},
		{"accepted", th.wsURL(testToken), http.Header{"Origin": {th.origin}}, http.StatusSwitchingProtocols},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			conn, resp, err := websocket.DefaultDialer.Dial(tt.url, tt.header)
			if conn != nil {
				conn.Close()
			}
			if resp == nil {
				t.Fatalf("no response: %v", err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.want {
				t.Fatalf("status = %d, want %d", resp.StatusCode, tt.want)
			}
			if tt.want != http.StatusSwitchingProtocols && resp.Header.Get("Upgrade") != "" {
				t.Errorf("refused response carries Upgrade: %q", resp.Header.Get("Upgrade"))
			}
		})
	}
}

func TestAnswers(t *testing.T) {
	tests := []struct {
		name string
		req  request
		want []message
	}{
		{"customer", request{Type: typeSelect, Seq: 1, Avatar: avatarAlice, Nickname: "爱丽丝"}, []message{
			{Type: typeLoading, Seq: 1, OpenID: "oAlice"},
			{Type: typeCustomer, Seq: 1, OpenID: "oAlice", Nickname: "爱丽丝", Customer: custA},
		}},
		{"no session", request{Type: typeSelect, Seq: 7, Avatar: avatarNoOne}, []message{
			pendingMsg(7),
			{Type: typeUnknown, Seq: 7, Reason: reasonNoSession},
		}},
		{"empty selection", request{Type: typeSelect, Seq: 2}, []message{
			{Type: typeUnknown, Seq: 2, Reason: reasonNoSession},
		}},
		{"not in shop", request{Type: typeSelect, Seq: 3, Avatar: avatarGhost}, []message{
			{Type: typeLoading, Seq: 3, OpenID: "oGhost"},
			{Type: typeUnknown, Seq: 3, Reason: reasonNotInShop, OpenID: "oGhost"},
		}},
		{"ambiguous", request{Type: typeSelect, Seq: 4, Avatar: avatarTwins}, []message{
			pendingMsg(4),
			{Type: typeAmbiguous, Seq: 4, Reason: reasonLookalike, Candidates: candidatesOf([]console.Record{twinA, twinB})},
		}},
		{"pick without offer", request{Type: typePick, Seq: 5, OpenID: "oAlice"}, []message{
			{Type: typeError, Seq: 5, Message: msgBadPick},
		}},
		{"unknown type", request{Type: "explode", Seq: 6}, []message{
			{Type: typeError, Seq: 6, Message: msgBadRequest},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			th := newTestHub(t, HubOptions{Resolver: standardResolver(), Backend: standardBackend()})
			conn := th.dial(t)
			send(t, conn, tt.req)
			got := expect(t, conn, tt.want...)
			if last := got[len(got)-1]; last.Customer != nil && last.Customer.Phone != "138****5678" {
				t.Errorf("customer phone = %q, want it masked", last.Customer.Phone)
			}
		})
	}
}

func TestAmbiguousThenPick(t *testing.T) {
	th := newTestHub(t, HubOptions{Resolver: standardResolver(), Backend: standardBackend()})
	conn := th.dial(t)
	send(t, conn, request{Type: typeSelect, Seq: 1, Avatar: avatarTwins, Nickname: "小明"})
	got := expect(t, conn, pendingMsg(1), message{Type: typeAmbiguous, Seq: 1, Reason: reasonLookalike, Candidates: candidatesOf([]console.Record{twinA, twinB})})
	if c := got[1].Candidates[1]; c.Avatar != avatarTwins || c.Nickname != "小明" || !c.SeenAt.Equal(twinB.SeenAt) {
		t.Errorf("candidate = %+v, want twinB's avatar, nickname and seen_at", c)
	}

	send(t, conn, request{Type: typePick, Seq: 2, OpenID: "oSomeoneElse"})
	expect(t, conn, message{Type: typeError, Seq: 2, Message: msgBadPick})

	send(t, conn, request{Type: typePick, Seq: 3, OpenID: "oTwinB"})
	expect(t, conn,
		message{Type: typeLoading, Seq: 3, OpenID: "oTwinB"},
		message{Type: typeCustomer, Seq: 3, OpenID: "oTwinB", Nickname: "小明", Customer: custTwin})

	// refresh looks the picked user up again rather than asking again.
	send(t, conn, request{Type: typeRefresh, Seq: 4})
	expect(t, conn,
		message{Type: typeLoading, Seq: 4, OpenID: "oTwinB"},
		message{Type: typeCustomer, Seq: 4, OpenID: "oTwinB", Nickname: "小明", Customer: custTwin})

	// A new selection forgets the candidates.
	send(t, conn, request{Type: typeSelect, Seq: 5, Avatar: avatarAlice})
	expect(t, conn,
		message{Type: typeLoading, Seq: 5, OpenID: "oAlice"},
		message{Type: typeCustomer, Seq: 5, OpenID: "oAlice", Nickname: "爱丽丝", Customer: custA})
	send(t, conn, request{Type: typePick, Seq: 6, OpenID: "oTwinA"})
	expect(t, conn, message{Type: typeError, Seq: 6, Message: msgBadPick})
}

func TestBackendFailures(t *testing.T) {
	tests := []struct {
		name   string
		lookup func(ctx context.Context, openid string) (*shop.Customer, error)
		want   string
	}{
		{"error", func(context.Context, string) (*shop.Customer, error) {
			return nil, errors.New("shop api: 500 for oAlice")
		}, msgLookupFailed},
		{"timeout", func(ctx context.Context, _ string) (*shop.Customer, error) {
			<-ctx.Done()
			return nil, ctx.Err()
		}, msgTimeout},
		{"timeout wrapped by backend", func(ctx context.Context, _ string) (*shop.Customer, error) {
			<-ctx.Done()
			return nil, errors.New("shop api: request canceled")
		}, msgTimeout},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			th := newTestHub(t, HubOptions{Resolver: standardResolver(), Backend: fakeBackend{lookup: tt.lookup},
				LookupTimeout: 50 * time.Millisecond})
			conn := th.dial(t)
			send(t, conn, request{Type: typeSelect, Seq: 1, Avatar: avatarAlice})
			expect(t, conn,
				message{Type: typeLoading, Seq: 1, OpenID: "oAlice"},
				message{Type: typeError, Seq: 1, Message: tt.want})

			// The retry button asks again, and this time it may work.
			send(t, conn, request{Type: typeRefresh, Seq: 2})
			expect(t, conn, message{Type: typeLoading, Seq: 2, OpenID: "oAlice"})
		})
	}
}

func TestNewerSelectSupersedesSlowLookup(t *testing.T) {
	started := make(chan struct{})
	returned := make(chan struct{})
	backend := fakeBackend{lookup: func(ctx context.Context, openid string) (*shop.Customer, error) {
		if openid != "oAlice" {
			return custTwin, nil
		}
		close(started)
		<-ctx.Done()
		// A careless backend that answers after being cancelled: its
		// answer must still never reach the page.
		defer close(returned)
		return custA, nil
	}}
	th := newTestHub(t, HubOptions{Resolver: standardResolver(), Backend: backend})
	conn := th.dial(t)
	send(t, conn, request{Type: typeSelect, Seq: 1, Avatar: avatarAlice})
	expect(t, conn, message{Type: typeLoading, Seq: 1, OpenID: "oAlice"})
	<-started
	send(t, conn, request{Type: typeSelect, Seq: 2, Avatar: avatarTwins})
	expect(t, conn, pendingMsg(2), message{Type: typeAmbiguous, Seq: 2, Reason: reasonLookalike, Candidates: candidatesOf([]console.Record{twinA, twinB})})
	<-returned
	// Messages on a connection are ordered: had the stale answer been
	// sent, it would come before this one.
	send(t, conn, request{Type: typeSelect, Seq: 3, Avatar: avatarNoOne})
	expect(t, conn, pendingMsg(3), message{Type: typeUnknown, Seq: 3, Reason: reasonNoSession})
}

func TestPushAfterResolverChange(t *testing.T) {
	table := newAvatarTable(map[string]console.Resolution{avatarAlice: known(alice)})
	res := &fakeResolver{resolve: table.resolve}
	learn := func(avatar string, r console.Resolution) {
		table.set(avatar, r)
		res.signal()
	}
	th := newTestHub(t, HubOptions{Resolver: res, Backend: standardBackend()})

	waiting := th.dial(t) // clicked a chat whose accept was not scanned yet
	send(t, waiting, request{Type: typeSelect, Seq: 1, Avatar: avatarTwins, Nickname: "小明"})
	expect(t, waiting, pendingMsg(1), message{Type: typeUnknown, Seq: 1, Reason: reasonNoSession})

	shown := th.dial(t) // already shows a customer: resolved again, sent nothing
	send(t, shown, request{Type: typeSelect, Seq: 1, Avatar: avatarAlice})
	expect(t, shown,
		message{Type: typeLoading, Seq: 1, OpenID: "oAlice"},
		message{Type: typeCustomer, Seq: 1, OpenID: "oAlice", Nickname: "爱丽丝", Customer: custA})

	// Something unrelated changes: the waiting tab is asked again, but
	// nothing new is sent (see the next expect).
	before := res.queryCount()
	learn(avatarNoOne, console.Resolution{})
	kftest.Poll(t, "re-resolution of the waiting tab", func() bool { return res.queryCount() > before })

	// Now two users with this avatar become known: the chooser appears.
	learn(avatarTwins, console.Resolution{Candidates: []console.Record{twinA, twinB}})
	expect(t, waiting, message{Type: typeAmbiguous, Seq: 1, Reason: reasonLookalike, Candidates: candidatesOf([]console.Record{twinA, twinB})})

	// Then the nickname tells them apart: the customer appears, unasked.
	before = res.queryCount()
	learn(avatarTwins, known(twinB))
	expect(t, waiting,
		message{Type: typeLoading, Seq: 1, OpenID: "oTwinB"},
		message{Type: typeCustomer, Seq: 1, OpenID: "oTwinB", Nickname: "小明", Customer: custTwin})

	// Both tabs were resolved again, in no particular order: the waiting
	// one with its own selection.
	if !slices.ContainsFunc(res.queriesSince(before), func(q console.Query) bool {
		return q.Avatar == avatarTwins && q.Nickname == "小明"
	}) {
		t.Errorf("push resolved %+v, want the waiting tab's selection among them", res.queriesSince(before))
	}
	// The tab that showed a customer got nothing: its next message
	// answers its next request.
	send(t, shown, request{Type: typeSelect, Seq: 2, Avatar: avatarNoOne})
	expect(t, shown, pendingMsg(2), message{Type: typeUnknown, Seq: 2, Reason: reasonNoSession})
}

func TestSlowClientIsDropped(t *testing.T) {
	big := &shop.Customer{OpenID: "oAlice", Name: "big", Note: strings.Repeat("备", 1<<19)}
	var mu sync.Mutex
	bigLookups := 0
	backend := fakeBackend{lookup: func(_ context.Context, openid string) (*shop.Customer, error) {
		if openid != "oAlice" {
			return nil, shop.ErrNotFound
		}
		mu.Lock()
		defer mu.Unlock()
		bigLookups++
		return big, nil
	}}
	th := newTestHub(t, HubOptions{
		Resolver: standardResolver(),
		Backend:  backend,
		// Debug logs of a 1.5 MB customer per round would drown the test log.
		Logger:     kftest.LevelLogger(t, slog.LevelInfo),
		SendBuffer: 2,
	})
	stuck := th.dial(t) // sends, never reads
	fast := th.dial(t)
	deadline := time.Now().Add(30 * time.Second)
	for i := 1; th.Clients() == 2; i++ {
		if time.Now().After(deadline) {
			t.Fatalf("the client that never reads was not dropped after %d big answers", i)
		}
		// The stuck tab asks for a big answer it never reads...
		if err := stuck.WriteJSON(request{Type: typeSelect, Seq: int64(i), Avatar: avatarAlice}); err != nil {
			break // dropped while we wrote
		}
		kftest.Poll(t, "the big lookup", func() bool {
			mu.Lock()
			defer mu.Unlock()
			return bigLookups >= i || th.Clients() < 2
		})
		// ...and the other tab is answered all the while.
		send(t, fast, request{Type: typePick, Seq: int64(i), OpenID: "oTwinB"})
		if m := recv(t, fast); m.Seq != int64(i) || m.Type != typeError {
			t.Fatalf("fast tab got %s", summary(m))
		}
	}
	kftest.Poll(t, "the stuck tab to be dropped", func() bool { return th.Clients() == 1 })
	send(t, fast, request{Type: typeSelect, Seq: 1000, Avatar: avatarTwins})
	expect(t, fast, pendingMsg(1000), message{Type: typeAmbiguous, Seq: 1000, Reason: reasonLookalike, Candidates: candidatesOf([]console.Record{twinA, twinB})})
}

func TestPings(t *testing.T) {
	th := newTestHub(t, HubOptions{Resolver: standardResolver(), Backend: standardBackend()}, func(h *Hub) {
		// Short, but with room for a loaded machine running -race.
		h.pingPeriod, h.pongWait = 40*time.Millisecond, 600*time.Millisecond
	})

	silent := th.dial(t) // reads nothing, so it never answers a ping
	_ = silent

	var mu sync.Mutex
	pings := 0
	live := th.dial(t)
	live.SetPingHandler(func(data string) error {
		mu.Lock()
		pings++
		mu.Unlock()
		return live.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(time.Second))
	})
	readErr := make(chan error, 1)
	go func() {
		for {
			if _, _, err := live.ReadMessage(); err != nil {
				readErr <- err
				return
			}
		}
	}()
	kftest.Poll(t, "the silent tab to be dropped", func() bool { return th.Clients() == 1 })
	kftest.Poll(t, "pings to the live tab for longer than the pong wait", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return pings >= 20 // 20 × 40 ms > 600 ms
	})
	if n := th.Clients(); n != 1 {
		t.Fatalf("Clients() = %d, want the live tab still connected", n)
	}
	th.Close()
	if err := <-readErr; err == nil {
		t.Fatal("live tab still open after Close")
	}
}

func TestReadLimitAndBadFrames(t *testing.T) {
	tests := []struct {
		name string
		kind int
		data []byte
	}{
		{"too large", websocket.TextMessage, bytes.Repeat([]byte("x"), maxMessageSize+1)},
		{"binary", websocket.BinaryMessage, []byte(`{"type":"select","seq":1}`)},
		{"not json", websocket.TextMessage, []byte(`select 1`)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			th := newTestHub(t, HubOptions{Resolver: standardResolver(), Backend: standardBackend()})
			conn := th.dial(t)
			if err := conn.WriteMessage(tt.kind, tt.data); err != nil {
				t.Fatal(err)
			}
			conn.SetReadDeadline(time.Now().Add(10 * time.Second))
			if _, _, err := conn.ReadMessage(); err == nil || errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("read after a bad frame: %v, want the hub to close the connection", err)
			}
			kftest.Poll(t, "the client to be removed", func() bool { return th.Clients() == 0 })
		})
	}
}

func TestCloseLeavesNoGoroutines(t *testing.T) {
	baseline := runtime.NumGoroutine()
	func() {
		blocked := make(chan struct{})
		searching := make(chan struct{})
		backend := fakeBackend{lookup: func(ctx context.Context, openid string) (*shop.Customer, error) {
			if openid == "oAlice" {
				close(blocked)
				<-ctx.Done()
				return nil, ctx.Err()
			}
			return nil, shop.ErrNotFound
		}, search: func(ctx context.Context, _ string, _ int) ([]shop.Customer, error) {
			close(searching)
			<-ctx.Done()
			return nil, ctx.Err()
		}}
		res := standardResolver()
		// The origin is known before the server starts: NewUnstartedServer
		// has its listener already.
		srv := httptest.NewUnstartedServer(nil)
		origin := "http://" + srv.Listener.Addr().String()
		// A selection nobody can resolve waits for evidence all along:
		// Close must end that wait too.
		h, err := NewHub(HubOptions{Resolver: res, Backend: backend, Token: testToken, Logger: kftest.Logger(t),
			AllowedOrigins: []string{origin}, QuickReplies: &fakeReplies{}, IdentifyWait: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		srv.Config.Handler = h
		srv.Start()
		defer srv.Close()
		th := &testHub{Hub: h, srv: srv, origin: origin}

		// Each tab is sent the quick replies first.
		dial := func() *websocket.Conn {
			conn := th.dial(t)
			if m := recv(t, conn); m.Type != typeQuickReplies {
				t.Fatalf("first message %s, want the quick replies", summary(m))
			}
			return conn
		}
		looking := dial()
		send(t, looking, request{Type: typeSelect, Seq: 1, Avatar: avatarAlice})
		expect(t, looking, message{Type: typeLoading, Seq: 1, OpenID: "oAlice"})
		<-blocked
		send(t, looking, request{Type: typeSearch, Seq: 2, Query: "王"})
		<-searching
		idle := th.dial(t)
		waiting := dial()
		send(t, waiting, request{Type: typeSelect, Seq: 1, Avatar: avatarNoOne})
		expect(t, waiting, pendingMsg(1))
		res.signal()

		done := make(chan struct{})
		go func() { h.Close(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatal("Close did not return")
		}
		if n := h.Clients(); n != 0 {
			t.Errorf("Clients() after Close = %d", n)
		}
		for _, c := range []*websocket.Conn{looking, idle, waiting} {
			// What was queued before Close may still arrive; then the end.
			c.SetReadDeadline(time.Now().Add(10 * time.Second))
			var err error
			for i := 0; err == nil && i < 10; i++ {
				_, _, err = c.ReadMessage()
			}
			if err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
				t.Errorf("connection still open after Close (%v)", err)
			}
			c.Close()
		}
		_, resp, err := websocket.DefaultDialer.Dial(th.wsURL(testToken), http.Header{"Origin": {th.origin}})
		if err == nil || resp == nil || resp.StatusCode != http.StatusServiceUnavailable {
			t.Errorf("dial after Close: %v, want 503", err)
		}
		if resp != nil {
			resp.Body.Close()
		}
		h.Close() // twice is fine
	}()
	kftest.Poll(t, "goroutines back to baseline", func() bool { return runtime.NumGoroutine() <= baseline })
}

// TestNoCustomerDataAtInfo runs every kind of answer and checks that
// nothing identifying reaches the log at Info level or above.
func TestNoCustomerDataAtInfo(t *testing.T) {
	var buf bytes.Buffer
	var mu sync.Mutex
	logger := slog.New(slog.NewTextHandler(lockedWriter{&mu, &buf}, &slog.HandlerOptions{Level: slog.LevelInfo}))
	backend := fakeBackend{lookup: func(_ context.Context, openid string) (*shop.Customer, error) {
		if openid == "oGhost" {
			return nil, errors.New("shop api: GET /customers/oGhost: 502")
		}
		return standardBackend().lookup(context.Background(), openid)
	}}
	th := newTestHub(t, HubOptions{Resolver: standardResolver(), Backend: backend, Logger: logger})
	conn := th.dial(t)
	send(t, conn, request{Type: typeSelect, Seq: 1, Avatar: avatarAlice, Nickname: "爱丽丝"})
	expect(t, conn, message{Type: typeLoading, Seq: 1, OpenID: "oAlice"},
		message{Type: typeCustomer, Seq: 1, OpenID: "oAlice", Nickname: "爱丽丝", Customer: custA})
	send(t, conn, request{Type: typeSelect, Seq: 2, Avatar: avatarGhost, Nickname: "路人"})
	expect(t, conn, message{Type: typeLoading, Seq: 2, OpenID: "oGhost"},
		message{Type: typeError, Seq: 2, Message: msgLookupFailed})
	send(t, conn, request{Type: typePick, Seq: 3, OpenID: "oTwinA"})
	expect(t, conn, message{Type: typeError, Seq: 3, Message: msgBadPick})
	th.Close()

	mu.Lock()
	logged := buf.String()
	mu.Unlock()
	if !strings.Contains(logged, "sidebar connected") || !strings.Contains(logged, "customer lookup failed") {
		t.Fatalf("expected Info and Warn lines, got:\n%s", logged)
	}
	for _, secret := range []string{"oAlice", "oGhost", "oTwinA", "爱丽丝", "路人", "13812345678", "mmhead"} {
		if strings.Contains(logged, secret) {
			t.Errorf("log at Info level contains %q:\n%s", secret, logged)
		}
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
