//go:build !cgo

package sqlitedb

// Available reports whether this build has SQLite: not without cgo (see
// ErrNoSQLite).
const Available = false
