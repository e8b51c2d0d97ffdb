package store_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/kfsidebar/kfsidebar/internal/kftest"
	"github.com/kfsidebar/kfsidebar/push/store"
)

func openSQLite(t *testing.T) *store.Store {
	t.Helper()
	st, err := store.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "gateway.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// TestGroupCommit accepts many pushes at once, each twice: every push is
// recorded once with its outbox row and feed item, and both of its Accepts
// answer its first reply, whichever batches they fell in.
func TestGroupCommit(t *testing.T) {
	st, ctx := openSQLite(t), context.Background()
	const n = 200
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		dups int
	)
	for i := range 2 * n {
		wg.Go(func() {
			key := "k" + strconv.Itoa(i%n)
			a := accepted(key, "erp")
			a.Feed = []byte(`{"kind":"message"}`)
			r, dup, err := st.Accept(ctx, a)
			if err != nil || string(r.Body) != "reply-"+key {
				t.Errorf("Accept %s = %q, %v", key, r.Body, err)
			}
			if dup {
				mu.Lock()
				dups++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if dups != n {
		t.Errorf("%d duplicates, want %d", dups, n)
	}
	if d, _ := st.Depth(ctx); d["erp"].Pending != n {
		t.Errorf("outbox %+v, want %d rows", d, n)
	}
	if items, _ := st.FeedAfter(ctx, 0, t0, 2*n); len(items) != n {
		t.Errorf("%d feed items, want %d", len(items), n)
	}
}

// TestGroupCommitFailsAlone: a push the database refuses (no payload,
// which the outbox requires) fails on its own; the pushes committed in
// the same batch are recorded.
func TestGroupCommitFailsAlone(t *testing.T) {
	st, ctx := openSQLite(t), context.Background()
	const n = 50
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			a := accepted("k"+strconv.Itoa(i), "erp")
			bad := i == n/2
			if bad {
				a.Payload = nil
			}
			_, _, err := st.Accept(ctx, a)
			if (err != nil) != bad {
				t.Errorf("push %d (bad %t): %v", i, bad, err)
			}
		})
	}
	wg.Wait()
	if d, _ := st.Depth(ctx); d["erp"].Pending != n-1 {
		t.Errorf("outbox %+v, want %d rows", d, n-1)
	}
	// The refused push left no dedupe key: its retry is new.
	if _, dup, err := st.Accept(ctx, accepted("k"+strconv.Itoa(n/2), "erp")); err != nil || dup {
		t.Errorf("retry of the refused push: dup %t, %v", dup, err)
	}
}

// TestAcceptGivenUp: a caller that has given up records nothing, and a
// closed store refuses.
func TestAcceptGivenUp(t *testing.T) {
	st := openSQLite(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Nanosecond)
	defer cancel()
	<-ctx.Done()
	if _, _, err := st.Accept(ctx, accepted("late", "erp")); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Accept after the deadline: %v", err)
	}
	if d, _ := st.Depth(context.Background()); d["erp"].Pending != 0 {
		t.Errorf("outbox %+v, want nothing", d)
	}
	st.Close()
	if _, _, err := st.Accept(context.Background(), accepted("closed", "erp")); !errors.Is(err, store.ErrClosed) {
		t.Errorf("Accept after Close: %v", err)
	}
}

// TestCheckpoints: the writer leaves the WAL to the background
// checkpoints, which copy it into the database file.
func TestCheckpoints(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gateway.db")
	st, err := store.OpenSQLite(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var autockpt int
	if err := st.DB().QueryRow(`PRAGMA wal_autocheckpoint`).Scan(&autockpt); err != nil || autockpt != 0 {
		t.Errorf("the writer's wal_autocheckpoint is %d (%v), want 0", autockpt, err)
	}
	size := func() int64 {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		return fi.Size()
	}
	before := size()
	for i := range 200 {
		if _, _, err := st.Accept(context.Background(), accepted("k"+strconv.Itoa(i), "erp")); err != nil {
			t.Fatal(err)
		}
	}
	kftest.Poll(t, "the database file to take the WAL's pages", func() bool { return size() > before })
}

// TestGroupCommitFailsAloneInItsBatch: a refused push that has a batch to
// itself fails, and the next push is recorded.
func TestGroupCommitFailsAloneInItsBatch(t *testing.T) {
	st, ctx := openSQLite(t), context.Background()
	bad := accepted("bad", "erp")
	bad.Payload = nil
	if _, _, err := st.Accept(ctx, bad); err == nil {
		t.Error("a push without a payload was recorded")
	}
	if _, dup, err := st.Accept(ctx, accepted("good", "erp")); err != nil || dup {
		t.Errorf("the next push: dup %t, %v", dup, err)
	}
}
