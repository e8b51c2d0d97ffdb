package autostart

import (
	"crypto/rand"
	"encoding/hex"
	"os"
	"os/exec"
	"strings"
	"testing"

	"golang.org/x/sys/windows"
	"golang.org/x/sys/windows/registry"
)

// scratchKeys points the package at a key of the test's own under
// HKCU\Software, deleted afterwards: safe on a developer's real Windows.
func scratchKeys(t *testing.T) string {
	t.Helper()
	var b [6]byte
	rand.Read(b[:])
	base := `Software\kfsidebar-test-` + hex.EncodeToString(b[:])
	saved := keyPaths
	keyPaths = [2]string{base + `\Run`, base + `\StartupApproved\Run`}
	t.Cleanup(func() {
		keyPaths = saved
		for _, k := range []string{base + `\StartupApproved\Run`, base + `\StartupApproved`, base + `\Run`, base} {
			registry.DeleteKey(registry.CURRENT_USER, k)
		}
	})
	return base
}

func TestRunKeyInTheRegistry(t *testing.T) {
	scratchKeys(t)
	e := Entry{Name: "kfsidebar", Exe: `C:\Users\张三\AppData\Local\Programs\kfsidebar\kfsidebarw.exe`}
	st, err := Enable(e, Options{})
	if err != nil || !st.Enabled || st.Command != `"`+e.Exe+`"` {
		t.Fatalf("enable: %+v %v", st, err)
	}
	k, err := registry.OpenKey(registry.CURRENT_USER, keyPaths[1], registry.SET_VALUE)
	if err != nil {
		t.Fatal(err)
	}
	k.SetBinaryValue("kfsidebar", []byte{3, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8})
	k.Close()
	if found, err := Check("kfsidebar", e.Exe, Options{}); err != nil || len(found) != 1 || found[0].Enabled || found[0].DisabledBy != "Task Manager" {
		t.Fatalf("disabled in Task Manager: %+v %v", found, err)
	}
	if removed, err := Disable("kfsidebar", Options{}); err != nil || len(removed) != 1 {
		t.Fatalf("disable: %q %v", removed, err)
	}
	if found, err := Check("kfsidebar", e.Exe, Options{}); err != nil || len(found) != 0 {
		t.Fatalf("after disable: %+v %v", found, err)
	}
}

// TestRealRunKey changes the real Run key, so it runs only in a Wine
// prefix made for the test run (.ci/wine sets KFSIDEBAR_TEST_WINE_PREFIX=1)
// and reads the value back with Windows' own reg.exe.
func TestRealRunKey(t *testing.T) {
	isWine := windows.NewLazySystemDLL("ntdll.dll").NewProc("wine_get_version").Find() == nil
	if !isWine || os.Getenv("KFSIDEBAR_TEST_WINE_PREFIX") != "1" {
		t.Skip("changes this user's real Run key: only in a throw-away Wine prefix (.ci/wine)")
	}
	e := Entry{Name: "kfsidebar-test", Exe: `C:\Program Files\kfsidebar\kfsidebarw.exe`}
	if _, err := Enable(e, Options{}); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("reg", "query", `HKCU\`+runKeyPath, "/v", e.Name).CombinedOutput()
	if err != nil || !strings.Contains(string(out), `"C:\Program Files\kfsidebar\kfsidebarw.exe"`) {
		t.Fatalf("reg query: %v\n%s", err, out)
	}
	if _, err := Disable(e.Name, Options{}); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("reg", "query", `HKCU\`+runKeyPath, "/v", e.Name).CombinedOutput(); err == nil {
		t.Fatalf("value still there:\n%s", out)
	}
}
