package main

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// everything lists every file and directory under root, but root.
func everything(t *testing.T, root string) []string {
	t.Helper()
	var out []string
	filepath.Walk(root, func(p string, _ os.FileInfo, err error) error {
		if err == nil && p != root {
			out = append(out, p)
		}
		return nil
	})
	return out
}

// TestSetupThenUninstallLeavesNothing: `kfsidebar setup` trusts the CA,
// sets the PAC and starts the tray at login, as the installer runs it;
// `kfsidebar uninstall` undoes each step and leaves nothing in HOME: no
// data directory, no autostart entry, no NSS database kfsidebar made, no
// ~/.cache/kfsidebar*, and the proxy setting as it was.
func TestSetupThenUninstallLeavesNothing(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the Linux stores and settings; Windows: .ci/wine-install")
	}
	home := testHome(t)
	os.RemoveAll(filepath.Join(home, ".pki")) // a new user: Chrome never ran
	_, value := fakeGSettings(t, nil)
	config := filepath.Join(home, ".config")
	t.Setenv("XDG_CONFIG_HOME", config)
	t.Setenv("XDG_CACHE_HOME", filepath.Join(home, ".cache"))
	data := filepath.Join(config, "kfsidebar")
	t.Setenv("KFSIDEBAR_DATA_DIR", data)
	// A user's home has these already; they are not kfsidebar's to remove.
	os.MkdirAll(config, 0o700)
	os.MkdirAll(filepath.Join(home, ".cache"), 0o700)
	// What older versions left: Chromium's cache of kfsidebar's profiles.
	for _, d := range []string{"kfsidebar/browser-profile", "kfsidebar-demo/browser-profile"} {
		os.MkdirAll(filepath.Join(home, ".cache", d), 0o700)
	}

	out, errOut, err := runCLI(t, "setup", "--store", "nss") // not the machine's own store
	if err != nil {
		t.Fatalf("setup: %v\n%s%s", err, out, errOut)
	}
	for _, want := range []string{"1/3", "installed and trusted", "automatic configuration http://127.0.0.1:8787/proxy.pac", "starts at login (xdg-autostart)", "Done."} {
		if !strings.Contains(out, want) {
			t.Errorf("setup output lacks %q:\n%s", want, out)
		}
	}
	if got := value("org.gnome.system.proxy mode"); got != "'auto'" {
		t.Errorf("proxy mode %s", got)
	}
	desktop := filepath.Join(config, "autostart", "kfsidebar.desktop")
	if b, err := os.ReadFile(desktop); err != nil || !strings.Contains(string(b), " tray\n") {
		t.Fatalf("autostart entry: %v\n%s", err, b)
	}
	if out, _, _ := runCLI(t, "autostart", "status"); !strings.Contains(out, "starts at login: yes") {
		t.Errorf("autostart status: %s", out)
	}

	t.Logf("setup said:\n%s", out)
	out, errOut, err = runCLI(t, "uninstall", "--store", "nss")
	defer func() { t.Logf("uninstall said:\n%s", out) }()
	if err != nil {
		t.Fatalf("uninstall: %v\n%s%s", err, out, errOut)
	}
	for _, want := range []string{"tray is not running", "no longer starts at login", "restored", ": removed", "left nothing behind"} {
		if !strings.Contains(out, want) {
			t.Errorf("uninstall output lacks %q:\n%s", want, out)
		}
	}
	if got := value("org.gnome.system.proxy mode"); got != "'none'" {
		t.Errorf("proxy mode after uninstall %s", got)
	}
	left := everything(t, home)
	if len(left) != 2 || filepath.Base(left[0]) != ".cache" || filepath.Base(left[1]) != ".config" {
		t.Errorf("left behind in HOME: %q", left)
	}
}

// TestUninstallKeepsWhatIsNotOurs: a data directory given as a folder
// that holds other things loses only kfsidebar's files; --keep-data keeps
// them too.
func TestUninstallKeepsWhatIsNotOurs(t *testing.T) {
	testHome(t)
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	t.Setenv("XDG_CURRENT_DESKTOP", "")
	dir := t.TempDir()
	for _, f := range []string{"ca.pem", "ca-key.pem", "kfsidebar.db", "kfsidebar.db-wal", "kfsidebar.log.1", ".ca.pem.tmp-123", "tray.log", "report.xlsx"} {
		os.WriteFile(filepath.Join(dir, f), []byte("x"), 0o600)
	}
	os.MkdirAll(filepath.Join(dir, "browser-profile", "Default"), 0o700)
	if out, errOut, err := runCLI(t, "uninstall", "--keep-data", "--store", "nss", "--data-dir", dir); err == nil || !strings.Contains(out, "kept "+dir) {
		// ca uninstall fails on the fake CA, which is fine here.
		t.Logf("%v\n%s%s", err, out, errOut)
	}
	if len(everything(t, dir)) < 8 {
		t.Fatal("--keep-data deleted data")
	}
	out, _, _ := runCLI(t, "uninstall", "--store", "nss", "--data-dir", dir)
	left := everything(t, dir)
	if len(left) != 1 || filepath.Base(left[0]) != "report.xlsx" || !strings.Contains(out, "it is not kfsidebar's") {
		t.Fatalf("left %q\n%s", left, out)
	}
}
