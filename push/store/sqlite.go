package store

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/kfsidebar/kfsidebar/internal/sqlitedb"
)

// statementCache holds every statement of the reply and delivery paths,
// with room for the IN lists of a few claim and delivery sizes.
const statementCache = 32

// checkpointEvery is how often the WAL is copied back into the database.
const checkpointEvery = 250 * time.Millisecond

// OpenSQLite opens (creating if needed) the gateway's SQLite database at
// path through kfsidebar's one SQLite opener (WAL, file mode 0600), with
// immediate transactions: two gateways may share the file. One
// connection serializes writers in Go's pool instead of in SQLite's
// busy-wait, which sleeps for milliseconds and would spoil the reply
// budget under load; that connection keeps its prepared statements
// (statementCache), and Accept commits the pushes that queue behind one
// transaction in the next (batch.go).
//
// That connection never checkpoints: SQLite would otherwise copy the WAL
// into the database, and sync it, inside whichever commit crossed a
// thousand pages, a reply's. A second connection does it in the
// background every checkpointEvery, without holding up the writer.
func OpenSQLite(ctx context.Context, path string) (*Store, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("open sqlite: %w", err)
	}
	db, err := sqlitedb.Open(ctx, path, sqlitedb.ImmediateTx(), sqlitedb.StatementCache(statementCache))
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	ckpt, err := sqlitedb.Open(ctx, path)
	if err != nil {
		db.Close()
		return nil, err
	}
	ckpt.SetMaxOpenConns(1)
	s, err := Open(ctx, db, SQLite)
	if err != nil {
		ckpt.Close()
		db.Close()
		return nil, err
	}
	// A setting of the connection: should the pool ever replace it, the
	// new one checkpoints by itself again, which costs time, not data.
	if _, err := db.ExecContext(ctx, `PRAGMA wal_autocheckpoint = 0`); err != nil {
		ckpt.Close()
		s.Close()
		return nil, fmt.Errorf("open sqlite: %w", err)
	}
	stop, stopped := make(chan struct{}), make(chan struct{})
	go checkpoints(ckpt, stop, stopped)
	s.stopBackground = func() {
		close(stop)
		<-stopped
		ckpt.Close()
	}
	return s, nil
}

// checkpoints copies the WAL into the database until stop is closed. A
// passive checkpoint copies what no reader still needs and never waits
// for the writer; the writer starts the WAL afresh once it is all copied.
// The connection that closes the database last checkpoints what is left.
func checkpoints(db *sql.DB, stop <-chan struct{}, stopped chan<- struct{}) {
	defer close(stopped)
	tick := time.NewTicker(checkpointEvery)
	defer tick.Stop()
	for {
		select {
		case <-stop:
			return
		case <-tick.C:
		}
		// A failure (the disk full, say) is the writer's to report; the
		// next tick tries again.
		db.Exec(`PRAGMA wal_checkpoint(PASSIVE)`)
	}
}
