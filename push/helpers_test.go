package push_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kfsidebar/kfsidebar/examples/shopapi/shop"
	"github.com/kfsidebar/kfsidebar/internal/kftest"
	"github.com/kfsidebar/kfsidebar/push"
	"github.com/kfsidebar/kfsidebar/push/store"
	"github.com/kfsidebar/kfsidebar/push/wechattest"
	"github.com/kfsidebar/kfsidebar/push/wire"
)

// The mini program of most tests.
var testAccount = wechattest.Account{
	Token:          "kfsidebarTest01",
	EncodingAESKey: "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
	AppID:          "wxba5fad812f8e6fb9",
	OriginalID:     "gh_97417a04a28d",
}

const pushPath = "/wechat"

// testConfig is a gateway for testAccount with quick retries and polls.
func testConfig(t testing.TB) push.Config {
	return push.Config{
		Token:          testAccount.Token,
		EncodingAESKey: testAccount.EncodingAESKey,
		AppID:          testAccount.AppID,
		OriginalID:     testAccount.OriginalID,
		Retry:          push.Retry{Base: 20 * time.Millisecond, Max: 200 * time.Millisecond},
		PollInterval:   20 * time.Millisecond,
		Logger:         kftest.Logger(t),
	}
}

// openSQLite opens a store in a file that outlives it, for restarts.
func openSQLite(t testing.TB, path string) *store.Store {
	t.Helper()
	st, err := store.OpenSQLite(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func tempSQLite(t testing.TB) *store.Store {
	return openSQLite(t, filepath.Join(t.TempDir(), "gateway.db"))
}

// gateway is a Server behind an httptest server, dispatching until Stop.
type gateway struct {
	*push.Server
	URL  string
	http *httptest.Server
	stop func()
}

// startGateway starts a gateway on st (a fresh SQLite store when nil).
func startGateway(t testing.TB, cfg push.Config, st push.Store) *gateway {
	t.Helper()
	if st == nil {
		st = tempSQLite(t)
	}
	srv, err := push.New(cfg, st)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle(pushPath, srv)
	hs := httptest.NewServer(mux)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		srv.Run(ctx)
	}()
	var once sync.Once
	g := &gateway{Server: srv, URL: hs.URL + pushPath, http: hs}
	g.stop = func() {
		once.Do(func() {
			hs.Close()
			cancel()
			<-done
		})
	}
	t.Cleanup(g.stop)
	return g
}

// sender is WeChat posting to g.
func (g *gateway) sender(mode wire.Mode, f wire.Format) *wechattest.Sender {
	return &wechattest.Sender{URL: g.URL, Account: testAccount, Mode: mode, Format: f}
}

// target is a shop system receiving deliveries: it checks each one's
// signature with the example shop's verifier, records the payloads, and
// can be told to fail or to hang.
type target struct {
	*httptest.Server
	name   string
	secret []byte
	fail   atomic.Bool
	hang   atomic.Bool
	// release ends every hang (closed when the test ends).
	release chan struct{}

	mu       sync.Mutex
	got      []push.Payload
	attempts int
}

func newTarget(t testing.TB, name string, now func() time.Time) *target {
	tg := &target{name: name, secret: []byte("secret-of-" + name + "-0123456789"), release: make(chan struct{})}
	v := &shop.Verifier{Secret: tg.secret, Now: now}
	tg.Server = httptest.NewServer(v.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tg.mu.Lock()
		tg.attempts++
		tg.mu.Unlock()
		if tg.hang.Load() {
			select {
			case <-tg.release:
			case <-time.After(10 * time.Second):
			}
			return
		}
		if tg.fail.Load() {
			http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
			return
		}
		body, _ := io.ReadAll(r.Body)
		var p push.Payload
		if err := json.Unmarshal(body, &p); err != nil {
			t.Errorf("target %s: payload %q: %v", name, body, err)
		}
		tg.mu.Lock()
		tg.got = append(tg.got, p)
		tg.mu.Unlock()
	})))
	t.Cleanup(func() {
		close(tg.release)
		tg.Close()
	})
	return tg
}

// config is the target's entry in the gateway config.
func (tg *target) config(match ...push.Pattern) push.Target {
	return push.Target{Name: tg.name, URL: tg.URL, Secret: tg.secret, Match: match}
}

func (tg *target) payloads() []push.Payload {
	tg.mu.Lock()
	defer tg.mu.Unlock()
	return append([]push.Payload(nil), tg.got...)
}

func (tg *target) tries() int {
	tg.mu.Lock()
	defer tg.mu.Unlock()
	return tg.attempts
}

// waitFor waits until the target has n payloads.
func (tg *target) waitFor(t testing.TB, n int) []push.Payload {
	t.Helper()
	kftest.Poll(t, tg.name+" to receive the pushes", func() bool { return len(tg.payloads()) >= n })
	return tg.payloads()
}

// send sends p and fails the test on a transport error.
func send(t testing.TB, s *wechattest.Sender, p wechattest.Push) *wechattest.Result {
	t.Helper()
	r, err := s.Send(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// ids counts payloads by push id.
func ids(ps []push.Payload) map[string]int {
	m := map[string]int{}
	for _, p := range ps {
		m[p.ID]++
	}
	return m
}
