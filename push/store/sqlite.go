package store

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/kfsidebar/kfsidebar/internal/sqlitedb"
)

// statementCache holds every statement of the reply and delivery paths,
// with room for the IN lists of a few claim and delivery sizes.
const statementCache = 32

// OpenSQLite opens (creating if needed) the gateway's SQLite database at
// path through kfsidebar's one SQLite opener (WAL, file mode 0600), with
// immediate transactions: two gateways may share the file. One
// connection serializes writers in Go's pool instead of in SQLite's
// busy-wait, which sleeps for milliseconds and would spoil the reply
// budget under load; that connection keeps its prepared statements
// (statementCache), and Accept commits the pushes that queue behind one
// transaction in the next (batch.go).
func OpenSQLite(ctx context.Context, path string) (*Store, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("open sqlite: %w", err)
	}
	db, err := sqlitedb.Open(ctx, path, sqlitedb.ImmediateTx(), sqlitedb.StatementCache(statementCache))
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	s, err := Open(ctx, db, SQLite)
	if err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}
