package sqlitedb

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"
)

// Step is one change to a store's tables. Its ID names it forever: a step
// is applied once per database and recorded under its ID, so a released
// step is never renamed, reordered or edited; a later change is a new step
// at the end.
//
// The first steps of a store that existed before migrations were recorded
// meet databases that already have its tables but no record of them, so
// they must be idempotent: CREATE … IF NOT EXISTS, AddColumn.
type Step struct {
	ID    string
	Apply func(ctx context.Context, tx Tx) error
}

// migrationsTable records every step applied to the database, per store.
const migrationsTable = `CREATE TABLE IF NOT EXISTS kf_migrations (
	store      TEXT NOT NULL,
	id         TEXT NOT NULL,
	applied_at TEXT NOT NULL,
	PRIMARY KEY (store, id)
)`

// Migrate applies the steps of store that the database has no record of,
// in order, each in its own write transaction together with its record:
// a step that fails leaves no trace, and the steps before it stay applied.
// Two processes opening the same database at once apply each step once:
// the second finds the first's record after waiting for its lock. A
// database whose steps are all recorded is only read, so a read-only
// database opens as long as it is up to date. Steps the database has but
// steps does not (a newer kfsidebar's) are left alone.
func Migrate(ctx context.Context, db *sql.DB, store string, steps []Step) error {
	ids := make(map[string]bool, len(steps))
	for _, s := range steps {
		if strings.TrimSpace(s.ID) == "" || ids[s.ID] || s.Apply == nil {
			return fmt.Errorf("migrate %s: step %q: every step needs an Apply and an ID of its own", store, s.ID)
		}
		ids[s.ID] = true
	}
	if _, err := db.ExecContext(ctx, migrationsTable); err != nil {
		return fmt.Errorf("migrate %s: %w", store, err)
	}
	applied, err := Applied(ctx, db, store)
	if err != nil {
		return fmt.Errorf("migrate %s: %w", store, err)
	}
	done := make(map[string]bool, len(applied))
	for _, id := range applied {
		done[id] = true
	}
	for _, s := range steps {
		if done[s.ID] {
			continue
		}
		err := WriteTx(ctx, db, func(tx Tx) error {
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM kf_migrations WHERE store = ? AND id = ?`,
				store, s.ID).Scan(&n); err != nil || n > 0 {
				return err // another process applied it meanwhile
			}
			if err := s.Apply(ctx, tx); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, `INSERT INTO kf_migrations (store, id, applied_at) VALUES (?, ?, ?)`,
				store, s.ID, time.Now().UTC().Format(time.RFC3339))
			return err
		})
		if err != nil {
			return fmt.Errorf("migrate %s: step %q: %w", store, s.ID, err)
		}
	}
	return nil
}

// Applied lists the IDs of the steps of store the database has applied, in
// the order they were applied.
func Applied(ctx context.Context, db *sql.DB, store string) ([]string, error) {
	rows, err := db.QueryContext(ctx, `SELECT id FROM kf_migrations WHERE store = ? ORDER BY rowid`, store)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// Exec is a step's Apply that runs the statements in order.
func Exec(stmts ...string) func(context.Context, Tx) error {
	return func(ctx context.Context, tx Tx) error {
		for _, stmt := range stmts {
			if _, err := tx.ExecContext(ctx, stmt); err != nil {
				return err
			}
		}
		return nil
	}
}

// AddColumn is a step's Apply that adds the column to the table unless the
// table has it already (a database made before the step was recorded). decl
// is the column's type and constraints, e.g. "INTEGER NOT NULL DEFAULT 0".
// Table, column and decl are the store's constants, never input.
func AddColumn(table, column, decl string) func(context.Context, Tx) error {
	return func(ctx context.Context, tx Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM pragma_table_info(?) WHERE name = ?`,
			table, column).Scan(&n); err != nil || n > 0 {
			return err
		}
		_, err := tx.ExecContext(ctx, "ALTER TABLE "+table+" ADD COLUMN "+column+" "+decl)
		return err
	}
}
