package sqlitedb

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
)

func openTemp(t *testing.T) *sql.DB {
	t.Helper()
	return openPath(t, filepath.Join(t.TempDir(), "kf.db"))
}

func openPath(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// logStep is a step that notes in step_log every time it runs.
func logStep(id string) Step {
	return Step{ID: id, Apply: func(ctx context.Context, tx Tx) error {
		if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS step_log (id TEXT NOT NULL)`); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO step_log (id) VALUES (?)`, id)
		return err
	}}
}

// ran lists the steps that ran, in order, as step_log has them.
func ran(t *testing.T, db *sql.DB) []string {
	t.Helper()
	rows, err := db.Query(`SELECT id FROM step_log ORDER BY rowid`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	return ids
}

func applied(t *testing.T, db *sql.DB, store string) []string {
	t.Helper()
	ids, err := Applied(context.Background(), db, store)
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

func TestMigrateAppliesEachStepOnce(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "kf.db")
	db := openPath(t, path)
	steps := []Step{logStep("one"), logStep("two")}
	for range 2 {
		if err := Migrate(ctx, db, "a", steps); err != nil {
			t.Fatal(err)
		}
	}
	// Another store's steps are its own, even with the same IDs.
	if err := Migrate(ctx, db, "b", []Step{logStep("one")}); err != nil {
		t.Fatal(err)
	}
	// A restart with one step more applies only that one.
	db.Close()
	db = openPath(t, path)
	if err := Migrate(ctx, db, "a", append(steps, logStep("three"))); err != nil {
		t.Fatal(err)
	}
	if got, want := ran(t, db), []string{"one", "two", "one", "three"}; !slices.Equal(got, want) {
		t.Errorf("steps ran %q, want %q", got, want)
	}
	if got, want := applied(t, db, "a"), []string{"one", "two", "three"}; !slices.Equal(got, want) {
		t.Errorf("store a applied %q, want %q", got, want)
	}
	if got, want := applied(t, db, "b"), []string{"one"}; !slices.Equal(got, want) {
		t.Errorf("store b applied %q, want %q", got, want)
	}
}

func TestMigrateFailedStepLeavesNoTrace(t *testing.T) {
	ctx := context.Background()
	db := openTemp(t)
	boom := errors.New("boom")
	failing := Step{ID: "two", Apply: func(ctx context.Context, tx Tx) error {
		if _, err := tx.ExecContext(ctx, `CREATE TABLE half_done (x)`); err != nil {
			return err
		}
		return boom
	}}
	err := Migrate(ctx, db, "a", []Step{logStep("one"), failing, logStep("three")})
	if !errors.Is(err, boom) || !strings.Contains(err.Error(), `migrate a: step "two"`) {
		t.Fatalf("Migrate = %v, want boom naming the store and step", err)
	}
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM sqlite_master WHERE name = 'half_done'`).Scan(&n); err != nil || n != 0 {
		t.Errorf("the failed step's table exists (%d, %v)", n, err)
	}
	if got := applied(t, db, "a"); !slices.Equal(got, []string{"one"}) {
		t.Errorf("applied %q, want only the step before the failure", got)
	}
	// Fixed, it runs, and so does the step after it.
	if err := Migrate(ctx, db, "a", []Step{logStep("one"), logStep("two"), logStep("three")}); err != nil {
		t.Fatal(err)
	}
	if got, want := ran(t, db), []string{"one", "two", "three"}; !slices.Equal(got, want) {
		t.Errorf("steps ran %q, want %q", got, want)
	}
}

func TestMigrateRejectsBadSteps(t *testing.T) {
	db := openTemp(t)
	for _, steps := range [][]Step{
		{logStep("one"), logStep("one")},
		{logStep(" ")},
		{{ID: "no apply"}},
	} {
		if err := Migrate(context.Background(), db, "a", steps); err == nil {
			t.Errorf("Migrate(%v) = nil, want an error", steps)
		}
	}
}

// TestMigrateConcurrently opens the same file twice, as two processes do
// (kfsidebar run and an orders import): every step still runs once.
func TestMigrateConcurrently(t *testing.T) {
	path := filepath.Join(t.TempDir(), "kf.db")
	steps := []Step{logStep("one"), logStep("two"), logStep("three")}
	dbs := []*sql.DB{openPath(t, path), openPath(t, path), openPath(t, path)}
	var wg sync.WaitGroup
	errs := make([]error, len(dbs))
	for i, db := range dbs {
		wg.Go(func() { errs[i] = Migrate(context.Background(), db, "a", steps) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	if got, want := ran(t, dbs[0]), []string{"one", "two", "three"}; !slices.Equal(got, want) {
		t.Errorf("steps ran %q, want %q", got, want)
	}
}

func TestMigrateReadOnly(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "kf.db")
	steps := []Step{logStep("one")}
	if err := Migrate(ctx, openPath(t, path), "a", steps); err != nil {
		t.Fatal(err)
	}
	ro, err := OpenReadOnly(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	if err := Migrate(ctx, ro, "a", steps); err != nil {
		t.Errorf("an up-to-date read-only database: %v", err)
	}
	if err := Migrate(ctx, ro, "a", append(steps, logStep("two"))); err == nil {
		t.Error("a read-only database took a new step")
	}
}

func TestAddColumn(t *testing.T) {
	ctx := context.Background()
	db := openTemp(t)
	if _, err := db.Exec(`CREATE TABLE t (a TEXT); CREATE TABLE u (a TEXT, b INTEGER NOT NULL DEFAULT 7)`); err != nil {
		t.Fatal(err)
	}
	err := Migrate(ctx, db, "a", []Step{
		{ID: "t.b", Apply: AddColumn("t", "b", "INTEGER NOT NULL DEFAULT 7")},
		{ID: "u.b", Apply: AddColumn("u", "b", "INTEGER NOT NULL DEFAULT 7")}, // there already
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, table := range []string{"t", "u"} {
		if _, err := db.Exec(`INSERT INTO ` + table + ` (a) VALUES ('x')`); err != nil {
			t.Fatal(err)
		}
		var b int
		if err := db.QueryRow(`SELECT b FROM ` + table).Scan(&b); err != nil || b != 7 {
			t.Errorf("%s.b = %d, %v; want the default 7", table, b, err)
		}
	}
}

func TestExec(t *testing.T) {
	db := openTemp(t)
	err := Migrate(context.Background(), db, "a", []Step{{ID: "tables", Apply: Exec(
		`CREATE TABLE IF NOT EXISTS t (a)`, `CREATE INDEX IF NOT EXISTS t_a ON t (a)`)}})
	if err != nil {
		t.Fatal(err)
	}
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM sqlite_master WHERE name IN ('t', 't_a')`).Scan(&n); err != nil || n != 2 {
		t.Errorf("%d of the table and index, %v", n, err)
	}
}
