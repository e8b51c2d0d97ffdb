//go:build !darwin || cgo

package tray

import (
	"context"
	"fmt"
	"io"
	"log"
	"runtime"
	"strings"
	"time"

	"fyne.io/systray"
)

// menu is the shown menu's items.
type menu struct {
	status, open, page, pause, autostart, quit *systray.MenuItem
}

// apply shows the tray's state in the icon and the menu.
func (t *Tray) apply(m *menu) {
	t.mu.Lock()
	s, detail, paused, autostart := t.state, t.detail, t.paused, t.autostart
	t.mu.Unlock()
	l := t.opts.Labels
	systray.SetIcon(icon(s))
	systray.SetTooltip(t.tooltip(s, detail))
	systray.SetTitle(l.Title)
	m.status.SetTitle(l.States[s])
	if paused {
		m.pause.SetTitle(l.Resume)
	} else {
		m.pause.SetTitle(l.Pause)
	}
	if autostart {
		m.autostart.Check()
	} else {
		m.autostart.Uncheck()
	}
}

// onReady builds the menu once the tray host took the icon.
func (t *Tray) onReady() {
	l := t.opts.Labels
	m := &menu{}
	m.status = systray.AddMenuItem(l.States[Starting], "")
	m.status.Disable()
	systray.AddSeparator()
	m.open = systray.AddMenuItem(l.OpenConsole, "")
	m.page = systray.AddMenuItem(l.StatusPage, "")
	m.pause = systray.AddMenuItem(l.Pause, "")
	m.autostart = systray.AddMenuItemCheckbox(l.Autostart, "", false)
	systray.AddSeparator()
	m.quit = systray.AddMenuItem(l.Quit, "")
	t.apply(m)
	t.mu.Lock()
	t.shown = m
	t.mu.Unlock()
	t.apply(m) // anything set while the menu was being built
	go t.listen(m)
}

// listen runs the callbacks of the items chosen.
func (t *Tray) listen(m *menu) {
	call := func(f func()) {
		if f != nil {
			go f()
		}
	}
	for {
		select {
		case _, ok := <-m.open.ClickedCh:
			if !ok {
				return
			}
			call(t.opts.OnOpenConsole)
		case <-m.page.ClickedCh:
			call(t.opts.OnStatusPage)
		case <-m.pause.ClickedCh:
			// The menu changes at once (a second click undoes the
			// first); the caller's SetPaused confirms or corrects it.
			t.mu.Lock()
			t.paused = !t.paused
			pause := t.paused
			t.mu.Unlock()
			t.apply(m)
			if f := t.opts.OnPause; f != nil {
				go f(pause)
			}
		case <-m.autostart.ClickedCh:
			t.mu.Lock()
			t.autostart = !t.autostart
			on := t.autostart
			t.mu.Unlock()
			t.apply(m)
			if f := t.opts.OnAutostart; f != nil {
				go f(on)
			}
		case <-m.quit.ClickedCh:
			call(t.opts.OnQuit)
		}
	}
}

// logWriter turns the tray library's log lines into Logger's.
type logWriter struct{ t *Tray }

func (w logWriter) Write(p []byte) (int, error) {
	w.t.opts.Logger.Warn("tray", "msg", strings.TrimSpace(string(p)))
	return len(p), nil
}

// runLoop runs systray's loop on the calling goroutine until Quit.
func (t *Tray) runLoop() {
	defer func() {
		// The Linux loop's end closes a D-Bus connection it may never
		// have made (no session bus): that is not the program's end.
		if v := recover(); v != nil {
			t.opts.Logger.Warn("tray loop ended", "panic", fmt.Sprint(v))
		}
	}()
	log.SetOutput(logWriter{t})
	defer log.SetOutput(io.Discard)
	systray.Run(t.onReady, nil)
}

// run: on macOS the loop must own the main thread (the caller's); elsewhere
// it runs on a thread of its own, and Run returns even when the loop never
// started (no taskbar yet on Windows: its Quit has no window to close).
func run(ctx context.Context, t *Tray) error {
	if runtime.GOOS == "darwin" {
		go func() {
			<-ctx.Done()
			systray.Quit()
		}()
		t.runLoop()
		return nil
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		runtime.LockOSThread()
		t.runLoop()
	}()
	<-ctx.Done()
	systray.Quit()
	select {
	case <-done:
	case <-time.After(3 * time.Second):
		t.opts.Logger.Warn("the tray did not close; leaving it")
	}
	cleanup()
	return nil
}
