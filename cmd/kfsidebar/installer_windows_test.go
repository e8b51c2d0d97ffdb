package main

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kfsidebar/kfsidebar/certs"
	"github.com/kfsidebar/kfsidebar/internal/autostart"
	"github.com/kfsidebar/kfsidebar/internal/kftest"
	"github.com/kfsidebar/kfsidebar/internal/sysproxy"
	"github.com/kfsidebar/kfsidebar/internal/tray"
)

// installerEnv names the installer TestWindowsInstaller runs: .ci/wine
// builds it (make dist-windows) and sets it.
const installerEnv = "KFSIDEBAR_TEST_INSTALLER"

// TestWindowsInstaller installs kfsidebar as an IT person's script would,
// with the installer run silently (setup.exe /S), and uninstalls it the
// same way (uninstall.exe /S), against this user's real settings: only in
// .ci/wine's throw-away prefix. Installed: both programs, the Run value
// starting the tray, the system's PAC setting on kfsidebar (renewed by the
// tray), the CA in the user root store, the tray running its proxy and
// holding the one-tray lock. Uninstalled: none of it, the proxy setting as
// it was before, and no file, registry key or shortcut left behind; with
// /KEEPDATA, the data alone stays.
func TestWindowsInstaller(t *testing.T) {
	kftest.RealWindowsSettings(t)
	setup := os.Getenv(installerEnv)
	if setup == "" {
		t.Skip("no installer to run: " + installerEnv + " names it (.ci/wine builds it with make dist-windows)")
	}
	const addr = "127.0.0.1:8787" // the installed kfsidebar's default
	if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		c.Close()
		t.Fatalf("%s is taken: the installed kfsidebar must listen there", addr)
	}
	ctx := context.Background()
	instDir := filepath.Join(os.Getenv("LOCALAPPDATA"), "Programs", "kfsidebar")
	dataDir := DefaultConfig().DataDir
	shortcut := filepath.Join(os.Getenv("APPDATA"), `Microsoft\Windows\Start Menu\Programs\kfsidebar.lnk`)
	trayExe := filepath.Join(instDir, guiExe)
	sys, err := sysproxy.New()
	if err != nil {
		t.Fatal(err)
	}
	before, err := sys.Get(ctx)
	if err != nil {
		t.Fatal(err)
	}

	runInstaller(t, setup, "/S")
	t.Cleanup(func() { // a failed test leaves the next tests a clean prefix
		if un := filepath.Join(instDir, "uninstall.exe"); !t.Failed() || exec.Command(un, "/S").Run() != nil {
			return
		}
		waitFor(t, "the uninstaller", time.Minute, func() bool { _, err := os.Stat(instDir); return os.IsNotExist(err) })
	})
	for _, f := range []string{"kfsidebar.exe", guiExe, "uninstall.exe", "INSTALL.zh.md"} {
		if _, err := os.Stat(filepath.Join(instDir, f)); err != nil {
			t.Errorf("not installed: %v", err)
		}
	}
	if _, err := os.Stat(shortcut); err != nil {
		t.Errorf("no Start menu shortcut: %v", err)
	}
	found, err := autostart.Check(autostartName, trayExe, autostart.Options{})
	if err != nil || !autostart.Enabled(found) || found[0].Stale || found[0].Command != `"`+trayExe+`"` {
		t.Errorf("autostart after install: %+v, %v; want the Run value %q", found, err, `"`+trayExe+`"`)
	}
	serving := func() bool {
		resp, err := http.Get("http://" + addr + "/status.json")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}
	waitFor(t, "the tray's proxy at "+addr, time.Minute, serving)
	// The tray renews the PAC's URL once its proxy serves.
	pac := "http://" + addr + "/proxy.pac"
	waitFor(t, "the renewed PAC setting", 10*time.Second, func() bool {
		s, err := sys.Get(ctx)
		return err == nil && sysproxy.SamePAC(s.PACURL, pac) && strings.Contains(s.PACURL, "?")
	})
	if release, held, err := tray.Lock(filepath.Join(dataDir, trayLockFile)); err != nil || held {
		t.Errorf("the one-tray lock while the installed tray runs: held %v, %v; want it taken", held, err)
		if held {
			release()
		}
	}
	ca, err := certs.LoadExisting(dataDir)
	if err != nil {
		t.Fatal(err)
	}
	if !inUserRoot(ca) {
		t.Errorf("the CA after install: not in the user root store (%s)", userRootKey(ca))
	}

	// The uninstaller copies itself out of the folder it deletes and
	// returns at once: what it leaves is checked once the folder is gone.
	runInstaller(t, filepath.Join(instDir, "uninstall.exe"), "/S")
	waitFor(t, "the uninstaller to delete "+instDir, time.Minute, func() bool {
		_, err := os.Stat(instDir)
		return os.IsNotExist(err)
	})
	for _, gone := range []string{dataDir, shortcut} {
		if _, err := os.Stat(gone); !os.IsNotExist(err) {
			t.Errorf("left behind: %s (%v)", gone, err)
		}
	}
	if found, err := autostart.Check(autostartName, trayExe, autostart.Options{}); err != nil || len(found) > 0 {
		t.Errorf("autostart after uninstall: %+v, %v; want none", found, err)
	}
	if after, err := sys.Get(ctx); err != nil || after.PACURL != before.PACURL || after.Proxy != before.Proxy {
		t.Errorf("the proxy setting after uninstall: %s (%v); before install: %s", after.Describe(), err, before.Describe())
	}
	for _, key := range []string{`HKCU\Software\kfsidebar`, `HKCU\Software\Microsoft\Windows\CurrentVersion\Uninstall\kfsidebar`} {
		if out, err := exec.Command("reg", "query", key).CombinedOutput(); err == nil {
			t.Errorf("left behind: %s\n%s", key, out)
		}
	}
	if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		c.Close()
		t.Errorf("something still listens on %s: the tray's proxy outlived the uninstall", addr)
	}
	leftInRoot(t, ca)

	// Installed again, and uninstalled keeping the data (what the
	// uninstaller's question does when answered Yes): the CA and the
	// database stay for a later install, every setting goes.
	runInstaller(t, setup, "/S")
	waitFor(t, "the tray's proxy after installing again", time.Minute, serving)
	runInstaller(t, filepath.Join(instDir, "uninstall.exe"), "/S", "/KEEPDATA")
	waitFor(t, "uninstall /KEEPDATA to delete "+instDir, time.Minute, func() bool {
		_, err := os.Stat(instDir)
		return os.IsNotExist(err)
	})
	for _, kept := range []string{certs.CertFile, certs.KeyFile, dbFile} {
		if _, err := os.Stat(filepath.Join(dataDir, kept)); err != nil {
			t.Errorf("uninstall /KEEPDATA did not keep %s: %v", kept, err)
		}
	}
	if found, err := autostart.Check(autostartName, trayExe, autostart.Options{}); err != nil || len(found) > 0 {
		t.Errorf("autostart after uninstall /KEEPDATA: %+v, %v; want none", found, err)
	}
	if after, err := sys.Get(ctx); err != nil || after.PACURL != before.PACURL {
		t.Errorf("the proxy setting after uninstall /KEEPDATA: %s (%v); before install: %s", after.Describe(), err, before.Describe())
	}
	if ca, err := certs.LoadExisting(dataDir); err == nil {
		leftInRoot(t, ca)
	}
	os.RemoveAll(dataDir)
}

