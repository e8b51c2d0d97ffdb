// Package store keeps the push gateway's durable state (the replies given,
// for dedupe; the outbox; the workstation feed) in SQLite, the default for
// one gateway, or in PostgreSQL, for several instances behind one URL:
// there a unique key decides which instance records a push, and outbox
// rows are claimed with FOR UPDATE SKIP LOCKED so no two instances
// deliver the same row at once and none waits for another.
//
// It talks to both through database/sql and imports no PostgreSQL driver:
// the caller opens the *sql.DB (with pgx's "pgx" driver, which the layout
// keeps in one package of the module) and hands it to Open. SQLite's
// opener is in sqlite.go, through internal/sqlitedb.
package store

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/kfsidebar/kfsidebar/push"
)

// Dialect is the SQL flavour of the database behind a Store.
type Dialect int

// The two supported databases.
const (
	SQLite Dialect = iota + 1
	Postgres
)

// String returns "sqlite" or "postgres".
func (d Dialect) String() string {
	switch d {
	case SQLite:
		return "sqlite"
	case Postgres:
		return "postgres"
	}
	return "unknown"
}

// ErrDialect is an Open with a dialect it does not know.
var ErrDialect = errors.New("unknown store dialect")

// Store is a push.Store on SQLite or PostgreSQL.
type Store struct {
	db      *sql.DB
	dialect Dialect
	q       queries
	// SQLite's group commit (batch.go): Accept hands pushes to the
	// writer goroutine through accepts; nil on PostgreSQL.
	accepts   chan *acceptReq
	quit      chan struct{} // closed by Close
	written   chan struct{} // closed when the writer has stopped
	closeOnce sync.Once
	// stopBackground stops what OpenSQLite started besides (checkpoints).
	stopBackground func()
}

var _ push.Store = (*Store)(nil)

// Open makes a Store of db, creating or upgrading its tables (all named
// push_*). The Store owns db from then on: Close closes it. For PostgreSQL,
// open db with pgx's database/sql driver, e.g.
//
//	import _ "github.com/jackc/pgx/v5/stdlib"
//	db, err := sql.Open("pgx", dsn)
//	st, err := store.Open(ctx, db, store.Postgres)
func Open(ctx context.Context, db *sql.DB, d Dialect) (*Store, error) {
	if d != SQLite && d != Postgres {
		return nil, fmt.Errorf("open store: %w %d", ErrDialect, d)
	}
	s := &Store{db: db, dialect: d, q: newQueries(d)}
	if err := s.migrate(ctx); err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	s.quit = make(chan struct{})
	if d == SQLite {
		s.accepts, s.written = make(chan *acceptReq), make(chan struct{})
		go s.writer()
	}
	return s, nil
}

// Close stops the group commit, failing Accepts not yet in a batch with
// ErrClosed, and closes the database.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		close(s.quit)
		if s.written != nil {
			<-s.written
		}
		if s.stopBackground != nil {
			s.stopBackground()
		}
	})
	return s.db.Close()
}

// DB returns the database, for the status page's health check and tests.
func (s *Store) DB() *sql.DB { return s.db }

// Accept implements push.Store. On SQLite the pushes accepted while
// another batch commits are committed together (see groupCommit); on
// PostgreSQL each push has a transaction of its own, on a connection of
// the pool.
func (s *Store) Accept(ctx context.Context, a *push.Accepted) (push.Reply, bool, error) {
	if s.accepts != nil {
		return s.groupCommit(ctx, a)
	}
	return s.acceptTx(ctx, a)
}

// acceptTx records one push in a transaction of its own.
func (s *Store) acceptTx(ctx context.Context, a *push.Accepted) (push.Reply, bool, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return push.Reply{}, false, fmt.Errorf("accept: %w", err)
	}
	defer tx.Rollback()
	reply, dup, err := s.acceptIn(ctx, tx, a)
	if err != nil {
		return push.Reply{}, false, err
	}
	if err := tx.Commit(); err != nil {
		return push.Reply{}, false, fmt.Errorf("accept: %w", err)
	}
	return reply, dup, nil
}

