package push_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kfsidebar/kfsidebar/internal/kftest"
	"github.com/kfsidebar/kfsidebar/push"
	"github.com/kfsidebar/kfsidebar/push/internal/pushtest"
	"github.com/kfsidebar/kfsidebar/push/wechattest"
	"github.com/kfsidebar/kfsidebar/push/wire"
)

// TestTargetDownAcrossRestart: the target is down while pushes arrive; the
// gateway stops with them undelivered and starts again on the same
// database; the target comes back: every push arrives, none is lost.
func TestTargetDownAcrossRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gateway.db")
	tg := newTarget(t, "erp", time.Now)
	tg.fail.Store(true)
	cfg := testConfig(t)
	cfg.Targets = []push.Target{tg.config()}

	g1 := startGateway(t, cfg, openSQLite(t, path))
	s := g1.sender(wire.Safe, wire.XML)
	const n = 5
	for i := range n {
		if r := send(t, s, wechattest.Text("oUserDown", "msg", time.Now(), wechattest.NextMsgID())); !r.Transferred {
			t.Fatalf("push %d: %d %q", i, r.Status, r.Body)
		}
	}
	kftest.Poll(t, "failed attempts", func() bool { return tg.tries() >= 2*n })
	st := g1.Status(context.Background())
	if len(st.Targets) != 1 || st.Targets[0].Healthy || st.Targets[0].Pending != n || st.Targets[0].LastError == "" {
		t.Errorf("status while down: %+v", st.Targets)
	}
	g1.stop()

	tg.fail.Store(false)
	g2 := startGateway(t, cfg, openSQLite(t, path))
	got := settled(t, g2, tg)
	if len(ids(got)) != n {
		t.Errorf("%d distinct pushes delivered after the restart, want %d", len(ids(got)), n)
	}
	if ts := g2.Status(context.Background()).Targets[0]; !ts.Healthy || ts.Delivered < n {
		t.Errorf("status after recovery: %+v", ts)
	}
}

// TestHangingTarget: one target hangs for 10 s on every delivery; WeChat
// is still answered within budget, and the other target gets every push
// at once.
func TestHangingTarget(t *testing.T) {
	slow := newTarget(t, "slow", time.Now)
	slow.hang.Store(true)
	fast := newTarget(t, "fast", time.Now)
	cfg := testConfig(t)
	cfg.Targets = []push.Target{slow.config(), fast.config()}
	g := startGateway(t, cfg, nil)
	s := g.sender(wire.Safe, wire.JSON)
	const n = 20
	for i := range n {
		p := wechattest.Text("oUserHang", "hi", time.Now(), wechattest.NextMsgID())
		if i%2 == 1 {
			p = wechattest.EnterSession("oUserHang", "scene", time.Now().Add(time.Duration(i)*time.Second))
		}
		r := send(t, s, p)
		if r.Status != 200 || r.Latency > time.Second {
			t.Errorf("push %d answered %d after %v; the budget is well under 5 s", i, r.Status, r.Latency)
		}
	}
	fast.waitFor(t, n)
	kftest.Poll(t, "the slow target to be hit", func() bool { return slow.tries() > 0 })
}

// TestConcurrentDeliveries: a target gets up to Concurrency deliveries
// at once, so one slow answer does not serialize its queue.
func TestConcurrentDeliveries(t *testing.T) {
	slow := newTarget(t, "slow", time.Now)
	slow.hang.Store(true)
	cfg := testConfig(t)
	tc := slow.config()
	tc.Concurrency = 3
	cfg.Targets = []push.Target{tc}
	g := startGateway(t, cfg, nil)
	for i := range 5 {
		send(t, g.sender(wire.Plain, wire.JSON), wechattest.EnterSession("oUserPar", strconv.Itoa(i), time.Now()))
	}
	kftest.Poll(t, "three deliveries in flight at once", func() bool { return slow.tries() == 3 })
}

