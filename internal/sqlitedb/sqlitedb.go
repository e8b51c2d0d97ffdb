// Package sqlitedb is the one way kfsidebar opens its SQLite database and
// changes its schema. Every store in the database (the chat map, the
// embedded orders, bindings, reveals, quick replies) opens it with Open, so
// all connections behave alike, and declares its tables as a list of
// migration steps that Migrate applies once each and records, so the
// schema of a workstation's database has one history instead of a CREATE
// TABLE IF NOT EXISTS and an ALTER TABLE in every package.
//
// It is the only package that imports the SQLite driver
// (github.com/mattn/go-sqlite3, which needs cgo).
package sqlitedb

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"net/url"
	"os"
	"strconv"

	_ "github.com/mattn/go-sqlite3" // registers the "sqlite3" driver
)

// BusyTimeoutMillis is how long a connection waits for another one's write
// lock before it fails with "database is locked": long enough to ride out
// an import or a burst of session writes, short enough that a stuck
// process shows as an error rather than a hang.
const BusyTimeoutMillis = 5000

// Open opens the SQLite database at path, creating the file (mode 0600: it
// holds customer data) when it does not exist, and checks that it can be
// read. Every connection uses WAL, so readers never wait for the writer
// (the sidebar reads while the proxy writes, and lookups go on during an
// import); waits up to BusyTimeoutMillis for a write lock; enforces
// foreign keys; and syncs NORMAL, which in WAL mode loses at most the last
// transactions on a power cut, never the file. Allow more than one
// connection (database/sql's default): WAL pays off only with several.
func Open(ctx context.Context, path string, opts ...Option) (*sql.DB, error) {
	if !Available {
		return nil, ErrNoSQLite
	}
	// Create the file before SQLite does, so that it, and the -wal and
	// -shm files SQLite gives the same mode, are never readable by others.
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	f.Close()
	q := url.Values{}
	q.Set("_journal_mode", "WAL")
	q.Set("_busy_timeout", fmt.Sprint(BusyTimeoutMillis))
	q.Set("_foreign_keys", "on")
	q.Set("_synchronous", "NORMAL")
	for _, o := range opts {
		o(q)
	}
	db, err := open(ctx, path, q)
	if err != nil {
		return nil, err
	}
	// A file made by an older kfsidebar, or copied in, may be readable by
	// others.
	if err := os.Chmod(path, 0o600); err != nil {
		db.Close()
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	return db, nil
}

// Option changes how Open's connections behave.
type Option func(url.Values)

// ImmediateTx makes every transaction begun with db.BeginTx take the write
// lock at once (BEGIN IMMEDIATE), for stores whose transactions read and
// then write while another process may write too (see WriteTx): they
// wait for the lock instead of failing with "database is locked".
func ImmediateTx() Option {
	return func(q url.Values) { q.Set("_txlock", "immediate") }
}

// StatementCache keeps up to n prepared statements per connection, so a
// store that runs the same few statements many times a second (the push
// gateway) parses each once per connection instead of on every call.
func StatementCache(n int) Option {
	return func(q url.Values) { q.Set("_stmt_cache_size", strconv.Itoa(n)) }
}

// OpenReadOnly opens an existing database that no connection of db may
// write to, with Open's busy timeout and foreign keys.
func OpenReadOnly(ctx context.Context, path string) (*sql.DB, error) {
	q := url.Values{}
	q.Set("mode", "ro")
	q.Set("_busy_timeout", fmt.Sprint(BusyTimeoutMillis))
	q.Set("_foreign_keys", "on")
	return open(ctx, path, q)
}

func open(ctx context.Context, path string, q url.Values) (*sql.DB, error) {
	db, err := sql.Open("sqlite3", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	return db, nil
}

// Tx is what a transaction body needs: *sql.Tx and *sql.Conn have it.
type Tx interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// WriteTx runs fn in a transaction that takes the write lock first (BEGIN
// IMMEDIATE), committed when fn returns nil and rolled back otherwise. A
// plain transaction that reads and then writes fails at once with
// "database is locked" when another connection wrote in between (its
// snapshot is stale, so SQLite cannot let it wait); an immediate one waits
// for the lock (the busy timeout) instead.
func WriteTx(ctx context.Context, db *sql.DB, fn func(Tx) error) error {
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return writeTxOn(ctx, conn, fn)
}

// writeTxOn is WriteTx on a connection the caller holds.
func writeTxOn(ctx context.Context, conn *sql.Conn, fn func(Tx) error) (err error) {
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		return err
	}
	defer func() {
		if err == nil {
			return
		}
		if _, rerr := conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK"); rerr != nil {
			// Never hand a connection still inside a transaction back to
			// the pool: ErrBadConn makes database/sql close it.
			conn.Raw(func(any) error { return driver.ErrBadConn })
		}
	}()
	if err := fn(conn); err != nil {
		return err
	}
	_, err = conn.ExecContext(ctx, "COMMIT")
	return err
}