// acceptIn records a push in tx: its reply under its key, its outbox rows
// and its feed item; or, when the key is there already, nothing, and it
// returns the reply stored with the key.
func (s *Store) acceptIn(ctx context.Context, tx *sql.Tx, a *push.Accepted) (push.Reply, bool, error) {
	at := ms(a.At)
	res, err := tx.ExecContext(ctx, s.q.insertSeen, a.Key, a.Reply.ContentType, a.Reply.Body, at)
	if err != nil {
		return push.Reply{}, false, fmt.Errorf("accept: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return push.Reply{}, false, fmt.Errorf("accept: %w", err)
	} else if n == 0 {
		var r push.Reply
		if err := tx.QueryRowContext(ctx, s.q.selectSeen, a.Key).Scan(&r.ContentType, &r.Body); err != nil {
			return push.Reply{}, false, fmt.Errorf("accept: duplicate: %w", err)
		}
		return r, true, nil
	}
	for _, t := range a.Targets {
		if _, err := tx.ExecContext(ctx, s.q.insertOutbox, t, a.Payload, at, at); err != nil {
			return push.Reply{}, false, fmt.Errorf("accept: outbox: %w", err)
		}
	}
	if a.Feed != nil {
		if _, err := tx.ExecContext(ctx, s.q.insertFeed, at, a.Feed); err != nil {
			return push.Reply{}, false, fmt.Errorf("accept: feed: %w", err)
		}
	}
	return a.Reply, false, nil
}

// Claim implements push.Store.
func (s *Store) Claim(ctx context.Context, target string, now, leaseUntil time.Time, limit int) ([]push.Delivery, error) {
	var (
		ds  []push.Delivery
		err error
	)
	if s.dialect == Postgres {
		ds, err = s.claimReturning(ctx, target, now, leaseUntil, limit)
	} else {
		ds, err = s.claimSelectUpdate(ctx, target, now, leaseUntil, limit)
	}
	if err != nil {
		return nil, fmt.Errorf("claim: %w", err)
	}
	return ds, nil
}

// claimReturning leases and reads the rows in one statement; FOR UPDATE
// SKIP LOCKED in it passes over rows another instance is claiming.
func (s *Store) claimReturning(ctx context.Context, target string, now, leaseUntil time.Time, limit int) ([]push.Delivery, error) {
	rows, err := s.db.QueryContext(ctx, s.q.claim, ms(leaseUntil), target, ms(now), limit)
	if err != nil {
		return nil, err
	}
	return scanDeliveries(rows)
}

// claimSelectUpdate reads the due rows and leases them in one write
// transaction (SQLite's lock makes it atomic). On SQLite this costs a
// fraction of UPDATE … RETURNING through the driver, which steps a
// writing statement as a query.
func (s *Store) claimSelectUpdate(ctx context.Context, target string, now, leaseUntil time.Time, limit int) ([]push.Delivery, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	rows, err := tx.QueryContext(ctx, s.q.due, target, ms(now), limit)
	if err != nil {
		return nil, err
	}
	ds, err := scanDeliveries(rows)
	if err != nil || len(ds) == 0 {
		return nil, err
	}
	args := []any{ms(leaseUntil)}
	for i := range ds {
		ds[i].Attempts++
		args = append(args, ds[i].ID)
	}
	if _, err := tx.ExecContext(ctx, s.q.lease+s.q.list(2, len(ds)), args...); err != nil {
		return nil, err
	}
	return ds, tx.Commit()
}

// Delivered implements push.Store.
func (s *Store) Delivered(ctx context.Context, ids ...int64) error {
	if len(ids) == 0 {
		return nil
	}
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	if _, err := s.db.ExecContext(ctx, s.q.deleteOutbox+s.q.list(1, len(ids)), args...); err != nil {
		return fmt.Errorf("delivered: %w", err)
	}
	return nil
}

// Retry implements push.Store.
func (s *Store) Retry(ctx context.Context, id int64, next time.Time, lastErr string) error {
	if _, err := s.db.ExecContext(ctx, s.q.retry, ms(next), truncate(lastErr), id); err != nil {
		return fmt.Errorf("retry: %w", err)
	}
	return nil
}

// Bury implements push.Store.
func (s *Store) Bury(ctx context.Context, id int64, lastErr string) error {
	if _, err := s.db.ExecContext(ctx, s.q.bury, truncate(lastErr), id); err != nil {
		return fmt.Errorf("bury: %w", err)
	}
	return nil
}

// DeadLetters implements push.Store.
func (s *Store) DeadLetters(ctx context.Context, target string, limit int) ([]push.Delivery, error) {
	rows, err := s.db.QueryContext(ctx, s.q.dead, target, limit)
	if err != nil {
		return nil, fmt.Errorf("dead letters: %w", err)
	}
	ds, err := scanDeliveries(rows)
	if err != nil {
		return nil, fmt.Errorf("dead letters: %w", err)
	}
	for i := range ds {
		ds[i].Dead = true
	}
	return ds, nil
}

// Replay implements push.Store.
func (s *Store) Replay(ctx context.Context, target string, ids []int64, now time.Time) (int, error) {
	query, args := s.q.replay, []any{ms(now), target}
	if len(ids) > 0 {
		for _, id := range ids {
			args = append(args, id)
		}
		query += " AND id IN " + s.q.list(3, len(ids))
	}
	res, err := s.db.ExecContext(ctx, query, args...)
	if err != nil {
		return 0, fmt.Errorf("replay: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("replay: %w", err)
	}
	return int(n), nil
}

// Depth implements push.Store.
func (s *Store) Depth(ctx context.Context) (map[string]push.Depth, error) {
	rows, err := s.db.QueryContext(ctx, s.q.depth)
	if err != nil {
		return nil, fmt.Errorf("depth: %w", err)
	}
	defer rows.Close()
	m := map[string]push.Depth{}
	for rows.Next() {
		var (
			target string
			dead   bool
			n      int
		)
		if err := rows.Scan(&target, &dead, &n); err != nil {
			return nil, fmt.Errorf("depth: %w", err)
		}
		d := m[target]
		if dead {
			d.Dead += n
		} else {
			d.Pending += n
		}
		m[target] = d
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("depth: %w", err)
	}
	return m, nil
}

// FeedAfter implements push.Store.
func (s *Store) FeedAfter(ctx context.Context, after int64, since time.Time, limit int) ([]push.FeedItem, error) {
	rows, err := s.db.QueryContext(ctx, s.q.feed, after, ms(since), limit)
	if err != nil {
		return nil, fmt.Errorf("feed: %w", err)
	}
	defer rows.Close()
	var items []push.FeedItem
	for rows.Next() {
		var (
			it      push.FeedItem
			created int64
		)
		if err := rows.Scan(&it.ID, &created, &it.Data); err != nil {
			return nil, fmt.Errorf("feed: %w", err)
		}
		it.Created = time.UnixMilli(created)
		items = append(items, it)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("feed: %w", err)
	}
	return items, nil
}

// Prune implements push.Store.
func (s *Store) Prune(ctx context.Context, seenBefore, feedBefore time.Time) error {
	if _, err := s.db.ExecContext(ctx, s.q.pruneSeen, ms(seenBefore)); err != nil {
		return fmt.Errorf("prune: %w", err)
	}
	if _, err := s.db.ExecContext(ctx, s.q.pruneFeed, ms(feedBefore)); err != nil {
		return fmt.Errorf("prune: %w", err)
	}
	return nil
}

func scanDeliveries(rows *sql.Rows) ([]push.Delivery, error) {
	defer rows.Close()
	var ds []push.Delivery
	for rows.Next() {
		var (
			d       push.Delivery
			created int64
		)
		if err := rows.Scan(&d.ID, &d.Target, &d.Payload, &d.Attempts, &d.LastError, &created); err != nil {
			return nil, err
		}
		d.Created = time.UnixMilli(created)
		ds = append(ds, d)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	// RETURNING has no order; deliver oldest first.
	slices.SortFunc(ds, func(a, b push.Delivery) int { return cmp.Compare(a.ID, b.ID) })
	return ds, nil
}

// ms is the stored form of a time: unix milliseconds, the same in both
// databases.
func ms(t time.Time) int64 { return t.UnixMilli() }

// truncate bounds a stored error message.
func truncate(s string) string {
	const max = 500
	if len(s) <= max {
		return s
	}
	return strings.ToValidUTF8(s[:max], "")
}
