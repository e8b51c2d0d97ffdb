// Package autostart starts kfsidebar when the user logs in: per user, with
// no administrator rights, the way each system expects it.
//
//   - Windows: a value under HKCU\Software\Microsoft\Windows\CurrentVersion\Run
//     holding the quoted path; Task Manager's Startup tab (the value of the
//     same name under Explorer\StartupApproved\Run) is honoured: an entry
//     the user disabled there reads as off.
//   - macOS: a LaunchAgent in ~/Library/LaunchAgents with RunAtLoad, and
//     KeepAlive only after a failure (a tray the user quit stays quit). The
//     program itself never forks into the background: launchd supervises it.
//   - Linux and the BSDs: an XDG autostart entry (~/.config/autostart) on a
//     desktop, or a systemd user unit (~/.config/systemd/user, enabled for
//     default.target) where there is no desktop session to show a tray in.
//     A desktop's "startup applications" switch (X-GNOME-Autostart-enabled,
//     Hidden) is honoured like Task Manager's.
//
// Enable replaces what was there, re-enabling an entry the user switched
// off: asking again is the user's newer choice. Disable removes every kind
// it finds and leaves nothing behind.
package autostart

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Entry is what starts at login.
type Entry struct {
	// Name names the entry: the Run value, the .desktop and unit files,
	// the LaunchAgent's label (com.github.<Name>). Required, e.g.
	// "kfsidebar".
	Name string
	// Exe is the program's absolute path. Required.
	Exe string
	// Args are the program's arguments on a desktop (the tray).
	Args []string
	// HeadlessArgs are its arguments where no desktop session shows a
	// tray (the systemd user unit): the proxy alone. Default: Args.
	HeadlessArgs []string
	// Title and Comment describe it to a person (the .desktop entry's
	// Name and Comment, the unit's Description), in English; TitleZH and
	// CommentZH in Chinese (Name[zh_CN], Comment[zh_CN]).
	Title, Comment, TitleZH, CommentZH string
}

// Kind is one way of starting at login.
type Kind string

const (
	RunKey       Kind = "run-key"       // Windows: HKCU\…\CurrentVersion\Run
	LaunchAgent  Kind = "launch-agent"  // macOS: ~/Library/LaunchAgents
	XDGAutostart Kind = "xdg-autostart" // a desktop's ~/.config/autostart
	SystemdUser  Kind = "systemd-user"  // a systemd user unit for default.target
)

// Status is one autostart entry found.
type Status struct {
	Kind Kind
	// Where is the file, or the registry value, that holds it.
	Where string
	// Command is the command line it runs, as stored.
	Command string
	// Program is the program that command line starts.
	Program string
	// Enabled is true when it runs at the next login.
	Enabled bool
	// DisabledBy names who switched it off when it is there but not
	// Enabled: "Task Manager", the desktop's startup applications.
	DisabledBy string
	// Stale is true when it starts another program than the one asked
	// about (Check's exe): kfsidebar was moved or reinstalled elsewhere.
	Stale bool
}

// Options say where the entries live. The zero value is the real user's.
type Options struct {
	// ConfigDir replaces $XDG_CONFIG_HOME (~/.config) on Linux, and
	// ~/Library on macOS (tests).
	ConfigDir string
	// Kind chooses between XDGAutostart and SystemdUser on Linux.
	// Default: XDGAutostart when a desktop session is running
	// (DesktopSession), else SystemdUser. Ignored elsewhere.
	Kind Kind
}

// ErrUnsupported means kfsidebar knows no per-user autostart here.
var ErrUnsupported = errors.New("starting at login is not supported on this system")

// Enable makes e start at every login of this user, replacing an entry of
// the same name.
func Enable(e Entry, opts Options) (Status, error) {
	if e.Name == "" || !filepath.IsAbs(e.Exe) {
		return Status{}, fmt.Errorf("autostart: need a name and an absolute path, got %q %q", e.Name, e.Exe)
	}
	if len(e.HeadlessArgs) == 0 {
		e.HeadlessArgs = e.Args
	}
	return enable(e, opts)
}

// Disable removes every autostart entry named name and returns where each
// was; none at all is not an error.
func Disable(name string, opts Options) ([]string, error) { return disable(name, opts) }

// Check returns the autostart entries named name, of every kind. exe, when
// not "", marks an entry that starts another program Stale.
func Check(name, exe string, opts Options) ([]Status, error) {
	found, err := check(name, opts)
	for i := range found {
		if exe != "" && !sameProgram(found[i].Program, exe) {
			found[i].Stale = true
		}
	}
	return found, err
}

// Enabled reports whether one of the entries runs at the next login.
func Enabled(found []Status) bool {
	for _, s := range found {
		if s.Enabled {
			return true
		}
	}
	return false
}

// DesktopSession reports whether a graphical session is running, whose
// tray can show kfsidebar's icon.
func DesktopSession() bool {
	for _, v := range []string{"XDG_CURRENT_DESKTOP", "WAYLAND_DISPLAY", "DISPLAY"} {
		if os.Getenv(v) != "" {
			return true
		}
	}
	return false
}

func sameProgram(a, b string) bool {
	if a == "" || b == "" {
		return false
	}
	ca, cb := filepath.Clean(a), filepath.Clean(b)
	return ca == cb || strings.EqualFold(ca, cb) && filepath.Separator == '\\'
}

func first(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[0]
}
