package store

import (
	"context"
	"fmt"
)

// migrations are the schema's steps, per dialect, applied in order and
// recorded in push_schema; a step is never edited once released, only
// followed by another.
//
// Every push writes a push_seen row, and most an outbox row and a feed
// item, so each index is paid on the reply path. Rows are created in id
// (rowid) order, so the expired ones are a prefix: pruning walks the
// prefix instead of keeping an index on created_ms, except for
// PostgreSQL's push_seen, whose key is the only order it has.
var migrations = map[Dialect][]string{
	SQLite: {
		`CREATE TABLE push_seen (
			key          TEXT PRIMARY KEY,
			content_type TEXT NOT NULL,
			reply        BLOB NOT NULL,
			created_ms   INTEGER NOT NULL
		);
		CREATE TABLE push_outbox (
			id         INTEGER PRIMARY KEY AUTOINCREMENT,
			target     TEXT NOT NULL,
			payload    BLOB NOT NULL,
			attempts   INTEGER NOT NULL,
			next_ms    INTEGER NOT NULL,
			lease_ms   INTEGER NOT NULL DEFAULT 0,
			dead       INTEGER NOT NULL,
			last_error TEXT NOT NULL,
			created_ms INTEGER NOT NULL
		);
		CREATE INDEX push_outbox_due ON push_outbox (target, dead, next_ms);
		CREATE TABLE push_feed (
			id         INTEGER PRIMARY KEY AUTOINCREMENT,
			created_ms INTEGER NOT NULL,
			data       BLOB NOT NULL
		);`,
	},
	Postgres: {
		`CREATE TABLE push_seen (
			key          TEXT PRIMARY KEY,
			content_type TEXT NOT NULL,
			reply        BYTEA NOT NULL,
			created_ms   BIGINT NOT NULL
		);
		CREATE INDEX push_seen_created ON push_seen (created_ms);
		CREATE TABLE push_outbox (
			id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
			target     TEXT NOT NULL,
			payload    BYTEA NOT NULL,
			attempts   INTEGER NOT NULL,
			next_ms    BIGINT NOT NULL,
			lease_ms   BIGINT NOT NULL DEFAULT 0,
			dead       BOOLEAN NOT NULL,
			last_error TEXT NOT NULL,
			created_ms BIGINT NOT NULL
		);
		CREATE INDEX push_outbox_due ON push_outbox (target, dead, next_ms, id);
		CREATE TABLE push_feed (
			id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
			created_ms BIGINT NOT NULL,
			data       BYTEA NOT NULL
		);`,
	},
}

// migrate applies the steps not yet recorded, in one transaction. On
// PostgreSQL an advisory lock makes instances starting together take
// turns; on SQLite the write lock does.
func (s *Store) migrate(ctx context.Context) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	defer tx.Rollback()
	if s.dialect == Postgres {
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(7301452806451019)`); err != nil {
			return fmt.Errorf("migrate: lock: %w", err)
		}
	}
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS push_schema (version INTEGER NOT NULL)`); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	var version int
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM push_schema`).Scan(&version); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	steps := migrations[s.dialect]
	if version > len(steps) {
		return fmt.Errorf("migrate: database schema %d is newer than this gateway's %d: upgrade kfsidebar", version, len(steps))
	}
	for v := version + 1; v <= len(steps); v++ {
		if _, err := tx.ExecContext(ctx, steps[v-1]); err != nil {
			return fmt.Errorf("migrate: step %d: %w", v, err)
		}
		if _, err := tx.ExecContext(ctx, s.q.insertVersion, v); err != nil {
			return fmt.Errorf("migrate: step %d: %w", v, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return nil
}
