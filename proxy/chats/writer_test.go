package chats

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kfsidebar/kfsidebar/internal/kftest"
	"github.com/kfsidebar/kfsidebar/internal/sqlitedb"
	"github.com/kfsidebar/kfsidebar/internal/sqlitedb/sqlitedbtest"
	"github.com/kfsidebar/kfsidebar/proxy/console"
)

// TestStoreFailingSince: while writes fail, StoreFailing says since when
// (the first failure, not the latest retry) and why; once a write works
// again it clears by itself, and a later failure starts a new "since".
func TestStoreFailingSince(t *testing.T) {
	clock := &sessClock{t: sessT0}
	db := sessOpenDB(t, filepath.Join(t.TempDir(), "kf.db"))
	s := sessOpen(t, db, clock, 0)
	if since, err := s.StoreFailing(); err != nil || !since.IsZero() {
		t.Fatalf("a new map: StoreFailing = %v, %v; want nothing", since, err)
	}
	fail := func() {
		t.Helper()
		if _, err := db.Exec(`CREATE TRIGGER kf_sessions_fail BEFORE INSERT ON kf_sessions
			BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END`); err != nil {
			t.Fatalf("create trigger: %v", err)
		}
	}
	repair := func() {
		t.Helper()
		if _, err := db.Exec(`DROP TRIGGER kf_sessions_fail`); err != nil {
			t.Fatalf("drop trigger: %v", err)
		}
	}
	fail()
	s.Add(context.Background(), []console.Record{{OpenID: "oA", Source: console.SourceManual}})
	first := sessT0
	if err := s.Flush(context.Background()); err == nil {
		t.Fatal("storing with a failing store succeeded")
	}
	clock.Set(sessT0.Add(time.Minute))
	s.Flush(context.Background()) // a retry a minute later fails too
	since, err := s.StoreFailing()
	if err == nil || !strings.Contains(err.Error(), "disk is full") || !since.Equal(first) {
		t.Fatalf("StoreFailing = %v, %v; want the first failure's time %v and the cause", since, err, first)
	}
	if !errors.Is(s.StoreError(), err) || s.StoreError().Error() != err.Error() {
		t.Errorf("StoreError = %v, want the same error as StoreFailing's %v", s.StoreError(), err)
	}

	repair()
	kftest.Poll(t, "the writer's retry to clear the failure", func() bool {
		since, err := s.StoreFailing()
		return err == nil && since.IsZero()
	})

	clock.Set(sessT0.Add(time.Hour))
	fail()
	s.Add(context.Background(), []console.Record{{OpenID: "oB", Source: console.SourceManual}})
	s.Flush(context.Background())
	if since, _ := s.StoreFailing(); !since.Equal(sessT0.Add(time.Hour)) {
		t.Errorf("a new failure after a recovery: since %v, want %v", since, sessT0.Add(time.Hour))
	}
	repair()
}

// TestImportBesideIsNoStoreFault: while an `orders import` beside the
// proxy holds the database, a write of chats gives up after about a
// second (not SQLite's 5 s busy timeout), the storage line stays ok, the
// chat stays known in memory, and it is stored once the import commits.
func TestImportBesideIsNoStoreFault(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "kf.db")
	s := sessOpen(t, sessOpenDB(t, path), &sessClock{t: sessT0}, 0)
	endImport := sqlitedbtest.HoldForImport(t, path)

	s.Add(ctx, []console.Record{{OpenID: "oA", Source: console.SourceManual}})
	start := time.Now()
	err := s.Flush(ctx)
	if _, ok := errors.AsType[*sqlitedb.BusyError](err); !ok {
		t.Fatalf("Flush during the import: %v, want a BusyError naming it", err)
	}
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("Flush during the import gave up after %v, want about %v", took, importWait)
	}
	if since, err := s.StoreFailing(); err != nil || !since.IsZero() {
		t.Errorf("during the import: StoreFailing = %v, %v; want ok (it is no fault)", since, err)
	}
	if _, ok := s.Get("oA"); !ok {
		t.Fatal("the chat was forgotten during the import")
	}

	endImport()
	after := sessOpenDB(t, path)
	kftest.Poll(t, "the chat stored after the import", func() bool {
		var n int
		return after.QueryRow(`SELECT count(*) FROM kf_sessions WHERE openid = 'oA'`).Scan(&n) == nil && n == 1
	})
	if err := s.StoreError(); err != nil {
		t.Errorf("after the import: StoreError = %v", err)
	}
}
