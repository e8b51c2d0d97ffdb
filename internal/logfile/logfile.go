// Package logfile is kfsidebar's log file in the data directory: appended
// to, rotated before it grows past a bound, a few old files kept, private
// to the user (at --log-level debug it holds customer data). Whoever helps
// an agent reads it after the terminal is gone.
package logfile

import (
	"fmt"
	"os"
	"sync"
)

const (
	// Name is kfsidebar's log in the data directory, so that whoever
	// helps an agent can read what happened after the terminal is gone.
	Name = "kfsidebar.log"
	// MaxBytes and Keep bound the log to about 20 MB on disk: a
	// month of a busy day's Info lines, and never a full disk.
	MaxBytes = 5 << 20
	Keep     = 3
)

// File appends to a file and, before a write would take it past
// max bytes, renames it to name.1 (name.1 to name.2, …) keeping keep old
// files. It is safe for concurrent use. Files are mode 0600: at
// --log-level debug they hold customer data.
type File struct {
	mu   sync.Mutex
	path string
	max  int64
	keep int
	f    *os.File
	size int64
}

// Open opens (creating, mode 0600) the log at path, rotated past max
// bytes, keeping keep old files.
func Open(path string, max int64, keep int) (*File, error) {
	r := &File{path: path, max: max, keep: keep}
	if err := r.open(); err != nil {
		return nil, err
	}
	return r, nil
}

func (r *File) open() error {
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

// Write appends p, rotating first when p would take the file past its
// bound.
func (r *File) Write(p []byte) (int, error) {
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
func (r *File) rotate() error {
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

// Close closes the file; a later Close does nothing.
func (r *File) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.f == nil {
		return nil
	}
	err := r.f.Close()
	r.f = nil
	return err
}
