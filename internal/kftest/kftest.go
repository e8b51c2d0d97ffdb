// Package kftest is the test scaffolding every package of kfsidebar
// shares, the way net/http/httptest serves net/http: one logger that
// writes to the test's log, one poll helper, one golden-file helper, and
// the guards of tests that would change a real Windows' settings or need
// Unix (RealWindowsSettings, SkipOnWindows). It is imported by tests only.
package kftest

import (
	"bytes"
	"flag"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata with the current output")

// Logger returns a logger that writes every record, Debug included, to the
// test's log, so a failing test shows what the code said. Records logged
// after the test's cleanup (by a server still shutting down) are dropped:
// the testing package does not allow them.
func Logger(tb testing.TB) *slog.Logger { return LevelLogger(tb, slog.LevelDebug) }

// LevelLogger is Logger for records at level and above, for tests whose
// Debug records would drown the log.
func LevelLogger(tb testing.TB, level slog.Level) *slog.Logger {
	w := &testWriter{tb: tb}
	tb.Cleanup(func() {
		w.mu.Lock()
		defer w.mu.Unlock()
		w.done = true
	})
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level}))
}

// testWriter writes lines to the test's log until the test is done.
type testWriter struct {
	mu   sync.Mutex
	tb   testing.TB
	done bool
}

func (w *testWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.done {
		w.tb.Helper()
		w.tb.Log(strings.TrimRight(string(p), "\n"))
	}
	return len(p), nil
}

// PollTimeout is how long Poll waits before it fails the test: long enough
// for a loaded CI machine, short enough that a hang is seen.
const PollTimeout = 10 * time.Second

// Poll waits until cond holds, checking every few milliseconds, and fails
// the test after PollTimeout. Tests wait with it instead of sleeping.
func Poll(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(PollTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Golden compares got with the file testdata/name, or rewrites that file
// when the test runs with -update.
func Golden(tb testing.TB, name string, got []byte) {
	tb.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			tb.Fatalf("update golden: %v", err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		tb.Fatalf("read golden (run go test -update to create it): %v", err)
	}
	if !bytes.Equal(got, want) {
		tb.Errorf("%s differs (go test -update rewrites it)\n--- got:\n%s\n--- want:\n%s", path, got, want)
	}
}
