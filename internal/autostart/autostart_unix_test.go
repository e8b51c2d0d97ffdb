//go:build unix && !darwin

package autostart

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// tool finds a validator, or stops the test: a skip on a developer
// machine, a failure on CI, which installs it (.ci/run).
func tool(t *testing.T, name, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s not found (Debian: %s); CI installs it", name, pkg)
		}
		t.Skipf("%s not found (Debian: %s)", name, pkg)
	}
	return p
}

// fakeProgram is an executable at a path with a space and Chinese in it,
// which the validators check exists.
func fakeProgram(t *testing.T) string {
	t.Helper()
	exe := filepath.Join(t.TempDir(), "程序 目录", "kfsidebar")
	if err := os.MkdirAll(filepath.Dir(exe), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(exe, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return exe
}

var testEntry = Entry{
	Name: "kfsidebar", Args: []string{"tray"}, HeadlessArgs: []string{"run"},
	Title: "kfsidebar", TitleZH: "客服侧边栏", Comment: "Customer sidebar for the WeChat customer-service console", CommentZH: "微信客服工具的客户侧边栏",
}

// TestXDGAutostart: the .desktop file is valid (desktop-file-validate),
// starts the tray, honours the desktop's switch, and off leaves nothing.
func TestXDGAutostart(t *testing.T) {
	validate := tool(t, "desktop-file-validate", "desktop-file-utils")
	config := t.TempDir()
	opts := Options{ConfigDir: config, Kind: XDGAutostart}
	e := testEntry
	e.Exe = fakeProgram(t)
	st, err := Enable(e, opts)
	if err != nil || !st.Enabled || st.Kind != XDGAutostart || st.Program != e.Exe {
		t.Fatalf("enable: %+v %v", st, err)
	}
	if out, err := exec.Command(validate, st.Where).CombinedOutput(); err != nil || len(out) > 0 {
		t.Fatalf("desktop-file-validate %s: %v\n%s", st.Where, err, out)
	}
	data, _ := os.ReadFile(st.Where)
	if !strings.Contains(string(data), "Name[zh_CN]=客服侧边栏") {
		t.Errorf("no Chinese name:\n%s", data)
	}
	// Switched off in GNOME's startup applications.
	off := strings.Replace(string(data), "X-GNOME-Autostart-enabled=true", "X-GNOME-Autostart-enabled=false", 1)
	os.WriteFile(st.Where, []byte(off), 0o644)
	found, err := Check("kfsidebar", e.Exe, opts)
	if err != nil || len(found) != 1 || found[0].Enabled || found[0].DisabledBy == "" || found[0].Stale {
		t.Fatalf("switched off: %+v %v", found, err)
	}
	if found, _ := Check("kfsidebar", "/elsewhere/kfsidebar", opts); !found[0].Stale {
		t.Fatal("another program is not stale")
	}
	if st, err := Enable(e, opts); err != nil || !st.Enabled {
		t.Fatalf("enable again: %+v %v", st, err)
	}
	assertRemoved(t, config, opts)
}

// TestSystemdUserUnit: without a desktop, a systemd user unit runs the
// proxy, enabled for default.target; systemd-analyze verifies it; off
// leaves nothing. Enabling one kind removes the other.
func TestSystemdUserUnit(t *testing.T) {
	analyze := tool(t, "systemd-analyze", "systemd")
	config := t.TempDir()
	e := testEntry
	e.Exe = fakeProgram(t)
	if _, err := Enable(e, Options{ConfigDir: config, Kind: XDGAutostart}); err != nil {
		t.Fatal(err)
	}
	opts := Options{ConfigDir: config, Kind: SystemdUser}
	st, err := Enable(e, opts)
	if err != nil || !st.Enabled || st.Kind != SystemdUser || st.Program != e.Exe || !strings.HasSuffix(st.Command, `"run"`) {
		t.Fatalf("enable: %+v %v", st, err)
	}
	cmd := exec.Command(analyze, "--user", "verify", st.Where)
	cmd.Env = append(os.Environ(), "XDG_RUNTIME_DIR="+t.TempDir()) // systemd-analyze wants one, even for a file
	if out, err := cmd.CombinedOutput(); err != nil || len(out) > 0 {
		t.Fatalf("systemd-analyze --user verify %s: %v\n%s", st.Where, err, out)
	}
	found, err := Check("kfsidebar", e.Exe, opts)
	if err != nil || len(found) != 1 || found[0].Kind != SystemdUser {
		t.Fatalf("one kind at a time: %+v %v", found, err)
	}
	if target, err := os.Readlink(wantsLink(config, "kfsidebar")); err != nil || target != "../kfsidebar.service" {
		t.Fatalf("wants link %q %v", target, err)
	}
	assertRemoved(t, config, opts)
}

// assertRemoved disables and checks that config is as empty as before.
func assertRemoved(t *testing.T, config string, opts Options) {
	t.Helper()
	removed, err := Disable("kfsidebar", opts)
	if err != nil || len(removed) == 0 {
		t.Fatalf("disable: %q %v", removed, err)
	}
	var left []string
	filepath.Walk(config, func(p string, _ os.FileInfo, _ error) error {
		if p != config {
			left = append(left, p)
		}
		return nil
	})
	if len(left) > 0 {
		t.Fatalf("left behind: %q", left)
	}
	if removed, err := Disable("kfsidebar", opts); err != nil || len(removed) != 0 {
		t.Fatalf("disable twice: %q %v", removed, err)
	}
}
