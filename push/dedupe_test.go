package push_test

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/kfsidebar/kfsidebar/internal/kftest"
	"github.com/kfsidebar/kfsidebar/push"
	"github.com/kfsidebar/kfsidebar/push/wechattest"
	"github.com/kfsidebar/kfsidebar/push/wire"
)

// TestReplayedPush sends one push 3 and 4 times, replaying the very same
// request and re-signing it with a fresh timestamp and nonce (what WeChat
// does when it retries): one dispatch, and every reply byte-identical to
// the first, even the safe-mode ones whose ciphertext is random.
func TestReplayedPush(t *testing.T) {
	for _, times := range []int{3, 4} {
		for _, fresh := range []bool{false, true} {
			for _, mode := range modes {
				name := map[bool]string{false: "same", true: "fresh"}[fresh]
				t.Run(fmt.Sprintf("%s/%s/%d", mode, name, times), func(t *testing.T) {
					tg := newTarget(t, "erp", time.Now)
					cfg := testConfig(t)
					cfg.Targets = []push.Target{tg.config()}
					g := startGateway(t, cfg, nil)
					s := g.sender(mode, wire.JSON)
					for _, p := range []wechattest.Push{
						wechattest.Text("oUserReplay", "在吗", time.Now(), wechattest.NextMsgID()),
						wechattest.EnterSession("oUserReplay", "order:1", time.Now()),
					} {
						pr, err := s.Prepare(p)
						if err != nil {
							t.Fatal(err)
						}
						var first []byte
						for i := range times {
							if fresh && i > 0 {
								if pr, err = s.Prepare(p); err != nil {
									t.Fatal(err)
								}
							}
							r, err := s.Deliver(context.Background(), pr)
							if err != nil || r.Status != 200 || r.Invalid != nil {
								t.Fatalf("attempt %d: %v %+v", i, err, r)
							}
							if i == 0 {
								first = r.Body
							} else if !bytes.Equal(r.Body, first) {
								t.Errorf("attempt %d replied %q, the first %q", i, r.Body, first)
							}
						}
					}
					got := settled(t, g, tg)
					if n := len(ids(got)); n != 2 || len(got) != 2 {
						t.Errorf("%d deliveries of %d distinct pushes, want 2 of 2", len(got), n)
					}
					st := g.Status(context.Background())
					if st.Duplicates != int64(2*(times-1)) {
						t.Errorf("status counts %d duplicates, want %d", st.Duplicates, 2*(times-1))
					}
				})
			}
		}
	}
}

// settled waits until g's outbox is empty (every row delivered, none in
// flight) and returns what tg received: nothing can arrive after that, so
// a count is exact without sleeping.
func settled(t *testing.T, g *gateway, tg *target) []push.Payload {
	t.Helper()
	kftest.Poll(t, "the outbox to empty", func() bool {
		for _, ts := range g.Status(context.Background()).Targets {
			if ts.Pending > 0 {
				return false
			}
		}
		return true
	})
	return tg.payloads()
}

