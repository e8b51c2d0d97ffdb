//go:build !cgo

package sqlitedb

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
)

// TestOpenWithoutCgo: without cgo, Open says what to install instead of
// go-sqlite3's "This is a stub" (.ci/run runs it with CGO_ENABLED=0).
func TestOpenWithoutCgo(t *testing.T) {
	_, err := Open(context.Background(), filepath.Join(t.TempDir(), "kf.db"))
	if !errors.Is(err, ErrNoSQLite) {
		t.Fatalf("Open = %v, want ErrNoSQLite", err)
	}
}
