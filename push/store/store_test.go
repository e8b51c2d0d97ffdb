package store_test

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver, for the PostgreSQL runs

	"github.com/kfsidebar/kfsidebar/push"
	"github.com/kfsidebar/kfsidebar/push/internal/pushtest"
	"github.com/kfsidebar/kfsidebar/push/store"
)

// opener opens a fresh store; calling it again opens a second Store on the
// same database (a second gateway instance).
type opener func(t *testing.T) *store.Store

// backends returns an opener per database: SQLite always, PostgreSQL when
// KFSIDEBAR_TEST_GATEWAY_DSN is set (and always in CI).
func backends(t *testing.T) map[string]func(t *testing.T) opener {
	return map[string]func(t *testing.T) opener{
		"sqlite": func(t *testing.T) opener {
			path := filepath.Join(t.TempDir(), "gateway.db")
			return func(t *testing.T) *store.Store {
				st, err := store.OpenSQLite(context.Background(), path)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { st.Close() })
				return st
			}
		},
		"postgres": func(t *testing.T) opener {
			dsn := pushtest.PostgresDSN(t)
			return func(t *testing.T) *store.Store {
				db, err := sql.Open("pgx", dsn)
				if err != nil {
					t.Fatal(err)
				}
				st, err := store.Open(context.Background(), db, store.Postgres)
				if err != nil {
					db.Close()
					t.Fatal(err)
				}
				t.Cleanup(func() { st.Close() })
				return st
			}
		},
	}
}

// each runs f against every backend.
func each(t *testing.T, f func(t *testing.T, open opener)) {
	for name, b := range backends(t) {
		t.Run(name, func(t *testing.T) { f(t, b(t)) })
	}
}

var t0 = time.UnixMilli(1_700_000_000_000)

func accepted(key string, targets ...string) *push.Accepted {
	return &push.Accepted{Key: key, Reply: push.Reply{ContentType: "application/xml", Body: []byte("reply-" + key)},
		Targets: targets, Payload: []byte(`{"id":"` + key + `"}`), At: t0}
}

