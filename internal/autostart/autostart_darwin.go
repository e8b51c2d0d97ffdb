package autostart

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/kfsidebar/kfsidebar/internal/atomicfile"
)

// enable writes the LaunchAgent. It is not loaded now: launchd loads it at
// the next login, and loading it now would start a second tray beside the
// one the user runs (which would only open the status page).
func enable(e Entry, opts Options) (Status, error) {
	path, err := launchAgentPath(opts, e.Name)
	if err != nil {
		return Status{}, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return Status{}, err
	}
	if err := atomicfile.Write(path, []byte(launchAgentPlist(e)), 0o644); err != nil {
		return Status{}, err
	}
	return launchAgentStatus(path)
}

// disable removes the LaunchAgent. A tray launchd started in this session
// keeps running until the user quits it or logs out.
func disable(name string, opts Options) ([]string, error) {
	path, err := launchAgentPath(opts, name)
	if err != nil {
		return nil, err
	}
	if err := os.Remove(path); errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	return []string{path}, nil
}

func check(name string, opts Options) ([]Status, error) {
	path, err := launchAgentPath(opts, name)
	if err != nil {
		return nil, err
	}
	st, err := launchAgentStatus(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return []Status{st}, nil
}
