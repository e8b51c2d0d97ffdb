// Package sqlitedbtest opens SQLite databases for tests exactly as
// kfsidebar opens its own (sqlitedb.Open), so no test carries a connection
// string of its own and every test sees the production settings.
package sqlitedbtest

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/kfsidebar/kfsidebar/internal/sqlitedb"
)

// New opens a fresh database file in tb.TempDir().
func New(tb testing.TB) *sql.DB {
	tb.Helper()
	return Open(tb, filepath.Join(tb.TempDir(), "kf.db"))
}

// Open opens the database at path, creating it if needed. It is closed when
// the test ends; a test may close it first, e.g. to open the file again as
// a restart does.
func Open(tb testing.TB, path string) *sql.DB {
	tb.Helper()
	db, err := sqlitedb.Open(context.Background(), path)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

// HoldForImport holds the database at path as an `orders import` beside
// the proxy does: the long write announced, then a transaction that has
// written and keeps the write lock. end commits it, and the import is
// over; a test that never calls end has it rolled back when it ends.
func HoldForImport(tb testing.TB, path string) (end func()) {
	tb.Helper()
	ctx := context.Background()
	importer := Open(tb, path)
	lw, err := sqlitedb.AnnounceLongWrite(ctx, importer, "orders import")
	if err != nil {
		tb.Fatal(err)
	}
	tx, err := importer.BeginTx(ctx, nil)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { tx.Rollback(); lw.Close() })
	if _, err := tx.Exec(`CREATE TABLE import_holds_the_lock (x)`); err != nil {
		tb.Fatal(err)
	}
	return func() {
		tb.Helper()
		if err := lw.EndIn(ctx, tx); err != nil {
			tb.Fatal(err)
		}
		if err := tx.Commit(); err != nil {
			tb.Fatal(err)
		}
	}
}
