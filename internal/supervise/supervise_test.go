package supervise

import (
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/kfsidebar/kfsidebar/internal/kftest"
)

// childEnv makes the test binary play the supervised child (TestMain):
// "serve" writes the ready file and runs until its standard input
// closes; "die" writes it and exits 1 at once; "stuck" writes it and
// ignores its standard input; "mute" never writes it; "short" serves for
// 300 ms, then exits 1.
const childEnv = "SUPERVISE_TEST_CHILD"

func TestMain(m *testing.M) {
	mode := os.Getenv(childEnv)
	if mode == "" {
		os.Exit(m.Run())
	}
	ready := os.Args[len(os.Args)-1]
	if mode != "mute" {
		os.WriteFile(ready+".tmp", []byte("127.0.0.1:1\n"), 0o600)
		os.Rename(ready+".tmp", ready)
	}
	switch mode {
	case "die":
		os.Exit(1)
	case "short":
		time.Sleep(300 * time.Millisecond)
		os.Exit(1)
	case "stuck", "mute":
		time.Sleep(time.Hour) // not select{}: the runtime would call that a deadlock
	}
	io.Copy(io.Discard, os.Stdin)
	os.Exit(0)
}

// exits records OnExit calls.
type exits struct {
	mu     sync.Mutex
	errs   []error
	delays []time.Duration
	starts []time.Time
}

func (e *exits) onExit(err error, d time.Duration) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.errs = append(e.errs, err)
	e.delays = append(e.delays, d)
}

func (e *exits) onReady(string, int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.starts = append(e.starts, time.Now())
}

func (e *exits) count() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.delays)
}

func config(t *testing.T, mode string, rec *exits) Config {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	ready := filepath.Join(t.TempDir(), "ready")
	return Config{
		Command: func() *exec.Cmd {
			cmd := exec.Command(self, ready)
			cmd.Env = append(os.Environ(), childEnv+"="+mode)
			return cmd
		},
		ReadyFile:    ready,
		StartTimeout: 5 * time.Second,
		MinBackoff:   50 * time.Millisecond,
		MaxBackoff:   400 * time.Millisecond,
		Stable:       time.Minute,
		StopTimeout:  10 * time.Second,
		OnReady:      rec.onReady,
		OnExit:       rec.onExit,
		Logger:       kftest.Logger(t),
	}
}

// runUntil runs the supervisor until done says so (or kftest.PollTimeout), then stops it
// and returns how long the stop took.
func runUntil(t *testing.T, cfg Config, done func() bool) time.Duration {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ret := make(chan error, 1)
	go func() { ret <- Run(ctx, cfg) }()
	kftest.Poll(t, "the supervisor to get there", done)
	start := time.Now()
	cancel()
	if err := <-ret; err != nil {
		t.Fatal(err)
	}
	return time.Since(start)
}

// TestBackoffGrows: a child that dies at once is started again after 50,
// 100, 200, 400, 400 ms: doubling, capped.
func TestBackoffGrows(t *testing.T) {
	rec := &exits{}
	runUntil(t, config(t, "die", rec), func() bool { return rec.count() >= 6 })
	want := []time.Duration{50, 100, 200, 400, 400}
	for i, w := range want {
		if rec.delays[i] != w*time.Millisecond {
			t.Fatalf("restart delays %v, want %v ms first", rec.delays, want)
		}
	}
	// The restarts really waited: the gap between two starts is at
	// least the backoff announced between them.
	rec.mu.Lock()
	defer rec.mu.Unlock()
	for i := 1; i < len(rec.starts) && i < len(want); i++ {
		if gap := rec.starts[i].Sub(rec.starts[i-1]); gap < rec.delays[i-1] {
			t.Errorf("start %d came %v after the one before, backoff was %v", i, gap, rec.delays[i-1])
		}
	}
}

// TestStableResetsBackoff: a child that served for Stable before dying is
// started again after the shortest wait.
func TestStableResetsBackoff(t *testing.T) {
	rec := &exits{}
	cfg := config(t, "short", rec)
	cfg.Stable = 200 * time.Millisecond
	runUntil(t, cfg, func() bool { return rec.count() >= 3 })
	for _, d := range rec.delays[:3] {
		if d != cfg.MinBackoff {
			t.Fatalf("delays %v, want %v each time", rec.delays, cfg.MinBackoff)
		}
	}
}

// TestStopClosesStdin: stopping closes the child's standard input and the
// child ends by itself, cleanly, long before it would be killed.
func TestStopClosesStdin(t *testing.T) {
	rec := &exits{}
	took := runUntil(t, config(t, "serve", rec), func() bool { rec.mu.Lock(); defer rec.mu.Unlock(); return len(rec.starts) == 1 })
	if took > 5*time.Second || rec.count() != 1 || rec.errs[0] != nil || rec.delays[0] != 0 {
		t.Fatalf("stop took %v, exits %v %v", took, rec.errs, rec.delays)
	}
}

// TestStuckChildIsKilled: a child that ignores its closed input is killed
// after StopTimeout.
func TestStuckChildIsKilled(t *testing.T) {
	rec := &exits{}
	cfg := config(t, "stuck", rec)
	cfg.StopTimeout = 200 * time.Millisecond
	took := runUntil(t, cfg, func() bool { rec.mu.Lock(); defer rec.mu.Unlock(); return len(rec.starts) == 1 })
	if took < cfg.StopTimeout || took > 5*time.Second || rec.errs[0] == nil {
		t.Fatalf("stop took %v, exit %v", took, rec.errs)
	}
}

// TestChildThatNeverServes: no ready file within StartTimeout is a
// failure like a crash, and the child is stopped.
func TestChildThatNeverServes(t *testing.T) {
	rec := &exits{}
	cfg := config(t, "mute", rec)
	cfg.StartTimeout = 300 * time.Millisecond
	cfg.StopTimeout = 100 * time.Millisecond
	runUntil(t, cfg, func() bool { return rec.count() >= 1 })
	if !errors.Is(rec.errs[0], ErrNotReady) {
		t.Fatalf("exit %v, want ErrNotReady", rec.errs[0])
	}
}
