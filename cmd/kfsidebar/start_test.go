package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// started is a kfsidebar command (run or demo) running inside this test
// binary. It is the one way tests start the program: the command writes
// its address to a --ready-file once it serves, and nothing reads its
// output to find out.
type started struct {
	addr   string
	stdout *syncBuffer // what it printed for the user (the banner)
	log    *syncBuffer // standard error: the log
	cancel context.CancelFunc
	done   chan error
}

// startTimeout is how long a command may take to serve: a cold database
// and CA on a loaded CI machine.
const startTimeout = 30 * time.Second

// startCommand runs args (the command and its flags, without --ready-file)
// until stop, and returns once the command serves. Its log goes to log, or
// to a new buffer when log is nil.
func startCommand(log *syncBuffer, args ...string) (*started, error) {
	dir, err := os.MkdirTemp("", "kfsidebar-ready-*")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	ready := filepath.Join(dir, "ready")
	ctx, cancel := context.WithCancel(context.Background())
	if log == nil {
		log = &syncBuffer{}
	}
	s := &started{stdout: &syncBuffer{}, log: log, cancel: cancel, done: make(chan error, 1)}
	go func() { s.done <- Run(ctx, append(args, "--ready-file", ready), s.stdout, s.log) }()
	deadline := time.Now().Add(startTimeout)
	for {
		if b, err := os.ReadFile(ready); err == nil && strings.HasSuffix(string(b), "\n") {
			s.addr = strings.TrimSpace(string(b))
			return s, nil
		}
		select {
		case err := <-s.done:
			cancel()
			return nil, fmt.Errorf("kfsidebar %s exited before serving: %v\n%s", args[0], err, s.log)
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.stop()
			return nil, fmt.Errorf("kfsidebar %s did not serve within %v\n%s", args[0], startTimeout, s.log)
		}
	}
}

// stop ends the command and returns what Run returned.
func (s *started) stop() error {
	s.cancel()
	return <-s.done
}

// start is startCommand for one test: the command stops when the test
// ends, and must end cleanly.
func start(t *testing.T, args ...string) *started {
	t.Helper()
	s, err := startCommand(nil, args...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.stop(); err != nil {
			t.Errorf("kfsidebar %s exited with %v", args[0], err)
		}
	})
	return s
}
