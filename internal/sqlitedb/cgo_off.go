//go:build !cgo

package sqlitedb

// Available reports whether this build has SQLite: not without cgo (see
// ErrNoSQLite).
const Available = false

// IsBusy reports whether err is SQLite's "database is locked"; without
// SQLite nothing is.
func IsBusy(error) bool { return false }
