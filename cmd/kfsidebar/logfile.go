package main

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/kfsidebar/kfsidebar/internal/logfile"
)

// newFileLogger logs at level to w and to the rotated log file in dataDir.
// close flushes and closes the file.
func newFileLogger(w io.Writer, level slog.Level, dataDir string) (log *slog.Logger, path string, close func() error, err error) {
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, "", nil, fmt.Errorf("open log file: %w", err)
	}
	path = filepath.Join(dataDir, logfile.Name)
	f, err := logfile.Open(path, logfile.MaxBytes, logfile.Keep)
	if err != nil {
		return nil, "", nil, err
	}
	return newLogger(io.MultiWriter(w, f), level), path, f.Close, nil
}
