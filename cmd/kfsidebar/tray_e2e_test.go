//go:build linux

package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/kfsidebar/kfsidebar/internal/browsertest"
	"github.com/kfsidebar/kfsidebar/internal/kftest"
	"github.com/kfsidebar/kfsidebar/internal/tray"
	"github.com/kfsidebar/kfsidebar/internal/tray/traytest"
	"github.com/kfsidebar/kfsidebar/proxy/mpkftest"
)

// The tray's day, as a new user on a Linux desktop lives it, with the real
// program: a private D-Bus session with GNOME's settings (dconf) and a
// fake tray host, real Chromium reading the system's PAC from those
// settings, a simulated console that is reached DIRECT (Chromium maps its
// name to it) or through kfsidebar (--dial).

var (
	builtOnce sync.Once
	builtExe  string
	builtErr  error
)

// buildKfsidebar builds the real program once per test binary: the tray
// starts it again as its proxy, so it must be the program, not the test.
func buildKfsidebar(t *testing.T) string {
	t.Helper()
	builtOnce.Do(func() {
		dir, err := os.MkdirTemp("", "kfsidebar-bin-*")
		if err != nil {
			builtErr = err
			return
		}
		builtExe = filepath.Join(dir, "kfsidebar")
		out, err := exec.Command("go", "build", "-o", builtExe, ".").CombinedOutput()
		if err != nil {
			builtErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if builtErr != nil {
		t.Fatal(builtErr)
	}
	return builtExe
}

// desktop is a user's desktop session for the test.
type desktop struct {
	t      *testing.T
	exe    string
	bus    *traytest.Bus
	host   *traytest.Host
	env    []string
	data   string
	listen string
	opened string // the file the URL opener appends to
}

func newDesktop(t *testing.T) *desktop {
	t.Helper()
	browsertest.Require(t)
	if _, err := exec.LookPath("gsettings"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("gsettings not found; CI installs libglib2.0-bin, dconf and gsettings-desktop-schemas")
		}
		t.Skip("gsettings not found (libglib2.0-bin, dconf-gsettings-backend, gsettings-desktop-schemas)")
	}
	d := &desktop{t: t, exe: buildKfsidebar(t)}
	d.bus = traytest.StartBus(t)
	d.host = traytest.NewHost(t, d.bus)
	d.data = filepath.Join(d.bus.Home, ".config", "kfsidebar")
	d.opened = filepath.Join(t.TempDir(), "opened")
	opener := filepath.Join(t.TempDir(), "opener")
	os.WriteFile(opener, []byte("#!/bin/sh\necho \"$1\" >> "+d.opened+"\n"), 0o755)
	d.listen = "127.0.0.1:" + strconv.Itoa(freePort(t))
	d.env = append(d.bus.Env(os.Environ()),
		"XDG_CURRENT_DESKTOP=GNOME", "LANG=zh_CN.UTF-8", "LC_ALL=", "KFSIDEBAR_LANG=",
		"KFSIDEBAR_DATA_DIR="+d.data, "KFSIDEBAR_URL_OPENER="+opener)
	if out, err := d.cmd("gsettings", "list-keys", "org.gnome.system.proxy").CombinedOutput(); err != nil {
		t.Fatalf("GNOME's proxy schema: %v\n%s", err, out)
	}
	return d
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func (d *desktop) cmd(name string, args ...string) *exec.Cmd {
	cmd := exec.Command(name, args...)
	cmd.Env = d.env
	return cmd
}

// kf runs the program and returns what it printed.
func (d *desktop) kf(args ...string) string {
	d.t.Helper()
	out, err := d.cmd(d.exe, args...).CombinedOutput()
	if err != nil {
		d.t.Fatalf("kfsidebar %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func (d *desktop) pacURL() string {
	out, _ := d.cmd("gsettings", "get", "org.gnome.system.proxy", "autoconfig-url").Output()
	return strings.Trim(strings.TrimSpace(string(out)), "'")
}

func (d *desktop) proxyPID() int {
	st, err := fetchStatus(context.Background(), d.listen)
	if err != nil {
		return 0
	}
	return st.PID
}

func TestTrayDay(t *testing.T) {
	d := newDesktop(t)
	sim, consoleFlags := simulatedConsole(t)
	// Install: the steps the installer runs for the user (the CA in
	// Chrome's NSS database only: not this machine's own store).
	out := d.kf("setup", "--store", "nss", "--listen", d.listen)
	if !strings.Contains(out, "完成") {
		t.Errorf("setup does not speak Chinese:\n%s", out)
	}
	pac := d.pacURL()
	if pac != "http://"+d.listen+"/proxy.pac" {
		t.Fatalf("PAC after setup %q", pac)
	}

	// The browser is open before kfsidebar runs: the PAC cannot be
	// fetched, and the console loads DIRECT, without the sidebar.
	rules := []string{}
	for _, h := range mpkftest.Hosts {
		rules = append(rules, "MAP "+h+" "+sim.Addr())
	}
	b, err := browsertest.Start(browsertest.Options{
		Env:      d.env,
		SPKIList: []string{sim.CA().SPKIHash()}, // the simulated console's own certificate, DIRECT
		Flags:    map[string]any{"host-resolver-rules": strings.Join(rules, ",")},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	tab := b.Tab(t)
	sb := browsertest.SidebarOf(t, tab)
	sb.Logs = func() string {
		st := sb.Read()
		log, _ := os.ReadFile(filepath.Join(d.data, "kfsidebar.log"))
		return fmt.Sprintf("sidebar %+v; PAC setting %s\n%s", st, d.pacURL(), log)
	}
	load := func(what string) {
		t.Helper()
		if err := chromedp.Do(tab, chromedp.Navigate(sim.URL()), chromedp.WaitVisible(chromedp.CSS(".card"))); err != nil {
			t.Fatalf("%s: the console did not load: %v", what, err)
		}
	}
	// loadWithSidebar reloads the tab until it has the sidebar: Chromium
	// fetches the renewed PAC at once, but "at once" is after the
	// setting's change has travelled through dconf to it.
	loadWithSidebar := func(what string) {
		t.Helper()
		start := time.Now()
		for {
			load(what)
			if _, err := chromedp.Run(tab, chromedp.Poll[bool](`(() => { const r = `+browsertest.SidebarJS+`; return !!r && r.dataset.state !== 'connecting' && !!r.dataset.state; })()`,
				chromedp.WithPollingTimeout(2*time.Second))); err == nil {
				t.Logf("%s: the sidebar is there %v after the first reload", what, time.Since(start).Round(time.Millisecond))
				return
			}
			if time.Since(start) > 30*time.Second {
				sb.WaitReady() // fails, saying why
			}
		}
	}
	load("kfsidebar not running")
	if st := sb.Read(); st.State != "absent" {
		t.Fatalf("a sidebar without kfsidebar: %+v", st)
	}

	// The tray starts the proxy; the PAC setting is renewed at once.
	trayCmd := d.cmd(d.exe, append([]string{"tray", "--listen", d.listen, "--"}, consoleFlags...)...)
	var trayOut syncBuffer
	trayCmd.Stdout, trayCmd.Stderr = &trayOut, &trayOut
	if err := trayCmd.Start(); err != nil {
		t.Fatal(err)
	}
	trayDone := make(chan error, 1)
	go func() { trayDone <- trayCmd.Wait() }()
	defer func() {
		trayCmd.Process.Kill()
		<-trayDone
		if t.Failed() {
			t.Logf("tray:\n%s", trayOut.String())
		}
	}()
	item := d.host.WaitItem(t, 30*time.Second)
	waitIcon := func(s tray.State) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for {
			c, err := item.IconColor()
			if err == nil && c == tray.Colors[s] {
				return
			}
			if time.Now().After(deadline) {
				tip, _ := item.Tooltip()
				t.Fatalf("icon %v (%v), want %s; tooltip %q", c, err, s, tip)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	waitIcon(tray.Working)
	menu, err := item.Menu()
	if err != nil {
		t.Fatal(err)
	}
	var labels []string
	for _, m := range menu {
		if !m.Separator {
			labels = append(labels, m.Label)
		}
	}
	if got := strings.Join(labels[1:], "|"); got != "打开客服工具|状态页|暂停|开机启动|退出" || !menu[5].Checked {
		t.Fatalf("menu %s (开机启动 ticked: %v)", got, menu[5].Checked)
	}
	fresh := d.pacURL()
	if fresh == pac || !strings.HasPrefix(fresh, pac+"?t=") {
		t.Fatalf("PAC not renewed on start: %q", fresh)
	}

	// Same browser, same tab: reloaded, the console has the sidebar.
	loadWithSidebar("kfsidebar started")

	// Pause: the sidebar goes away at once, and the console loads DIRECT.
	if err := item.Click("暂停"); err != nil {
		t.Fatal(err)
	}
	waitIcon(tray.Paused)
	kftest.Poll(t, "the sidebar to hide", func() bool { st := sb.Read(); return st.Paused && st.Hidden })
	if p := d.pacURL(); p == fresh {
		t.Fatal("PAC not renewed on pause")
	}
	load("paused")
	if st := sb.Read(); st.State != "absent" {
		t.Fatalf("paused, a reloaded console still has the sidebar: %+v", st)
	}
	// Continue: the sidebar is back.
	if err := item.Click("继续"); err != nil {
		t.Fatal(err)
	}
	waitIcon(tray.Working)
	loadWithSidebar("continued")

	// Kill the proxy: the tray restarts it, the tab reconnects without a
	// reload; killed again at once, it waits longer (backoff).
	var gaps []time.Duration
	for range 2 {
		pid := d.proxyPID()
		if pid == 0 {
			t.Fatal("no proxy pid in status.json")
		}
		killed := time.Now()
		syscall.Kill(pid, syscall.SIGKILL)
		kftest.Poll(t, "the sidebar to notice", func() bool { return sb.Read().State == "connecting" })
		deadline := time.Now().Add(30 * time.Second)
		for p := d.proxyPID(); p == 0 || p == pid; p = d.proxyPID() {
			if time.Now().After(deadline) {
				t.Fatal("the proxy was not restarted")
			}
			time.Sleep(20 * time.Millisecond)
		}
		gaps = append(gaps, time.Since(killed))
		sb.WaitReady()
	}
	t.Logf("proxy back %v after the first kill, %v after the second", gaps[0].Round(time.Millisecond), gaps[1].Round(time.Millisecond))
	if gaps[1] < gaps[0]+500*time.Millisecond {
		t.Errorf("backoff did not grow: %v then %v", gaps[0], gaps[1])
	}
	waitIcon(tray.Working)

	// One tray: a second launch opens the status page and exits.
	if out := d.kf("tray"); !strings.Contains(out, "已在运行") {
		t.Errorf("second tray said:\n%s", out)
	}
	kftest.Poll(t, "the status page to open", func() bool {
		b, _ := os.ReadFile(d.opened)
		return strings.Contains(string(b), "http://"+d.listen+"/")
	})

	// Start at login, from the menu.
	autostartFile := filepath.Join(d.bus.Home, ".config", "autostart", "kfsidebar.desktop")
	if err := item.Click("开机启动"); err != nil {
		t.Fatal(err)
	}
	kftest.Poll(t, "autostart off", func() bool { _, err := os.Stat(autostartFile); return os.IsNotExist(err) })
	if err := item.Click("开机启动"); err != nil {
		t.Fatal(err)
	}
	kftest.Poll(t, "autostart on", func() bool { _, err := os.Stat(autostartFile); return err == nil })

	// Quit: the tray and its proxy end.
	pid := d.proxyPID()
	if err := item.Click("退出"); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-trayDone:
		trayDone <- err
		if err != nil {
			t.Fatalf("tray: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the tray did not quit")
	}
	if syscall.Kill(pid, 0) == nil {
		t.Errorf("the proxy (pid %d) outlived the tray", pid)
	}
	load("after quit")

	// Uninstall: nothing left in HOME but the session's own settings.
	d.kf("uninstall", "--store", "nss", "--listen", d.listen)
	if p := d.pacURL(); p != "" {
		if mode, _ := d.cmd("gsettings", "get", "org.gnome.system.proxy", "mode").Output(); strings.TrimSpace(string(mode)) != "'none'" {
			t.Errorf("proxy setting after uninstall: %s %s", p, mode)
		}
	}
	var left []string
	filepath.Walk(d.bus.Home, func(p string, info os.FileInfo, err error) error {
		rel, _ := filepath.Rel(d.bus.Home, p)
		switch {
		case err != nil, rel == ".":
		case info.IsDir() && strings.Count(rel, "/") == 0 && (rel == ".config" || rel == ".cache" || rel == ".local" || rel == "run"):
		case rel == ".local/share", strings.HasPrefix(rel, ".config/dconf"), strings.HasPrefix(rel, "run/"),
			strings.HasPrefix(rel, ".config/chromium"):
			// the session's bus and its settings database, and the test
			// browser's crash reports: not kfsidebar's
		default:
			left = append(left, rel)
		}
		return nil
	})
	if len(left) > 0 {
		t.Errorf("left behind in HOME: %q", left)
	}
}