func TestAcceptDedupe(t *testing.T) {
	each(t, func(t *testing.T, open opener) {
		st, ctx := open(t), context.Background()
		r, dup, err := st.Accept(ctx, accepted("k1", "erp", "bot"))
		if err != nil || dup || string(r.Body) != "reply-k1" {
			t.Fatalf("first Accept = %q, %t, %v", r.Body, dup, err)
		}
		again := accepted("k1", "erp", "bot")
		again.Reply.Body = []byte("a different reply")
		r, dup, err = st.Accept(ctx, again)
		if err != nil || !dup || string(r.Body) != "reply-k1" || r.ContentType != "application/xml" {
			t.Fatalf("duplicate Accept = %q %q, %t, %v; want the original reply", r.ContentType, r.Body, dup, err)
		}
		depth, err := st.Depth(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if depth["erp"].Pending != 1 || depth["bot"].Pending != 1 {
			t.Errorf("depth %+v, want one row per target", depth)
		}
	})
}

// TestAcceptRace has many instances accept one key at once: exactly one
// records it, and all answer the same reply.
func TestAcceptRace(t *testing.T) {
	each(t, func(t *testing.T, open opener) {
		stores := []*store.Store{open(t), open(t)}
		ctx := context.Background()
		const n = 16
		var (
			wg      sync.WaitGroup
			mu      sync.Mutex
			fresh   int
			replies = map[string]int{}
		)
		for i := range n {
			wg.Go(func() {
				a := accepted("race", "erp")
				a.Reply.Body = fmt.Appendf(nil, "reply from %d", i)
				r, dup, err := stores[i%2].Accept(ctx, a)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				defer mu.Unlock()
				if !dup {
					fresh++
				}
				replies[string(r.Body)]++
			})
		}
		wg.Wait()
		if fresh != 1 || len(replies) != 1 {
			t.Errorf("%d instances recorded the push, replies %v; want 1 and one reply", fresh, replies)
		}
		depth, _ := stores[0].Depth(ctx)
		if depth["erp"].Pending != 1 {
			t.Errorf("outbox %+v, want 1 row", depth)
		}
	})
}

func TestOutboxLifecycle(t *testing.T) {
	each(t, func(t *testing.T, open opener) {
		st, ctx := open(t), context.Background()
		for _, k := range []string{"a", "b", "c"} {
			if _, _, err := st.Accept(ctx, accepted(k, "erp")); err != nil {
				t.Fatal(err)
			}
		}
		lease := t0.Add(time.Minute)
		ds, err := st.Claim(ctx, "erp", t0, lease, 2)
		if err != nil || len(ds) != 2 || string(ds[0].Payload) != `{"id":"a"}` || ds[0].Attempts != 1 || ds[0].ID > ds[1].ID {
			t.Fatalf("Claim = %+v, %v; want a and b, oldest first, attempt 1", ds, err)
		}
		if more, _ := st.Claim(ctx, "erp", t0, lease, 10); len(more) != 1 || string(more[0].Payload) != `{"id":"c"}` {
			t.Fatalf("second Claim = %+v; want only c (a and b are leased)", more)
		}
		if none, _ := st.Claim(ctx, "other", t0, lease, 10); len(none) != 0 {
			t.Fatalf("another target claimed %+v", none)
		}
		// a delivered, b failed (retry later), c dead.
		if err := st.Delivered(ctx, ds[0].ID); err != nil {
			t.Fatal(err)
		}
		if err := st.Retry(ctx, ds[1].ID, t0.Add(10*time.Second), "503"); err != nil {
			t.Fatal(err)
		}
		c, _ := st.Claim(ctx, "erp", lease, lease.Add(time.Minute), 10) // c's lease has run out
		if len(c) != 2 {
			t.Fatalf("after the lease, Claim = %+v; want b and c", c)
		}
		if c[1].Attempts != 2 || c[0].LastError != "503" {
			t.Errorf("rows %+v: want b with its error, c on attempt 2", c)
		}
		if err := st.Bury(ctx, c[1].ID, "gave up"); err != nil {
			t.Fatal(err)
		}
		dead, err := st.DeadLetters(ctx, "", 10)
		if err != nil || len(dead) != 1 || !dead[0].Dead || dead[0].LastError != "gave up" {
			t.Fatalf("DeadLetters = %+v, %v", dead, err)
		}
		if d, _ := st.Depth(ctx); d["erp"] != (push.Depth{Pending: 1, Dead: 1}) {
			t.Errorf("Depth = %+v, want 1 pending, 1 dead", d)
		}
		if n, err := st.Replay(ctx, "bot", nil, t0); err != nil || n != 0 {
			t.Errorf("Replay of another target = %d, %v", n, err)
		}
		if n, err := st.Replay(ctx, "erp", []int64{dead[0].ID}, lease.Add(time.Hour)); err != nil || n != 1 {
			t.Fatalf("Replay = %d, %v", n, err)
		}
		back, _ := st.Claim(ctx, "erp", lease.Add(time.Hour), lease.Add(2*time.Hour), 10)
		if len(back) != 2 {
			t.Fatalf("after replay, Claim = %+v; want b and the replayed c", back)
		}
		for _, d := range back {
			if d.ID == dead[0].ID && d.Attempts != 1 {
				t.Errorf("replayed row on attempt %d, want a fresh count (1)", d.Attempts)
			}
		}
	})
}

// TestClaimDisjoint has two instances claim one outbox at once: every
// row goes to exactly one of them.
func TestClaimDisjoint(t *testing.T) {
	each(t, func(t *testing.T, open opener) {
		a, b, ctx := open(t), open(t), context.Background()
		const n = 60
		for i := range n {
			if _, _, err := a.Accept(ctx, accepted(fmt.Sprint(i), "erp")); err != nil {
				t.Fatal(err)
			}
		}
		var (
			wg   sync.WaitGroup
			mu   sync.Mutex
			seen = map[int64]int{}
		)
		for _, st := range []*store.Store{a, b, a, b} {
			wg.Go(func() {
				for {
					ds, err := st.Claim(ctx, "erp", t0, t0.Add(time.Hour), 3)
					if err != nil {
						t.Error(err)
						return
					}
					if len(ds) == 0 {
						return
					}
					mu.Lock()
					for _, d := range ds {
						seen[d.ID]++
					}
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if len(seen) != n {
			t.Errorf("%d rows claimed, want %d", len(seen), n)
		}
		for id, k := range seen {
			if k != 1 {
				t.Errorf("row %d claimed %d times", id, k)
			}
		}
	})
}

func TestFeedAndPrune(t *testing.T) {
	each(t, func(t *testing.T, open opener) {
		st, ctx := open(t), context.Background()
		for i, k := range []string{"old", "new1", "new2"} {
			a := accepted(k)
			a.At = t0.Add(time.Duration(i) * time.Minute)
			a.Feed = []byte(`{"kind":"` + k + `"}`)
			if _, _, err := st.Accept(ctx, a); err != nil {
				t.Fatal(err)
			}
		}
		items, err := st.FeedAfter(ctx, 0, t0.Add(30*time.Second), 10)
		if err != nil || len(items) != 2 || string(items[0].Data) != `{"kind":"new1"}` {
			t.Fatalf("FeedAfter = %+v, %v; want new1, new2", items, err)
		}
		if more, _ := st.FeedAfter(ctx, items[0].ID, t0, 10); len(more) != 1 || string(more[0].Data) != `{"kind":"new2"}` {
			t.Fatalf("FeedAfter(first) = %+v", more)
		}
		if err := st.Prune(ctx, t0.Add(90*time.Second), t0.Add(90*time.Second)); err != nil {
			t.Fatal(err)
		}
		if items, _ := st.FeedAfter(ctx, 0, t0, 10); len(items) != 1 {
			t.Errorf("after prune, feed %+v; want new2 only", items)
		}
		// A pruned key is forgotten: the same push would be new again.
		if _, dup, _ := st.Accept(ctx, accepted("old")); dup {
			t.Error("pruned key still a duplicate")
		}
		if _, dup, _ := st.Accept(ctx, accepted("new2")); !dup {
			t.Error("kept key not a duplicate")
		}
	})
}

// TestReopen opens the database again: the schema is not re-created and
// rows survive (a gateway restart).
func TestReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gateway.db")
	ctx := context.Background()
	st, err := store.OpenSQLite(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := st.Accept(ctx, accepted("k", "erp")); err != nil {
		t.Fatal(err)
	}
	st.Close()
	st, err = store.OpenSQLite(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, dup, _ := st.Accept(ctx, accepted("k", "erp")); !dup {
		t.Error("key lost across reopen")
	}
	if d, _ := st.Depth(ctx); d["erp"].Pending != 1 {
		t.Errorf("outbox lost across reopen: %+v", d)
	}
}
