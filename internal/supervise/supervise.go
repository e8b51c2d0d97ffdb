// Package supervise keeps a child process running: kfsidebar's tray runs
// the proxy (`kfsidebar run --supervised --ready-file F`) under it. The
// child is started without a console window, learns that it must stop
// when its standard input closes (so it never outlives its supervisor,
// even one that was killed), tells that it serves by writing its address
// to the ready file, and is started again with a growing backoff when it
// dies.
package supervise

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/kfsidebar/kfsidebar/internal/nowindow"
)

// Config says what to run and how to restart it. Zero durations take
// the documented defaults.
type Config struct {
	// Command returns the child's command for one start (it is called
	// before every start, so it can reflect the current state: the
	// tray's pause). Run sets its Stdin; Stdout and Stderr, when nil,
	// are kept (the last lines are logged when the child fails).
	// Required.
	Command func() *exec.Cmd
	// ReadyFile is where the child writes its address, ending in a
	// newline, once it serves. Run removes it before each start.
	// Required.
	ReadyFile string
	// StartTimeout stops a child that has not written ReadyFile by then;
	// that counts as a failure. Default 60 s (a first start makes a CA
	// and a database).
	StartTimeout time.Duration
	// MinBackoff is the wait before the first restart, MaxBackoff the
	// longest; each failure in a row doubles it. Default 1 s and 1 min.
	MinBackoff, MaxBackoff time.Duration
	// Stable resets the backoff: a child that served this long before
	// dying is restarted after MinBackoff again. Default 1 min.
	Stable time.Duration
	// StopTimeout is how long a child has to stop after its standard
	// input closed before it is killed. Default 10 s.
	StopTimeout time.Duration
	// OnReady is called when a child serves, with its address and pid.
	// Optional.
	OnReady func(addr string, pid int)
	// OnExit is called when a child has exited (or never came up), with
	// why, and how long until the next start (0 when Run is returning).
	// Optional.
	OnExit func(err error, restartIn time.Duration)
	// Logger gets starts, exits and the child's last output. Default:
	// discard.
	Logger *slog.Logger
}

// ErrNotReady is the exit reason of a child that did not serve within
// StartTimeout.
var ErrNotReady = errors.New("did not start serving in time")

// Run starts the child and keeps it running until ctx ends, then stops it
// (standard input closed, then killed after StopTimeout) and returns.
func Run(ctx context.Context, cfg Config) error {
	if cfg.Command == nil || cfg.ReadyFile == "" {
		return errors.New("supervise: Command and ReadyFile are required")
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&cfg.StartTimeout, 60*time.Second)
	def(&cfg.MinBackoff, time.Second)
	def(&cfg.MaxBackoff, time.Minute)
	def(&cfg.Stable, time.Minute)
	def(&cfg.StopTimeout, 10*time.Second)
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	backoff := cfg.MinBackoff
	for {
		started := time.Now()
		served, err := runOnce(ctx, cfg)
		if ctx.Err() != nil {
			if cfg.OnExit != nil {
				cfg.OnExit(err, 0)
			}
			return nil
		}
		if served && time.Since(started) >= cfg.Stable {
			backoff = cfg.MinBackoff
		}
		cfg.Logger.Warn("the proxy stopped; starting it again", "err", err, "ran", time.Since(started).Round(time.Millisecond), "restart_in", backoff)
		if cfg.OnExit != nil {
			cfg.OnExit(err, backoff)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, cfg.MaxBackoff)
	}
}

// runOnce runs one child until it exits or ctx ends; served is true when
// it wrote its address.
func runOnce(ctx context.Context, cfg Config) (served bool, err error) {
	os.Remove(cfg.ReadyFile)
	cmd := cfg.Command()
	nowindow.Apply(cmd)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return false, err
	}
	tail := &tailBuffer{max: 4 << 10}
	if cmd.Stdout == nil {
		cmd.Stdout = tail
	}
	if cmd.Stderr == nil {
		cmd.Stderr = tail
	}
	if err := cmd.Start(); err != nil {
		return false, fmt.Errorf("start %s: %w", cmd.Path, err)
	}
	pid := cmd.Process.Pid
	cfg.Logger.Info("proxy started", "pid", pid)
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stop := func() error {
		stdin.Close()
		select {
		case err := <-exited:
			return err
		case <-time.After(cfg.StopTimeout):
			cfg.Logger.Warn("the proxy did not stop in time; killing it", "pid", pid)
			cmd.Process.Kill()
			return <-exited
		}
	}
	failed := func(err error) error {
		if t := tail.String(); t != "" {
			cfg.Logger.Warn("the proxy's last output", "pid", pid, "output", t)
		}
		return err
	}

	poll := time.NewTicker(50 * time.Millisecond)
	defer poll.Stop()
	deadline := time.After(cfg.StartTimeout)
	for !served {
		select {
		case <-ctx.Done():
			return false, stop()
		case err := <-exited:
			return false, failed(exitError(err))
		case <-deadline:
			stop()
			return false, failed(ErrNotReady)
		case <-poll.C:
			if b, err := os.ReadFile(cfg.ReadyFile); err == nil && strings.HasSuffix(string(b), "\n") {
				served = true
				addr := strings.TrimSpace(string(b))
				cfg.Logger.Info("proxy serving", "pid", pid, "addr", addr)
				if cfg.OnReady != nil {
					cfg.OnReady(addr, pid)
				}
			}
		}
	}
	select {
	case <-ctx.Done():
		return true, stop()
	case err := <-exited:
		return true, failed(exitError(err))
	}
}

// exitError says how a child ended: exiting by itself, even with status
// 0, is an exit the supervisor did not ask for.
func exitError(err error) error {
	if err == nil {
		return errors.New("exited")
	}
	return err
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	buf []byte
}

var _ io.Writer = (*tailBuffer)(nil)

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - t.max; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return strings.TrimSpace(string(t.buf))
}
