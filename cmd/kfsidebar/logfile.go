package main

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
)

const (
	// logFile is kfsidebar's log in the data directory, so that whoever
	// helps an agent can read what happened after the terminal is gone.
	logFile = "kfsidebar.log"
	// logMaxBytes and logKeep bound the log to about 20 MB on disk: a
	// month of a busy day's Info lines, and never a full disk.
	logMaxBytes = 5 << 20
	logKeep     = 3
)

// rotatingFile appends to a file and, before a write would take it past
// max bytes, renames it to name.1 (name.1 to name.2, …) keeping keep old
// files. It is safe for concurrent use. Files are mode 0600: at
// --log-level debug they hold customer data.
type rotatingFile struct {
	mu   sync.Mutex
	path string
	max  int64
	keep int
	f    *os.File
	size int64
}

func openRotatingFile(path string, max int64, keep int) (*rotatingFile, error) {
	r := &rotatingFile{path: path, max: max, keep: keep}
	if err := r.open(); err != nil {
		return nil, err
	}
	return r, nil
}

func (r *rotatingFile) open() error {
	f, err := os.OpenFile(r.path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("open log file: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("open log file: %w", err)
	}
	r.f, r.size = f, fi.Size()
	return nil
}

func (r *rotatingFile) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.f == nil {
		return 0, os.ErrClosed
	}
	if r.size > 0 && r.size+int64(len(p)) > r.max {
		if err := r.rotate(); err != nil {
			return 0, err
		}
	}
	n, err := r.f.Write(p)
	r.size += int64(n)
	return n, err
}

// rotate shifts name.(k-1) to name.k down to name to name.1 and starts a
// new file; the oldest beyond keep is overwritten by the rename.
func (r *rotatingFile) rotate() error {
	if err := r.f.Close(); err != nil {
		return fmt.Errorf("rotate log file: %w", err)
	}
	r.f = nil
	for i := r.keep - 1; i >= 1; i-- {
		from := fmt.Sprintf("%s.%d", r.path, i)
		if _, err := os.Stat(from); err == nil {
			if err := os.Rename(from, fmt.Sprintf("%s.%d", r.path, i+1)); err != nil {
				return fmt.Errorf("rotate log file: %w", err)
			}
		}
	}
	if r.keep > 0 {
		if err := os.Rename(r.path, r.path+".1"); err != nil {
			return fmt.Errorf("rotate log file: %w", err)
		}
	} else if err := os.Remove(r.path); err != nil {
		return fmt.Errorf("rotate log file: %w", err)
	}
	return r.open()
}

func (r *rotatingFile) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.f == nil {
		return nil
	}
	err := r.f.Close()
	r.f = nil
	return err
}

// newFileLogger logs at level to w and to the rotated log file in dataDir.
// close flushes and closes the file.
func newFileLogger(w io.Writer, level slog.Level, dataDir string) (log *slog.Logger, path string, close func() error, err error) {
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, "", nil, fmt.Errorf("open log file: %w", err)
	}
	path = filepath.Join(dataDir, logFile)
	f, err := openRotatingFile(path, logMaxBytes, logKeep)
	if err != nil {
		return nil, "", nil, err
	}
	return newLogger(io.MultiWriter(w, f), level), path, f.Close, nil
}
