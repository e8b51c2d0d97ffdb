package main

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"

	"github.com/kfsidebar/kfsidebar/internal/sqlitedb"
)

// dbFile is the SQLite database in the data directory: the chat users the
// proxy learned and the embedded order backend.
const dbFile = "kfsidebar.db"

// openDB opens (creating if needed) the SQLite database in dir, as every
// store of it expects (sqlitedb.Open: WAL lets the sidebar read while the
// proxy writes; the busy timeout rides out the short write locks).
func openDB(ctx context.Context, dir string) (*sql.DB, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	return sqlitedb.Open(ctx, filepath.Join(dir, dbFile))
}