// TestDeadLettersAndReplay: a target that keeps failing gets its pushes
// as dead letters after MaxAttempts; Replay sends them again.
func TestDeadLettersAndReplay(t *testing.T) {
	tg := newTarget(t, "erp", time.Now)
	tg.fail.Store(true)
	cfg := testConfig(t)
	cfg.Retry.MaxAttempts = 2
	cfg.Targets = []push.Target{tg.config()}
	g := startGateway(t, cfg, nil)
	send(t, g.sender(wire.Plain, wire.XML), wechattest.EnterSession("oUserDead", "a", time.Now()))
	send(t, g.sender(wire.Plain, wire.XML), wechattest.EnterSession("oUserDead", "b", time.Now()))
	ctx := context.Background()
	kftest.Poll(t, "two dead letters", func() bool {
		d, _ := g.DeadLetters(ctx, "erp", 10)
		return len(d) == 2
	})
	dead, _ := g.DeadLetters(ctx, "", 10)
	if dead[0].Attempts != 2 || dead[0].LastError == "" || dead[0].Target != "erp" {
		t.Errorf("dead letter %+v", dead[0])
	}
	if st := g.Status(ctx).Targets[0]; st.Dead != 2 || st.Pending != 0 {
		t.Errorf("status %+v, want 2 dead", st)
	}
	if _, err := g.Replay(ctx, "nosuch"); !errors.Is(err, push.ErrUnknownTarget) {
		t.Errorf("Replay(nosuch) = %v", err)
	}
	tg.fail.Store(false)
	if n, err := g.Replay(ctx, "erp", dead[0].ID); err != nil || n != 1 {
		t.Fatalf("Replay one = %d, %v", n, err)
	}
	tg.waitFor(t, 1)
	if n, err := g.Replay(ctx, ""); err != nil || n != 1 {
		t.Fatalf("Replay all = %d, %v", n, err)
	}
	if got := settled(t, g, tg); len(ids(got)) != 2 {
		t.Errorf("after replay %d pushes delivered, want 2", len(ids(got)))
	}
}

