package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/kfsidebar/kfsidebar/certs"
	"github.com/kfsidebar/kfsidebar/internal/autostart"
	"github.com/kfsidebar/kfsidebar/internal/browser"
	"github.com/kfsidebar/kfsidebar/internal/sysproxy"
	"github.com/kfsidebar/kfsidebar/proxy/admin"
)

// What the tray's menu items do.

// localClient talks to the proxy's own address, never through a proxy.
var localClient = &http.Client{Transport: &http.Transport{Proxy: nil}, Timeout: 5 * time.Second}

// fetchStatus reads the proxy's /status.json.
func fetchStatus(ctx context.Context, addr string) (*admin.Status, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/status.json", nil)
	if err != nil {
		return nil, err
	}
	resp, err := localClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("status.json: %s", resp.Status)
	}
	var st admin.Status
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		return nil, fmt.Errorf("status.json: %w", err)
	}
	return &st, nil
}

// control sends a control request (POST /pause, /resume) to the proxy.
func control(ctx context.Context, addr, path string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+addr+path, nil)
	if err != nil {
		return err
	}
	req.Header.Set(admin.ControlHeader, "1")
	resp, err := localClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		return fmt.Errorf("POST %s: %s", path, resp.Status)
	}
	return nil
}

// setPaused pauses or resumes the proxy (the menu's 暂停 and 继续), then
// renews the system's PAC setting so that browsers fetch the PAC, which
// now says the opposite, at once. A proxy that is down starts paused or
// not, as chosen.
func (a *trayApp) setPaused(pause bool) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	a.mu.Lock()
	addr := a.addr
	a.mu.Unlock()
	if addr != "" {
		path := "/resume"
		if pause {
			path = "/pause"
		}
		if err := control(ctx, addr, path); err != nil {
			a.log.Warn("could not pause or resume the proxy", "pause", pause, "err", err)
			return
		}
	}
	a.mu.Lock()
	a.paused = pause
	a.mu.Unlock()
	a.ui.SetPaused(pause)
	a.log.Info("paused by the agent", "paused", pause)
	if addr != "" {
		a.refreshPAC(addr)
	}
	a.pokeWatch()
}

// refreshPAC renews the system's PAC setting under a fresh URL, when
// `proxy on` made it (sysproxy.Refresh).
func (a *trayApp) refreshPAC(addr string) {
	sp, err := sysproxy.New()
	if err != nil {
		a.log.Info("system proxy settings not renewed", "reason", err)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, u, err := sysproxy.Refresh(ctx, sp, a.cfg.DataDir, pacURL(addr), time.Now())
	if err != nil {
		a.log.Warn("could not renew the system's PAC setting", "err", err)
		return
	}
	a.log.Info("system PAC setting", "outcome", out.String(), "url", u)
}

// systemPACOurs reports whether the system's proxy setting is the one
// `proxy on` made (the browsers use the PAC, so they must trust the CA).
func (a *trayApp) systemPACOurs(ctx context.Context) bool {
	st, err := sysproxy.ReadState(a.cfg.DataDir)
	if err != nil || st == nil {
		return false
	}
	sp, err := sysproxy.New()
	if err != nil {
		return false
	}
	cur, err := sp.Get(ctx)
	return err == nil && sysproxy.SamePAC(cur.PACURL, st.PACURL)
}

// checkTrust notes whether the browsers that use the system's PAC would
// trust the proxy's certificate.
func (a *trayApp) checkTrust(ctx context.Context) {
	trusted := true
	if a.systemPACOurs(ctx) {
		ca, err := certs.LoadExisting(a.cfg.DataDir)
		trusted = err == nil && browserTrusts(ctx, ca)
	}
	a.mu.Lock()
	a.trusted = trusted
	a.mu.Unlock()
}

// openConsole opens the console: in the agent's default browser when the
// system's PAC is kfsidebar's and that browser trusts the CA, else in a
// browser window of kfsidebar's own (kfsidebar open), which needs neither.
func (a *trayApp) openConsole() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	a.mu.Lock()
	addr, trusted, paused := a.addr, a.trusted, a.paused
	a.mu.Unlock()
	console := "https://" + hostsOf(a.cfg)[0] + "/"
	if addr == "" || paused || (a.systemPACOurs(ctx) && trusted) {
		// Down or paused, the console opens directly, as it would
		// without kfsidebar.
		if err := browser.OpenURL(console); err != nil {
			a.log.Warn("could not open the console", "err", err)
		}
		return
	}
	var out strings.Builder
	if err := runOpen(ctx, []string{"--data-dir", a.cfg.DataDir, "--listen", addr}, &out, &out); err != nil {
		a.log.Warn("could not open the console in kfsidebar's own browser window; opening the default browser", "err", err, "said", out.String())
		browser.OpenURL(console)
	}
}

// openStatusPage opens the proxy's status page in the default browser.
func (a *trayApp) openStatusPage() {
	a.mu.Lock()
	addr := a.addr
	a.mu.Unlock()
	if addr == "" {
		addr = localAddr(a.cfg.Listen)
	}
	if err := browser.OpenURL("http://" + addr + "/"); err != nil {
		a.log.Warn("could not open the status page", "err", err)
	}
}

// setAutostart switches starting at login (the menu's check box) and
// shows what is now true.
func (a *trayApp) setAutostart(on bool) {
	var err error
	if on {
		var e autostart.Entry
		if e, _, err = trayEntry(a.cfg); err == nil {
			_, err = autostart.Enable(e, autostart.Options{})
		}
	} else {
		_, err = autostart.Disable(autostartName, autostart.Options{})
	}
	if err != nil {
		a.log.Warn("could not change starting at login", "on", on, "err", err)
	}
	a.log.Info("start at login", "on", a.autostartOn())
	a.ui.SetAutostart(a.autostartOn())
}

func (a *trayApp) autostartOn() bool {
	found, err := autostart.Check(autostartName, "", autostart.Options{})
	return err == nil && autostart.Enabled(found)
}

// trayProgram is the program that starts the tray at login, with its
// arguments: on Windows kfsidebarw.exe, which has no console window, when
// it is beside this program; else this program's `tray`. console is true
// when that program would show a console window at login.
func trayProgram() (exe string, args []string, console bool, err error) {
	self, err := os.Executable()
	if err != nil {
		return "", nil, false, err
	}
	if p, err := filepath.EvalSymlinks(self); err == nil {
		self = p
	}
	if runtime.GOOS != "windows" {
		return self, []string{"tray"}, false, nil
	}
	if strings.EqualFold(filepath.Base(self), guiExe) {
		return self, nil, false, nil
	}
	gui := filepath.Join(filepath.Dir(self), guiExe)
	if _, err := os.Stat(gui); err == nil {
		return gui, nil, false, nil
	}
	return self, []string{"tray"}, true, nil
}

// guiExe is the Windows GUI build's name (the Makefile's dist-windows).
const guiExe = "kfsidebarw.exe"

// autostartName names kfsidebar's autostart entry everywhere.
const autostartName = "kfsidebar"
