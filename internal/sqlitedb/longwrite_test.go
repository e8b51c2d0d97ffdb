package sqlitedb

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"testing"
	"time"
)

// openTwice opens the same database file twice, as the proxy and an
// `orders import` beside it do, with a table to write to.
func openTwice(t *testing.T) (proxy, importer *sql.DB) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "kf.db")
	open := func() *sql.DB {
		db, err := Open(context.Background(), path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}
	proxy, importer = open(), open()
	if _, err := proxy.Exec(`CREATE TABLE t (x)`); err != nil {
		t.Fatal(err)
	}
	return proxy, importer
}

// beginLongWrite announces a long write on db and takes the write lock
// in a transaction of its own, as Import does; end commits it.
func beginLongWrite(t *testing.T, db *sql.DB) (lw *LongWrite, end func() error) {
	t.Helper()
	ctx := context.Background()
	lw, err := AnnounceLongWrite(ctx, db, "orders import")
	if err != nil {
		t.Fatal(err)
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(`INSERT INTO t VALUES ('import')`); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tx.Rollback(); lw.Close() })
	return lw, func() error {
		if err := lw.EndIn(ctx, tx); err != nil {
			return err
		}
		return tx.Commit()
	}
}

func shortInsert(ctx context.Context, db *sql.DB, wait time.Duration) error {
	return ShortWriteTx(ctx, db, wait, func(tx Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO t VALUES ('reveal')`)
		return err
	})
}

// TestShortWriteNamesAnAnnouncedLongWrite: while an announced long write
// holds the lock, a short write waits only its own wait, not the 5 s busy
// timeout, and fails with an error that names the long write; its
// connection goes back to the pool with the usual busy timeout.
func TestShortWriteNamesAnAnnouncedLongWrite(t *testing.T) {
	proxy, importer := openTwice(t)
	proxy.SetMaxOpenConns(1) // the connection ShortWriteTx used is the one checked after
	beginLongWrite(t, importer)

	start := time.Now()
	err := shortInsert(context.Background(), proxy, 200*time.Millisecond)
	took := time.Since(start)
	busy, ok := errors.AsType[*BusyError](err)
	if !ok {
		t.Fatalf("short write during a long one: %v, want a *BusyError", err)
	}
	if busy.What != "orders import" || time.Since(busy.Since) > time.Minute || !IsBusy(err) {
		t.Errorf("BusyError = %+v (IsBusy %v), want the orders import, announced just now, wrapping SQLite's busy",
			busy, IsBusy(err))
	}
	if took > 2*time.Second {
		t.Errorf("short write failed after %v, want about its 200ms wait", took)
	}
	var ms int
	if err := proxy.QueryRow(`PRAGMA busy_timeout`).Scan(&ms); err != nil || ms != BusyTimeoutMillis {
		t.Errorf("busy_timeout after ShortWriteTx = %d (%v), want %d", ms, err, BusyTimeoutMillis)
	}
}

// TestShortWriteWaitsOutALongWriteThatEnds: a long write that ends within
// the short write's wait lets it through, and leaves no announcement, nor
// the one a killed import left before it.
func TestShortWriteWaitsOutALongWriteThatEnds(t *testing.T) {
	proxy, importer := openTwice(t)
	if _, err := AnnounceLongWrite(context.Background(), importer, "orders import"); err != nil {
		t.Fatal(err) // never withdrawn: its process was killed
	}
	_, end := beginLongWrite(t, importer)
	ended := make(chan error, 1)
	time.AfterFunc(150*time.Millisecond, func() { ended <- end() })
	if err := shortInsert(context.Background(), proxy, 5*time.Second); err != nil {
		t.Fatalf("short write across the end of a long one: %v", err)
	}
	if err := <-ended; err != nil {
		t.Fatal(err)
	}
	if lw, err := runningLongWrite(context.Background(), proxy); lw != nil || err != nil {
		t.Errorf("after the long write committed: announced %+v (%v), want none", lw, err)
	}
	var n int
	if err := proxy.QueryRow(`SELECT count(*) FROM t`).Scan(&n); err != nil || n != 2 {
		t.Errorf("rows = %d (%v), want the long write's and the short one's", n, err)
	}
}

// TestFailedLongWriteWithdrawsItsAnnouncement: a long write rolled back
// (a bad record, a cancelled import) withdraws its announcement in Close,
// and a short write then waits the usual busy timeout for other writers.
func TestFailedLongWriteWithdrawsItsAnnouncement(t *testing.T) {
	ctx := context.Background()
	proxy, importer := openTwice(t)
	lw, err := AnnounceLongWrite(ctx, importer, "orders import")
	if err != nil {
		t.Fatal(err)
	}
	if running, err := runningLongWrite(ctx, proxy); running == nil || err != nil {
		t.Fatalf("announced long write not seen by the other handle: %+v, %v", running, err)
	}
	if err := lw.Close(); err != nil {
		t.Fatal(err)
	}
	if running, err := runningLongWrite(ctx, proxy); running != nil || err != nil {
		t.Errorf("after Close: %+v (%v), want no announcement", running, err)
	}
	// A stale announcement (a process killed a day ago) is cleared by the
	// next long write.
	if _, err := importer.Exec(`INSERT INTO kf_long_writes (what, started_unix_ns) VALUES ('orders import', ?)`,
		time.Now().Add(-25*time.Hour).UnixNano()); err != nil {
		t.Fatal(err)
	}
	lw, err = AnnounceLongWrite(ctx, importer, "orders import")
	if err != nil {
		t.Fatal(err)
	}
	defer lw.Close()
	var n int
	if err := proxy.QueryRow(`SELECT count(*) FROM kf_long_writes`).Scan(&n); err != nil || n != 1 {
		t.Errorf("announcements = %d (%v), want the new one only", n, err)
	}
}