// TestRouting sends each target only what its patterns select.
func TestRouting(t *testing.T) {
	logistics := newTarget(t, "logistics", time.Now)
	orders := newTarget(t, "orders", time.Now)
	bot := newTarget(t, "bot", time.Now)
	all := newTarget(t, "all", time.Now)
	mustPattern := func(s string) push.Pattern {
		p, err := push.ParsePattern(s)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	cfg := testConfig(t)
	cfg.Targets = []push.Target{
		logistics.config(mustPattern("event:add_express_path")),
		orders.config(mustPattern("event:trade_manage_*")),
		bot.config(mustPattern("text"), mustPattern("image")),
		all.config(),
	}
	g := startGateway(t, cfg, nil)
	cat := wechattest.Catalogue("oUserRoute", time.Now())
	for _, p := range cat {
		send(t, g.sender(wire.Safe, wire.XML), p)
	}
	settled(t, g, all)
	count := func(tg *target) map[string]int {
		m := map[string]int{}
		for _, p := range tg.payloads() {
			m[p.MsgType+":"+p.Event]++
		}
		return m
	}
	want := map[string]map[string]int{
		"logistics": {"event:add_express_path": 1},
		"orders":    {"event:trade_manage_remind_shipping": 1, "event:trade_manage_order_settlement": 1, "event:trade_manage_remind_access_api": 1},
		"bot":       {"text:": 1, "image:": 1},
	}
	for _, tg := range []*target{logistics, orders, bot} {
		got := count(tg)
		if len(got) != len(want[tg.name]) {
			t.Errorf("%s got %v, want %v", tg.name, got, want[tg.name])
		}
		for k, n := range want[tg.name] {
			if got[k] != n {
				t.Errorf("%s got %v, want %v", tg.name, got, want[tg.name])
			}
		}
	}
	if len(all.payloads()) != len(cat) {
		t.Errorf("the catch-all target got %d, want %d", len(all.payloads()), len(cat))
	}
}

// TestBusinessHoursPolicy transfers in hours and answers success outside;
// events are never transferred.
func TestBusinessHoursPolicy(t *testing.T) {
	hours, err := push.ParseBusinessHours("mon-fri 09:00-18:00", nil)
	if err != nil {
		t.Fatal(err)
	}
	clock := pushtest.NewClock(time.Date(2024, 5, 6, 10, 0, 0, 0, time.FixedZone("CST", 8*3600)).Unix()) // a Monday
	tg := newTarget(t, "bot", clock.Now)
	cfg := testConfig(t)
	cfg.Policy = hours
	cfg.Now = clock.Now
	cfg.Targets = []push.Target{tg.config()}
	g := startGateway(t, cfg, nil)
	s := g.sender(wire.Safe, wire.XML)
	s.Now = clock.Now
	if r := send(t, s, wechattest.Text("oU", "in hours", clock.Now(), wechattest.NextMsgID())); !r.Transferred {
		t.Errorf("in hours: %q", r.Body)
	}
	// Delivered before the clock moves: the target checks the signature's
	// timestamp against the same clock.
	tg.waitFor(t, 1)
	clock.Set(time.Date(2024, 5, 6, 19, 0, 0, 0, time.FixedZone("CST", 8*3600)).Unix())
	if r := send(t, s, wechattest.Text("oU", "after hours", clock.Now(), wechattest.NextMsgID())); !r.Success || r.Invalid != nil {
		t.Errorf("after hours: %q %v, want a bare success", r.Body, r.Invalid)
	}
	got := tg.waitFor(t, 2)
	replies := map[string]bool{}
	for _, p := range got {
		replies[p.Reply] = true
	}
	if !replies["transfer_customer_service"] || !replies["success"] {
		t.Errorf("targets see replies %v, want both kinds (the bot answers what was not transferred)", replies)
	}
}

// failingStore is a Store whose Accept fails: the database is down.
type failingStore struct{ push.Store }

func (failingStore) Accept(context.Context, *push.Accepted) (push.Reply, bool, error) {
	return push.Reply{}, false, errors.New("database is down")
}

// TestStoreDown: without storage, messages are still transferred (the
// console comes first) and events get 503 so WeChat retries them.
func TestStoreDown(t *testing.T) {
	g := startGateway(t, testConfig(t), failingStore{tempSQLite(t)})
	s := g.sender(wire.Safe, wire.XML)
	if r := send(t, s, wechattest.Text("oU", "hi", time.Now(), wechattest.NextMsgID())); !r.Transferred || r.Invalid != nil {
		t.Errorf("message with the store down: %d %q %v", r.Status, r.Body, r.Invalid)
	}
	if r := send(t, s, wechattest.EnterSession("oU", "x", time.Now())); r.Status != 503 {
		t.Errorf("event with the store down: %d, want 503", r.Status)
	}
	if n := g.Status(context.Background()).StoreErrors; n != 2 {
		t.Errorf("status counts %d store errors, want 2", n)
	}
}

// stuckStore is a Store whose Accept waits until its context ends: a
// database that stopped answering.
type stuckStore struct{ push.Store }

func (stuckStore) Accept(ctx context.Context, _ *push.Accepted) (push.Reply, bool, error) {
	<-ctx.Done()
	return push.Reply{}, false, ctx.Err()
}

// TestReplyBudget: a store that never answers costs the reply budget and
// no more; the message is still transferred.
func TestReplyBudget(t *testing.T) {
	cfg := testConfig(t)
	cfg.ReplyBudget = 200 * time.Millisecond
	g := startGateway(t, cfg, stuckStore{tempSQLite(t)})
	r := send(t, g.sender(wire.Safe, wire.JSON), wechattest.Text("oU", "hi", time.Now(), wechattest.NextMsgID()))
	if !r.Transferred || r.Latency > time.Second {
		t.Errorf("answered after %v (budget 200ms): %d %q", r.Latency, r.Status, r.Body)
	}
}

// TestStatus checks the numbers the status page shows.
func TestStatus(t *testing.T) {
	tg := newTarget(t, "erp", time.Now)
	cfg := testConfig(t)
	cfg.Targets = []push.Target{tg.config()}
	g := startGateway(t, cfg, nil)
	s := g.sender(wire.Safe, wire.XML)
	p := wechattest.Text("oU", "hi", time.Now(), wechattest.NextMsgID())
	send(t, s, p)
	send(t, s, p)
	send(t, s, wechattest.EnterSession("oU", "x", time.Now()))
	settled(t, g, tg)
	st := g.Status(context.Background())
	if st.PerMinute["text"] != 2 || st.PerMinute["event:user_enter_tempsession"] != 1 {
		t.Errorf("per minute %v", st.PerMinute)
	}
	if st.Received != 3 || st.Transferred != 2 || st.Success != 1 || st.Duplicates != 1 {
		t.Errorf("status %+v", st)
	}
	if len(st.Targets) != 1 || !st.Targets[0].Healthy || st.Targets[0].Delivered != 2 || st.Targets[0].LastSuccess.IsZero() {
		t.Errorf("targets %+v", st.Targets)
	}
}

// TestDeliveryConnections: a busy target's deliveries reuse a connection
// per deliverer instead of dialing anew.
func TestDeliveryConnections(t *testing.T) {
	var (
		mu    sync.Mutex
		conns = map[string]bool{}
		n     atomic.Int64
	)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		mu.Lock()
		conns[r.RemoteAddr] = true
		mu.Unlock()
		n.Add(1)
	}))
	defer hook.Close()
	cfg := testConfig(t)
	cfg.Targets = []push.Target{{Name: "shop", URL: hook.URL, Secret: []byte("secret-of-shop-0123456789")}}
	g := startGateway(t, cfg, nil)
	const pushes = 60
	var wg sync.WaitGroup
	for i := range pushes {
		wg.Go(func() {
			send(t, g.sender(wire.Plain, wire.XML), wechattest.Text("oUserConn"+strconv.Itoa(i%8), "hi", time.Now(), wechattest.NextMsgID()))
		})
	}
	wg.Wait()
	kftest.Poll(t, "every push delivered", func() bool { return n.Load() >= pushes })
	mu.Lock()
	defer mu.Unlock()
	// Four deliverers; a dial racing a connection's return may add one.
	if len(conns) > 2*push.DefaultConcurrency {
		t.Errorf("%d pushes delivered over %d connections; want about %d", pushes, len(conns), push.DefaultConcurrency)
	}
}