// TestDistinctPushes checks what must not be merged: one MsgId from two
// users (MsgIds are per user), and two events of one user in one second.
func TestDistinctPushes(t *testing.T) {
	tg := newTarget(t, "erp", time.Now)
	cfg := testConfig(t)
	cfg.Targets = []push.Target{tg.config()}
	g := startGateway(t, cfg, nil)
	at := time.Now()
	id := wechattest.NextMsgID()
	pushes := []wechattest.Push{
		wechattest.Text("oUserA", "hi", at, id),
		wechattest.Text("oUserB", "hi", at, id),
		wechattest.EnterSession("oUserA", "order:1", at),
		wechattest.EnterSession("oUserA", "goods:A100", at),
		wechattest.ExpressPath("oUserA", "SF", "SF1", "O1", 1, []wechattest.Action{{Time: at.Unix(), Type: 100001, Msg: "揽件"}}, at),
		wechattest.ExpressPath("oUserA", "SF", "SF2", "O2", 1, []wechattest.Action{{Time: at.Unix(), Type: 100001, Msg: "揽件"}}, at),
		wechattest.ExpressPath("oUserA", "SF", "SF1", "O1", 2, []wechattest.Action{{Time: at.Unix(), Type: 200001, Msg: "运输"}}, at),
		wechattest.OrderSettlement("oUserA", "42000001", "T1", false, at),
		wechattest.OrderSettlement("oUserA", "42000001", "T1", true, at),
	}
	for _, f := range formats {
		s := g.sender(wire.Safe, f)
		for _, p := range pushes {
			if r := send(t, s, p); r.Status != 200 {
				t.Fatalf("%+v: %d", p, r.Status)
			}
		}
	}
	// XML and JSON of one push are one push.
	got := settled(t, g, tg)
	if n := len(ids(got)); n != len(pushes) || len(got) != len(pushes) {
		t.Errorf("%d deliveries of %d distinct pushes, want %d of %d", len(got), n, len(pushes), len(pushes))
	}
}

// TestDuplicateProperty is the invariant "a duplicate gets the original
// reply and is dispatched once" over random interleavings: random pushes,
// each sent 1–4 times, in random order, from several goroutines at once,
// half of the repeats replaying the same request and half re-signed.
func TestDuplicateProperty(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 42))
	tg := newTarget(t, "erp", time.Now)
	cfg := testConfig(t)
	cfg.Targets = []push.Target{tg.config()}
	g := startGateway(t, cfg, nil)
	s := g.sender(wire.Safe, wire.XML)
	at := time.Now()
	type send struct {
		push int
		pr   *wechattest.Prepared
	}
	var (
		distinct []wechattest.Push
		sends    []send
	)
	users := []string{"oU1", "oU2", "oU3"}
	for i := range 30 {
		u := users[rng.IntN(len(users))]
		var p wechattest.Push
		switch rng.IntN(3) {
		case 0:
			p = wechattest.Text(u, "m", at, wechattest.NextMsgID())
		case 1:
			p = wechattest.EnterSession(u, "scene:"+strconv.Itoa(i), at)
		default:
			p = wechattest.ExpressPath(u, "SF", "W"+strconv.Itoa(i), "O", 1, nil, at)
		}
		distinct = append(distinct, p)
		pr, err := s.Prepare(p)
		if err != nil {
			t.Fatal(err)
		}
		for range 1 + rng.IntN(4) {
			if rng.IntN(2) == 0 {
				if pr, err = s.Prepare(p); err != nil {
					t.Fatal(err)
				}
			}
			sends = append(sends, send{i, pr})
		}
	}
	rng.Shuffle(len(sends), func(i, j int) { sends[i], sends[j] = sends[j], sends[i] })
	replies := make([][][]byte, len(distinct))
	var (
		mu sync.Mutex
		wg sync.WaitGroup
	)
	work := make(chan send)
	for range 6 {
		wg.Go(func() {
			for sd := range work {
				r, err := s.Deliver(context.Background(), sd.pr)
				if err != nil || r.Status != 200 {
					t.Errorf("push %d: %v %+v", sd.push, err, r)
					continue
				}
				mu.Lock()
				replies[sd.push] = append(replies[sd.push], r.Body)
				mu.Unlock()
			}
		})
	}
	for _, sd := range sends {
		work <- sd
	}
	close(work)
	wg.Wait()
	for i, rs := range replies {
		for _, r := range rs[1:] {
			if !bytes.Equal(r, rs[0]) {
				t.Errorf("push %d got two replies: %q and %q", i, rs[0], r)
			}
		}
	}
	got := settled(t, g, tg)
	if n := len(ids(got)); n != len(distinct) || len(got) != len(distinct) {
		t.Errorf("%d deliveries of %d distinct pushes, want %d of %d", len(got), n, len(distinct), len(distinct))
	}
}
