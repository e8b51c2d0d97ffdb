package tray

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/gofrs/flock"
)

// Lock takes the one-tray-per-user lock, the file path (in the data
// directory), for as long as this process runs: the operating system
// releases it when the process ends, however it ends. held is false when
// another process has it (a second launch: the caller opens the status
// page instead).
func Lock(path string) (release func(), held bool, err error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, false, fmt.Errorf("tray lock: %w", err)
	}
	l := flock.New(path, flock.SetPermissions(0o600))
	ok, err := l.TryLock()
	if err != nil {
		return nil, false, fmt.Errorf("tray lock %s: %w", path, err)
	}
	if !ok {
		return nil, false, nil
	}
	return func() { l.Unlock() }, true, nil
}
