package main

import (
	"os"
	"path/filepath"
	"testing"
)

// TestFreshDemoData: each demo run starts with no chats, bindings or
// pushes of the last one, keeping the CA and the browser profile; a data
// directory the demo did not make (a real one passed with --data-dir)
// loses nothing.
func TestFreshDemoData(t *testing.T) {
	write := func(dir string, names ...string) {
		t.Helper()
		for _, n := range names {
			p := filepath.Join(dir, n)
			if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, []byte("x"), 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	exists := func(p string) bool { _, err := os.Stat(p); return err == nil }
	runs := []string{dbFile, dbFile + "-wal", dbFile + "-shm", gatewayDBFile, gatewayDBFile + "-wal"}
	stays := []string{"ca.pem", "ca-key.pem", "browser-profile/Default/Preferences"}

	demo := filepath.Join(t.TempDir(), "kfsidebar-demo")
	if kept, err := freshDemoData(demo, false); err != nil || kept {
		t.Fatalf("first run: kept %v, %v", kept, err)
	}
	write(demo, append(runs, stays...)...)
	if kept, err := freshDemoData(demo, false); err != nil || kept {
		t.Fatalf("second run: kept %v, %v", kept, err)
	}
	for _, n := range runs {
		if exists(filepath.Join(demo, n)) {
			t.Errorf("%s of the last run is still there", n)
		}
	}
	for _, n := range stays {
		if !exists(filepath.Join(demo, n)) {
			t.Errorf("%s was removed", n)
		}
	}

	real := t.TempDir()
	write(real, append(runs, stays...)...)
	if kept, err := freshDemoData(real, false); err != nil || !kept {
		t.Fatalf("a real data directory: kept %v, %v; want it kept", kept, err)
	}
	for _, n := range append(runs, stays...) {
		if !exists(filepath.Join(real, n)) {
			t.Errorf("a real data directory lost %s", n)
		}
	}
	if exists(filepath.Join(real, demoMarker)) {
		t.Error("a real data directory was marked as the demo's")
	}

	// The default demo directory of a version before the marker.
	old := t.TempDir()
	write(old, runs...)
	if kept, err := freshDemoData(old, true); err != nil || kept || exists(filepath.Join(old, dbFile)) {
		t.Fatalf("the default demo directory: kept %v, %v; want it fresh", kept, err)
	}
}
