// Package tray is kfsidebar's icon in the system tray (the notification
// area on Windows, the menu bar on macOS, a StatusNotifierItem on Linux
// desktops) and its menu, and the lock that keeps one tray per user. It is
// fyne.io/systray's one home in kfsidebar, and gofrs/flock's.
//
// The icon shows the state (Starting, Working, Paused, Down, Untrusted)
// and the menu offers what the agent needs: open the console, the status
// page, pause and continue, start at login, quit. The package only shows;
// what each item does is the caller's (cmd/kfsidebar's tray command).
//
// A tray that cannot be shown (no tray host on the desktop, Explorer not
// running yet) is not an error: the caller's work goes on without an icon,
// and the icon appears if the host does (systray re-registers when a
// StatusNotifierWatcher or the taskbar comes up).
package tray

import (
	"context"
	"log/slog"
	"strings"
	"sync"
)

// State is what the icon shows.
type State int

const (
	// Starting: the proxy is being started.
	Starting State = iota
	// Working: the proxy serves and the sidebar is on.
	Working
	// Paused: the agent paused kfsidebar; the console goes direct.
	Paused
	// Down: the proxy is not running (it is restarted with backoff).
	Down
	// Untrusted: the proxy runs, but the browser would not trust its
	// certificate (the CA is not installed).
	Untrusted
)

var stateNames = [...]string{"starting", "working", "paused", "down", "untrusted"}

func (s State) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return "unknown"
}

// Labels are the menu's texts, in the user's language.
type Labels struct {
	// Title names the program: the tooltip's first line, the item's title
	// on Linux.
	Title string
	// States describe each state in the menu's first (inactive) line and
	// the tooltip.
	States map[State]string
	// The menu items.
	OpenConsole, StatusPage, Pause, Resume, Autostart, Quit string
}

// Options are the texts and what each menu item does. Every callback runs
// on a goroutine of its own and may block.
type Options struct {
	Labels Labels
	// OnOpenConsole, OnStatusPage and OnQuit run when the item is chosen.
	OnOpenConsole, OnStatusPage, OnQuit func()
	// OnPause runs with true when the agent chose 暂停, false for 继续.
	OnPause func(pause bool)
	// OnAutostart runs with the new state of the 开机启动 check box.
	OnAutostart func(on bool)
	// Logger receives the tray library's complaints (no tray host, …).
	// Default: discard.
	Logger *slog.Logger
}

// Tray is the icon and its menu. Its setters may be called at any time,
// from any goroutine, before the icon is shown too: it shows the latest.
type Tray struct {
	opts Options

	mu        sync.Mutex
	state     State
	detail    string
	paused    bool
	autostart bool
	shown     *menu // nil until the tray host took the icon
}

// New returns a tray that Run shows.
func New(opts Options) *Tray {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Tray{opts: opts}
}

// SetState shows s, with detail (one line: why it is down, say) in the
// tooltip.
func (t *Tray) SetState(s State, detail string) {
	t.mu.Lock()
	t.state, t.detail = s, detail
	m := t.shown
	t.mu.Unlock()
	if m != nil {
		t.apply(m)
	}
}

// SetPaused makes the pause item say 继续 (paused) or 暂停.
func (t *Tray) SetPaused(paused bool) {
	t.mu.Lock()
	t.paused = paused
	m := t.shown
	t.mu.Unlock()
	if m != nil {
		t.apply(m)
	}
}

// SetAutostart ticks the 开机启动 item or not.
func (t *Tray) SetAutostart(on bool) {
	t.mu.Lock()
	t.autostart = on
	m := t.shown
	t.mu.Unlock()
	if m != nil {
		t.apply(m)
	}
}

// State returns what the icon shows.
func (t *Tray) State() State {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.state
}

// tooltip is the program's name, the state and its detail.
func (t *Tray) tooltip(s State, detail string) string {
	lines := []string{t.opts.Labels.Title, t.opts.Labels.States[s]}
	if detail != "" {
		lines = append(lines, detail)
	}
	return strings.Join(lines, "\n")
}

// Run shows the icon until ctx ends, then removes it. On macOS it must be
// called from the main goroutine (package main's, which the tray library
// keeps on the main thread); elsewhere from any goroutine.
func (t *Tray) Run(ctx context.Context) error {
	return run(ctx, t)
}
