//go:build cgo

package sqlitedb

import (
	"errors"

	"github.com/mattn/go-sqlite3"
)

// Available reports whether this build has SQLite (see ErrNoSQLite).
const Available = true

// IsBusy reports whether err is SQLite's "database is locked": another
// connection held the write lock for longer than the busy timeout.
func IsBusy(err error) bool {
	se, ok := errors.AsType[sqlite3.Error](err)
	return ok && (se.Code == sqlite3.ErrBusy || se.Code == sqlite3.ErrLocked)
}
