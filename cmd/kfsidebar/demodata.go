package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// demoMarker marks a data directory as the demo's own: only there does
// the demo start each run from no chats.
const demoMarker = ".kfsidebar-demo"

// freshDemoData makes each demo run start as the first one did: the chats
// learned, the bindings made, the reveals and the demo gateway's pushes of
// the last run are removed; the CA (which the browser may trust by now) and
// the browser profile stay. It does so only in a directory the demo made
// (its default one, or one it found empty); kept says a directory with kfsidebar's data in it that
// the demo did not make was left as it is, so that `demo --data-dir` on a
// real data directory never loses its chats.
func freshDemoData(dir string, isDefault bool) (kept bool, err error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return false, fmt.Errorf("demo data directory: %w", err)
	}
	marker := filepath.Join(dir, demoMarker)
	if _, err := os.Stat(marker); errors.Is(err, fs.ErrNotExist) {
		if _, err := os.Stat(filepath.Join(dir, dbFile)); err == nil && !isDefault {
			return true, nil
		}
		if err := os.WriteFile(marker, []byte("kfsidebar demo: chats and pushes start fresh on every run\n"), 0o600); err != nil {
			return false, fmt.Errorf("demo data directory: %w", err)
		}
	} else if err != nil {
		return false, fmt.Errorf("demo data directory: %w", err)
	}
	for _, db := range []string{dbFile, gatewayDBFile} {
		for _, suffix := range []string{"", "-wal", "-shm", "-journal"} {
			if err := os.Remove(filepath.Join(dir, db+suffix)); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return false, fmt.Errorf("start the demo afresh: %w", err)
			}
		}
	}
	return false, nil
}
