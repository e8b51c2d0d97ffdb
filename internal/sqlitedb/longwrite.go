package sqlitedb

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"time"
)

// A long write is a write transaction that holds the database's write lock
// for seconds: `kfsidebar orders import` of a large file (7.6 s for 50 MB),
// beside a running proxy. Every other writer waits for the lock up to
// BusyTimeoutMillis and then fails with "database is locked", and nobody
// can tell why. So a long write announces itself in the database before it
// takes the lock (AnnounceLongWrite), and withdraws the announcement in its
// own transaction; a short write that should not wait it out (ShortWriteTx)
// then waits only briefly and fails with a *BusyError that names it.
//
// An announcement left by a process killed during its write is harmless:
// all it changes is how long a short write waits when it finds the lock
// held, and what its error says then. The next long write to commit
// clears it (with its own), and one a day old is cleared by the next
// long write to start.

var longWriteSteps = []Step{
	{ID: "create kf_long_writes", Apply: Exec(`
CREATE TABLE kf_long_writes (
	id              INTEGER PRIMARY KEY,
	what            TEXT NOT NULL,
	started_unix_ns INTEGER NOT NULL
)`)},
}

// staleLongWrite is the age past which an announcement is taken to be a
// dead process's.
const staleLongWrite = 24 * time.Hour

// LongWrite is an announced long write; see AnnounceLongWrite.
type LongWrite struct {
	db *sql.DB
	id int64
}

// AnnounceLongWrite says in the database that a long write, what (e.g.
// "orders import"), is about to take the write lock. The caller then runs
// its transaction, calls EndIn inside it before committing, and Close
// after it, whatever happened:
//
//	lw, err := sqlitedb.AnnounceLongWrite(ctx, db, "orders import")
//	…
//	defer lw.Close() // runs after the rollback below: it needs the lock
//	tx, err := db.BeginTx(ctx, nil)
//	defer tx.Rollback()
//	… the writes …
//	lw.EndIn(ctx, tx)
//	tx.Commit()
func AnnounceLongWrite(ctx context.Context, db *sql.DB, what string) (*LongWrite, error) {
	if err := Migrate(ctx, db, "long writes", longWriteSteps); err != nil {
		return nil, fmt.Errorf("announce %s: %w", what, err)
	}
	now := time.Now()
	lw := &LongWrite{db: db}
	err := WriteTx(ctx, db, func(tx Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM kf_long_writes WHERE started_unix_ns < ?`,
			now.Add(-staleLongWrite).UnixNano()); err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, `INSERT INTO kf_long_writes (what, started_unix_ns) VALUES (?, ?) RETURNING id`,
			what, now.UnixNano()).Scan(&lw.id)
	})
	if err != nil {
		return nil, fmt.Errorf("announce %s: %w", what, err)
	}
	return lw, nil
}

// EndIn withdraws the announcement inside tx, the long write's own
// transaction: it goes when tx commits, never while the lock is held.
// Announcements made before this one go too: while tx holds the lock,
// their writes have ended, or their process was killed (or, rarely,
// another long write still waits for the lock, and its short writes wait
// the busy timeout).
func (lw *LongWrite) EndIn(ctx context.Context, tx Tx) error {
	_, err := tx.ExecContext(ctx, `DELETE FROM kf_long_writes WHERE id <= ?`, lw.id)
	return err
}

// Close withdraws the announcement if the transaction EndIn ran in did
// not commit (it failed, or was cancelled); after a commit it only reads.
// Call it once the long write's transaction has ended: it needs the lock.
func (lw *LongWrite) Close() error {
	ctx := context.Background()
	var n int
	if err := lw.db.QueryRowContext(ctx, `SELECT count(*) FROM kf_long_writes WHERE id = ?`, lw.id).Scan(&n); err != nil || n == 0 {
		return err
	}
	return WriteTx(ctx, lw.db, func(tx Tx) error { return lw.EndIn(ctx, tx) })
}

// BusyError is ShortWriteTx's error when an announced long write held the
// write lock: What is its name, Since when it was announced.
type BusyError struct {
	What  string
	Since time.Time
	Err   error // SQLite's own: database is locked
}

func (e *BusyError) Error() string {
	return fmt.Sprintf("database busy: %s running since %s: %v", e.What, e.Since.Format(time.TimeOnly), e.Err)
}

func (e *BusyError) Unwrap() error { return e.Err }

// ShortWriteTx is WriteTx for a short write that should not wait out a
// long write (a reveal the agent waits for). While a long write is
// announced it waits at most wait for the write lock, then fails with a
// *BusyError that names the long write. Otherwise it waits the busy
// timeout, as WriteTx does, and if the database was still locked and a
// long write was announced meanwhile, its error is a *BusyError too.
func ShortWriteTx(ctx context.Context, db *sql.DB, wait time.Duration, fn func(Tx) error) error {
	running, err := runningLongWrite(ctx, db)
	if err != nil || running == nil {
		err := WriteTx(ctx, db, fn)
		if IsBusy(err) {
			if running, _ := runningLongWrite(ctx, db); running != nil {
				running.Err = err
				return running
			}
		}
		return err
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if err := setBusyTimeout(ctx, conn, wait.Milliseconds()); err != nil {
		return err
	}
	defer func() {
		if setBusyTimeout(context.WithoutCancel(ctx), conn, BusyTimeoutMillis) != nil {
			// A connection with another busy timeout than every other
			// must not go back to the pool.
			conn.Raw(func(any) error { return driver.ErrBadConn })
		}
	}()
	err = writeTxOn(ctx, conn, fn)
	if IsBusy(err) {
		running.Err = err
		return running
	}
	return err
}

func setBusyTimeout(ctx context.Context, conn *sql.Conn, ms int64) error {
	_, err := conn.ExecContext(ctx, fmt.Sprintf("PRAGMA busy_timeout = %d", max(ms, 0)))
	return err
}

// runningLongWrite returns the oldest long write announced, or nil.
func runningLongWrite(ctx context.Context, db *sql.DB) (*BusyError, error) {
	var tables int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'kf_long_writes'`).
		Scan(&tables); err != nil || tables == 0 {
		return nil, err
	}
	var (
		what string
		ns   int64
	)
	err := db.QueryRowContext(ctx, `SELECT what, started_unix_ns FROM kf_long_writes ORDER BY started_unix_ns, id LIMIT 1`).
		Scan(&what, &ns)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil, nil
	case err != nil:
		return nil, err
	}
	return &BusyError{What: what, Since: time.Unix(0, ns)}, nil
}