// userRootKey is where the user root store keeps ca: the registry key
// named by its SHA-1 thumbprint. The test reads the registry rather than
// asking crypt32 to verify, which Wine answers from a root store it read
// once per process and never again (the tests after this one would see
// a stale store).
func userRootKey(ca *certs.CA) string {
	sum := sha1.Sum(ca.Cert.Raw)
	return `HKCU\Software\Microsoft\SystemCertificates\Root\Certificates\` + strings.ToUpper(hex.EncodeToString(sum[:]))
}

func inUserRoot(ca *certs.CA) bool {
	return exec.Command("reg", "query", userRootKey(ca)).Run() == nil
}

// leftInRoot fails the test when the uninstaller left ca in the user root
// store. Wine 8 keeps a root it was asked to delete (see
// TestWindowsSetupCommands): there the test logs it and deletes the key
// itself, so that the tests after it start from a clean store.
func leftInRoot(t *testing.T, ca *certs.CA) {
	t.Helper()
	switch {
	case !inUserRoot(ca):
	case kftest.IsWine():
		t.Logf("Wine 8 keeps a deleted root certificate; the uninstaller asked for it to go; removing %s for the next tests", userRootKey(ca))
		if out, err := exec.Command("reg", "delete", userRootKey(ca), "/f").CombinedOutput(); err != nil {
			t.Errorf("reg delete: %v\n%s", err, out)
		}
	default:
		t.Errorf("the CA is still in the user root store after uninstall (%s)", userRootKey(ca))
	}
}

// runInstaller runs an NSIS installer or uninstaller and waits for it.
func runInstaller(t *testing.T, exe string, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	t0 := time.Now()
	// No output is read: the tray the installer starts would inherit the
	// pipe and hold it open for ever. A silent NSIS installer prints
	// nothing anyway.
	if err := exec.CommandContext(ctx, exe, args...).Run(); err != nil {
		t.Fatalf("%s %s: %v", filepath.Base(exe), strings.Join(args, " "), err)
	}
	t.Logf("%s %s took %v", filepath.Base(exe), strings.Join(args, " "), time.Since(t0).Round(time.Millisecond))
}

// waitFor is kftest.Poll with a timeout for what takes long under Wine.
func waitFor(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
