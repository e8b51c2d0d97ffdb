//go:build cgo

package sqlitedb

// Available reports whether this build has SQLite (see ErrNoSQLite).
const Available = true
