//go:build unix && !darwin

package autostart

import (
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/kfsidebar/kfsidebar/internal/atomicfile"
)

// enable writes the XDG autostart entry on a desktop, else the systemd
// user unit and its link in default.target.wants, and removes the other
// kind, so exactly one starts kfsidebar.
func enable(e Entry, opts Options) (Status, error) {
	config, err := xdgConfigHome(opts)
	if err != nil {
		return Status{}, err
	}
	kind := opts.Kind
	if kind == "" {
		kind = SystemdUser
		if DesktopSession() {
			kind = XDGAutostart
		}
	}
	switch kind {
	case XDGAutostart:
		path := desktopPath(config, e.Name)
		if err := writeFile(path, desktopEntry(e)); err != nil {
			return Status{}, err
		}
		if err := removeUnit(config, e.Name, opts); err != nil {
			return Status{}, err
		}
		return desktopStatus(path)
	case SystemdUser:
		path, link := unitPath(config, e.Name), wantsLink(config, e.Name)
		if err := writeFile(path, systemdUnit(e)); err != nil {
			return Status{}, err
		}
		if err := os.MkdirAll(filepath.Dir(link), 0o700); err != nil {
			return Status{}, err
		}
		if err := os.Remove(link); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return Status{}, err
		}
		if err := os.Symlink(filepath.Join("..", filepath.Base(path)), link); err != nil {
			return Status{}, err
		}
		if err := removeFile(desktopPath(config, e.Name), config); err != nil {
			return Status{}, err
		}
		reload(opts)
		return unitStatus(path, link)
	}
	return Status{}, ErrUnsupported
}

func disable(name string, opts Options) ([]string, error) {
	config, err := xdgConfigHome(opts)
	if err != nil {
		return nil, err
	}
	var removed []string
	desktop := desktopPath(config, name)
	if _, err := os.Lstat(desktop); err == nil {
		removed = append(removed, desktop)
	}
	if err := removeFile(desktop, config); err != nil {
		return removed, err
	}
	unit := unitPath(config, name)
	if _, err := os.Lstat(unit); err == nil {
		removed = append(removed, unit)
	}
	return removed, removeUnit(config, name, opts)
}

func check(name string, opts Options) ([]Status, error) {
	config, err := xdgConfigHome(opts)
	if err != nil {
		return nil, err
	}
	var found []Status
	if st, err := desktopStatus(desktopPath(config, name)); err == nil {
		found = append(found, st)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return found, err
	}
	if st, err := unitStatus(unitPath(config, name), wantsLink(config, name)); err == nil {
		found = append(found, st)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return found, err
	}
	return found, nil
}

// removeUnit removes the unit and its link, then tells systemd.
func removeUnit(config, name string, opts Options) error {
	unit := unitPath(config, name)
	_, had := os.Lstat(unit)
	if err := removeFile(wantsLink(config, name), config); err != nil {
		return err
	}
	if err := removeFile(unit, config); err != nil {
		return err
	}
	if had == nil {
		reload(opts)
	}
	return nil
}

// reload asks the user's systemd to read its units again, when there is
// one; a machine without systemd reads them at the next login anyway.
// Tests (opts.ConfigDir set) never touch the real user's systemd.
func reload(opts Options) {
	if opts.ConfigDir != "" {
		return
	}
	if p, err := exec.LookPath("systemctl"); err == nil {
		exec.Command(p, "--user", "daemon-reload").Run()
	}
}

func writeFile(path, content string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	return atomicfile.Write(path, []byte(content), 0o644)
}

// removeFile removes path and then each parent directory it leaves empty,
// up to (not including) top: nothing of kfsidebar's stays behind.
func removeFile(path, top string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	for dir := filepath.Dir(path); dir != top && len(dir) > len(top); dir = filepath.Dir(dir) {
		if os.Remove(dir) != nil {
			break // not empty, or not ours to remove
		}
	}
	return nil
}
