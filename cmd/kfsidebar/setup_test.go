package main

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kfsidebar/kfsidebar/certs"
	"github.com/kfsidebar/kfsidebar/internal/kftest"
	"github.com/kfsidebar/kfsidebar/internal/logfile"
	"github.com/kfsidebar/kfsidebar/internal/sysproxy"
	"github.com/kfsidebar/kfsidebar/proxy/admin"
	"github.com/kfsidebar/kfsidebar/proxy/mpkftest"
)

// The setup tests run the setup commands the way a new user does: the
// real CLI, a real NSS database in a throwaway HOME (certutil), GNOME's
// settings through a stand-in gsettings (there is no desktop here), and a
// real `kfsidebar run` in front of the simulated console.

// kfRun is a `kfsidebar run` for one test, in front of its own simulated
// console.
type kfRun struct {
	addr    string
	dataDir string
	sim     *mpkftest.Server
	log     *syncBuffer // standard error: the log
	stdout  string      // the banner
	console []string    // flags that reach the simulated console: --upstream-ca, --dial
}

// startRun starts `kfsidebar run` on a loopback port with dataDir and the
// extra flags, and stops it when the test ends.
func startRun(t *testing.T, dataDir string, extra ...string) *kfRun {
	t.Helper()
	sim, console := simulatedConsole(t)
	k := &kfRun{dataDir: dataDir, sim: sim, console: console}
	args := append([]string{"run", "--listen", "127.0.0.1:0", "--data-dir", dataDir}, k.console...)
	r := start(t, append(args, extra...)...)
	k.addr, k.stdout, k.log = r.addr, r.stdout.String(), r.log
	return k
}

// simulatedConsole starts a simulated console for the test and returns it
// with the flags that send kfsidebar to it: --upstream-ca, --dial.
func simulatedConsole(t *testing.T) (*mpkftest.Server, []string) {
	t.Helper()
	sim, err := mpkftest.NewServer(mpkftest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sim.Close)
	simCA := filepath.Join(t.TempDir(), "sim-ca.pem")
	if err := os.WriteFile(simCA, sim.CA().CertPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	flags := []string{"--upstream-ca", simCA}
	for _, h := range mpkftest.Hosts {
		flags = append(flags, "--dial", h+":443="+sim.Addr())
	}
	return sim, flags
}

// getLocal fetches path from the proxy's own address.
func getLocal(t *testing.T, addr, path string) string {
	t.Helper()
	resp, err := (&http.Client{Transport: &http.Transport{Proxy: nil}, Timeout: 10 * time.Second}).Get("http://" + addr + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s %s", path, resp.Status, b)
	}
	return string(b)
}

// testHome points HOME at a fresh directory holding an empty NSS database
// where Chrome keeps it, so the trust commands never touch the real user's.
func testHome(t *testing.T) string {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("Chrome's NSS database is its trust store on Linux only, not on " + runtime.GOOS)
	}
	certutil, err := exec.LookPath("certutil")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("certutil not found; CI installs libnss3-tools")
		}
		t.Skip("certutil not found (sudo apt install libnss3-tools)")
	}
	home := t.TempDir()
	db := filepath.Join(home, ".pki", "nssdb")
	if err := os.MkdirAll(db, 0o700); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(certutil, "-N", "-d", "sql:"+db, "--empty-password").CombinedOutput(); err != nil {
		t.Fatalf("certutil -N: %v\n%s", err, out)
	}
	t.Setenv("HOME", home)
	t.Setenv("XDG_DATA_HOME", filepath.Join(home, ".local", "share"))
	return home
}

// fakeGSettings puts a stand-in gsettings first on PATH that keeps its
// values in files and records every call, and says the desktop is GNOME.
// values are initial "schema key" → GVariant text.
func fakeGSettings(t *testing.T, values map[string]string) (calls func() []string, value func(schemaKey string) string) {
	t.Helper()
	requireGNOMEPlatform(t)
	dir := t.TempDir()
	bin := filepath.Join(dir, "bin")
	state := filepath.Join(dir, "state")
	for _, d := range []string{bin, state} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	script := `#!/bin/sh
# Stand-in for gsettings: get SCHEMA KEY, set SCHEMA KEY VALUE.
echo "$*" >> "$FAKE_GSETTINGS/calls"
f="$FAKE_GSETTINGS/$2 $3"
case "$1" in
get)
	if [ -f "$f" ]; then cat "$f"; exit 0; fi
	case "$3" in
	port) echo 0 ;;
	ignore-hosts) echo "@as []" ;;
	mode) echo "'none'" ;;
	*) echo "''" ;;
	esac ;;
set) printf '%s\n' "$4" > "$f" ;;
*) echo "fake gsettings: unsupported $1" >&2; exit 1 ;;
esac
`
	if err := os.WriteFile(filepath.Join(bin, "gsettings"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	for k, v := range values {
		if err := os.WriteFile(filepath.Join(state, k), []byte(v+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("FAKE_GSETTINGS", state)
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	t.Setenv("XDG_CURRENT_DESKTOP", "ubuntu:GNOME")
	calls = func() []string {
		b, _ := os.ReadFile(filepath.Join(state, "calls"))
		return strings.Split(strings.TrimSpace(string(b)), "\n")
	}
	value = func(k string) string {
		b, err := os.ReadFile(filepath.Join(state, k))
		if err != nil {
			return ""
		}
		return strings.TrimSpace(string(b))
	}
	return calls, value
}

// requireGNOMEPlatform skips a test of GNOME's proxy settings where
// kfsidebar never uses them: on Windows and macOS, sysproxy.New returns
// the system's own settings, and the test would change those.
func requireGNOMEPlatform(t *testing.T) {
	t.Helper()
	if runtime.GOOS == "windows" || runtime.GOOS == "darwin" {
		t.Skip("GNOME's proxy settings (gsettings, a shell script here): not used on " + runtime.GOOS)
	}
}

func sets(calls []string) []string {
	var out []string
	for _, c := range calls {
		if strings.HasPrefix(c, "set ") {
			out = append(out, c)
		}
	}
	return out
}

func TestCAInstallStatusUninstall(t *testing.T) {
	testHome(t)
	dir := filepath.Join(t.TempDir(), "data")
	steps := []struct {
		args    []string
		wantErr bool
		want    []string
	}{
		{[]string{"ca", "status", "--data-dir", dir}, false, []string{"no kfsidebar CA"}},
		{[]string{"ca", "install", "--store", "nss", "--data-dir", dir}, false, []string{"✔ NSS database ~/.pki/nssdb (Chrome, Chromium): installed and trusted", "Restart the browser", "limited to mpkf.weixin.qq.com"}},
		{[]string{"ca", "install", "--store", "nss", "--data-dir", dir}, false, []string{"already trusted, left alone"}},
		{[]string{"ca", "status", "--store", "nss", "--data-dir", dir}, false, []string{"✔ NSS database ~/.pki/nssdb (Chrome, Chromium): trusted"}},
		{[]string{"ca", "uninstall", "--store", "nss", "--data-dir", dir}, false, []string{": removed"}},
		{[]string{"ca", "uninstall", "--store", "nss", "--data-dir", dir}, false, []string{"not there, nothing to remove"}},
		{[]string{"ca", "status", "--store", "nss", "--data-dir", dir}, false, []string{"✘ NSS database ~/.pki/nssdb (Chrome, Chromium): not trusted (kfsidebar ca install)"}},
		{[]string{"ca", "install", "--store", "chrome", "--data-dir", dir}, true, []string{"unknown trust store"}},
	}
	for _, st := range steps {
		out, errOut, err := runCLI(t, st.args...)
		if (err != nil) != st.wantErr {
			t.Fatalf("%v: err = %v\n%s%s", st.args, err, out, errOut)
		}
		for _, w := range st.want {
			if !strings.Contains(out+errOut, w) {
				t.Errorf("%v: output lacks %q:\n%s%s", st.args, w, out, errOut)
			}
		}
	}
}

func TestCAInstallSaysWhatItCouldNotDo(t *testing.T) {
	home := testHome(t)
	// A Firefox profile, and no certutil anywhere on PATH.
	ff := filepath.Join(home, ".mozilla", "firefox", "x.default")
	if err := os.MkdirAll(ff, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(ff, "cert9.db"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", t.TempDir())
	out, _, err := runCLI(t, "ca", "install", "--store", "nss", "--store", "firefox", "--data-dir", filepath.Join(t.TempDir(), "d"))
	if err == nil {
		t.Fatalf("install without certutil succeeded:\n%s", out)
	}
	for _, want := range []string{"✘ NSS database ~/.pki/nssdb", "libnss3-tools", "by hand: ", "Firefox profile x.default", "Trust this CA to identify websites"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

// freeAddr returns a loopback address nothing listens on right now.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func TestProxyOnOffGNOME(t *testing.T) {
	const mode, url = "org.gnome.system.proxy mode", "org.gnome.system.proxy autoconfig-url"
	// kfsidebar runs on a free port rather than 8787, which may be taken.
	listen := freeAddr(t)
	_, port, _ := net.SplitHostPort(listen)
	ours := "'http://" + listen + "/proxy.pac'"
	tests := []struct {
		name     string
		before   map[string]string
		wantOn   []string // gsettings set calls of "proxy on"
		wantOut  string
		upstream string // what run would chain to afterwards
		after    map[string]string
	}{
		{
			name:    "no proxy before",
			before:  map[string]string{mode: "'none'"},
			wantOn:  []string{"set org.gnome.system.proxy autoconfig-url " + ours, "set org.gnome.system.proxy mode 'auto'"},
			wantOut: "(was: no proxy)",
			after:   map[string]string{mode: "'none'", url: "''"},
		},
		{
			name: "office proxy before: chained, and kept for other sites",
			before: map[string]string{mode: "'manual'", "org.gnome.system.proxy.https host": "'corp-proxy'",
				"org.gnome.system.proxy.https port": "3128", "org.gnome.system.proxy ignore-hosts": "['localhost', '*.corp.example']"},
			wantOn:   []string{"set org.gnome.system.proxy autoconfig-url " + ours, "set org.gnome.system.proxy mode 'auto'"},
			wantOut:  "chains the console to the proxy that was set, corp-proxy:3128",
			upstream: "corp-proxy:3128",
			after:    map[string]string{mode: "'manual'", url: "''"},
		},
		{
			name:   "kfsidebar itself set by hand before: never chained to",
			before: map[string]string{mode: "'manual'", "org.gnome.system.proxy.http host": "'127.0.0.1'", "org.gnome.system.proxy.http port": port},
			wantOn: []string{"set org.gnome.system.proxy autoconfig-url " + ours, "set org.gnome.system.proxy mode 'auto'"},
			after:  map[string]string{mode: "'manual'"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			calls, value := fakeGSettings(t, tt.before)
			dir := t.TempDir()
			out, _, err := runCLI(t, "proxy", "on", "--data-dir", dir, "--listen", listen)
			if err != nil {
				t.Fatalf("proxy on: %v\n%s", err, out)
			}
			if got := sets(calls()); !slices.Equal(got, tt.wantOn) {
				t.Errorf("proxy on ran %q, want %q", got, tt.wantOn)
			}
			if !strings.Contains(out, tt.wantOut) || !strings.Contains(out, "not running") ||
				!strings.Contains(out, "Undo with `kfsidebar proxy off --data-dir "+shellQuote(dir)+" --listen "+listen+"`") {
				t.Errorf("proxy on said:\n%s", out)
			}
			if value(mode) != "'auto'" || value(url) != ours {
				t.Fatalf("after on: mode %s url %s", value(mode), value(url))
			}
			// Twice: nothing changes, and what was there before is still
			// what off restores.
			n := len(sets(calls()))
			if out, _, err := runCLI(t, "proxy", "on", "--data-dir", dir, "--listen", listen); err != nil || !strings.Contains(out, "nothing changed") || len(sets(calls())) != n {
				t.Fatalf("second proxy on: %v\n%s", err, out)
			}
			if out, _, _ := runCLI(t, "proxy", "status", "--data-dir", dir, "--listen", listen); !strings.Contains(out, "(kfsidebar)") {
				t.Errorf("proxy status: %s", out)
			}

			k := startRun(t, dir, "--listen", listen)
			var st admin.Status
			if err := json.Unmarshal([]byte(getLocal(t, k.addr, "/status.json")), &st); err != nil {
				t.Fatal(err)
			}
			if st.Upstream != tt.upstream {
				t.Errorf("run chains to %q, want %q", st.Upstream, tt.upstream)
			}
			if tt.upstream != "" {
				pac := getLocal(t, k.addr, "/proxy.pac")
				for _, want := range []string{`return "PROXY ` + tt.upstream + `"`, `shExpMatch(host, "*.corp.example")`} {
					if !strings.Contains(pac, want) {
						t.Errorf("PAC lacks %s:\n%s", want, pac)
					}
				}
				if !strings.Contains(k.stdout, "upstream:     "+tt.upstream) {
					t.Errorf("banner does not name the upstream:\n%s", k.stdout)
				}
			}

			out, _, err = runCLI(t, "proxy", "off", "--data-dir", dir, "--listen", listen)
			if err != nil || !strings.Contains(out, "restored") {
				t.Fatalf("proxy off: %v\n%s", err, out)
			}
			for k, want := range tt.after {
				if got := value(k); got != want {
					t.Errorf("after off: %s = %s, want %s", k, got, want)
				}
			}
			if _, err := os.Stat(filepath.Join(dir, sysproxy.StateFile)); !os.IsNotExist(err) {
				t.Errorf("state file left behind: %v", err)
			}
			if out, _, err := runCLI(t, "proxy", "off", "--data-dir", dir, "--listen", listen); err != nil || !strings.Contains(out, "nothing to undo") {
				t.Errorf("second proxy off: %v\n%s", err, out)
			}
		})
	}
}

func TestProxyOnLeavesAnotherPACAlone(t *testing.T) {
	calls, value := fakeGSettings(t, map[string]string{
		"org.gnome.system.proxy mode":           "'auto'",
		"org.gnome.system.proxy autoconfig-url": "'http://wpad.corp.example/proxy.pac'",
	})
	out, _, err := runCLI(t, "proxy", "on", "--data-dir", t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "will not replace it") || !strings.Contains(err.Error(), `if (host == "mpkf.weixin.qq.com") return "PROXY 127.0.0.1:8787; DIRECT";`) {
		t.Fatalf("proxy on over a company PAC: %v\n%s", err, out)
	}
	if s := sets(calls()); len(s) != 0 || value("org.gnome.system.proxy autoconfig-url") != "'http://wpad.corp.example/proxy.pac'" {
		t.Fatalf("settings changed: %q", s)
	}
}

func TestProxyOffLeavesLaterChangesAlone(t *testing.T) {
	_, value := fakeGSettings(t, map[string]string{"org.gnome.system.proxy mode": "'none'"})
	dir := t.TempDir()
	if _, _, err := runCLI(t, "proxy", "on", "--data-dir", dir); err != nil {
		t.Fatal(err)
	}
	// The user picks another PAC in the desktop's settings afterwards.
	if out, err := exec.Command("gsettings", "set", "org.gnome.system.proxy", "autoconfig-url", "'http://other/pac'").CombinedOutput(); err != nil {
		t.Fatalf("%v %s", err, out)
	}
	out, _, err := runCLI(t, "proxy", "off", "--data-dir", dir)
	if err != nil || !strings.Contains(out, "changed since") || value("org.gnome.system.proxy autoconfig-url") != "'http://other/pac'" {
		t.Fatalf("proxy off: %v\n%s", err, out)
	}
}

func TestProxyWithoutGNOMESaysWhatToDo(t *testing.T) {
	requireGNOMEPlatform(t)
	t.Setenv("XDG_CURRENT_DESKTOP", "KDE")
	_, _, err := runCLI(t, "proxy", "on", "--data-dir", t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "KDE: System Settings") || !strings.Contains(err.Error(), "kfsidebar open") {
		t.Fatalf("proxy on under KDE: %v", err)
	}
}

func TestUpstreamProxyIsNeverKfsidebarItself(t *testing.T) {
	addr := freeAddr(t)
	_, port, _ := net.SplitHostPort(addr)
	for _, up := range []string{"http://" + addr, "http://localhost:" + port, port2("[::1]", port)} {
		_, _, err := runCLI(t, "run", "--listen", addr, "--data-dir", t.TempDir(), "--upstream-proxy", up)
		if err == nil || !strings.Contains(err.Error(), "kfsidebar itself") {
			t.Errorf("--upstream-proxy %s: %v, want a refusal", up, err)
		}
	}
}

func port2(host, port string) string { return "http://" + host + ":" + port }

func TestIsSelf(t *testing.T) {
	tests := []struct {
		hp, addr string
		want     bool
	}{
		{"127.0.0.1:8787", "127.0.0.1:8787", true},
		{"localhost:8787", "127.0.0.1:8787", true},
		{"[::1]:8787", "127.0.0.1:8787", true},
		{"127.0.0.1:8787", "0.0.0.0:8787", true},
		{"127.0.0.1:3128", "127.0.0.1:8787", false},
		{"corp:8787", "127.0.0.1:8787", false},
		{"10.0.0.5:8787", "127.0.0.1:8787", false},
	}
	for _, tt := range tests {
		if got := isSelf(tt.hp, tt.addr); got != tt.want {
			t.Errorf("isSelf(%s, %s) = %v, want %v", tt.hp, tt.addr, got, tt.want)
		}
	}
}

func waitFile(t *testing.T, path string) []string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if b, err := os.ReadFile(path); err == nil {
			os.Remove(path)
			return strings.Split(strings.TrimSpace(string(b)), "\n")
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s never appeared", path)
	return nil
}

func TestOpen(t *testing.T) {
	home := testHome(t)
	argsFile := useFakeBrowser(t, "record")
	dir := filepath.Join(t.TempDir(), "data")
	if _, _, err := runCLI(t, "open", "--data-dir", dir, "--listen", "127.0.0.1:1"); err == nil || !strings.Contains(err.Error(), "not running") {
		t.Fatalf("open without kfsidebar running: %v", err)
	}
	k := startRun(t, dir)
	ca, err := certs.LoadExisting(dir)
	if err != nil {
		t.Fatal(err)
	}
	pin := "--ignore-certificate-errors-spki-list=" + ca.SPKIHash()

	out, _, err := runCLI(t, "open", "--data-dir", dir, "--listen", k.addr)
	if err != nil {
		t.Fatal(err)
	}
	got := waitFile(t, argsFile)
	for _, want := range []string{"--user-data-dir=" + filepath.Join(dir, browserProfileDir), "--proxy-pac-url=http://" + k.addr + "/proxy.pac", pin, "https://mpkf.weixin.qq.com/"} {
		if !slices.Contains(got, want) {
			t.Errorf("browser args %q lack %q", got, want)
		}
	}
	if !strings.Contains(out, "lifts the") {
		t.Errorf("open pinned the CA without saying that the pin lifts the name constraint:\n%s", out)
	}

	// Once the CA is trusted, the profile needs no pin.
	if _, _, err := runCLI(t, "ca", "install", "--store", "nss", "--data-dir", dir); err != nil {
		t.Fatal(err)
	}
	out, _, err = runCLI(t, "open", "--data-dir", dir, "--listen", k.addr)
	if err != nil {
		t.Fatal(err)
	}
	if got := waitFile(t, argsFile); slices.Contains(got, pin) || strings.Contains(out, "lifts") {
		t.Errorf("pinned although the CA is trusted: %q\n%s", got, out)
	}
	// open changed nothing outside the data directory (the NSS database
	// is what ca install changed, not open).
	entries, _ := os.ReadDir(home)
	for _, e := range entries {
		if e.Name() != ".pki" && e.Name() != ".local" {
			t.Errorf("open left %s in HOME", e.Name())
		}
	}
}

// TestOpenBrowserThatCannotStart: a browser that quits at once with an
// error (no display, say) makes open fail with what the browser said.
func TestOpenBrowserThatCannotStart(t *testing.T) {
	testHome(t)
	useFakeBrowser(t, "fail")
	dir := filepath.Join(t.TempDir(), "data")
	k := startRun(t, dir)
	_, _, err := runCLI(t, "open", "--data-dir", dir, "--listen", k.addr)
	if err == nil || !strings.Contains(err.Error(), "did not start") || !strings.Contains(err.Error(), "Missing X server") {
		t.Fatalf("open with a browser that cannot start: %v", err)
	}
}

func TestDoctor(t *testing.T) {
	testHome(t)
	fakeGSettings(t, map[string]string{"org.gnome.system.proxy mode": "'none'"})
	dir := filepath.Join(t.TempDir(), "data")
	k := startRun(t, dir)
	doctorArgs := append([]string{"doctor", "--data-dir", dir, "--listen", k.addr}, k.console...)

	out, _, err := runCLI(t, doctorArgs...)
	if err == nil {
		t.Fatalf("doctor found nothing wrong before setup:\n%s", out)
	}
	for _, want := range []string{
		"✔ data directory", "✔ CA key", "✔ root CA", "✔ proxy: kfsidebar", "✔ PAC file",
		"✘ CA trusted by a browser", "fix: kfsidebar ca install",
		"⚠ system proxy: GNOME proxy settings: no proxy", "fix: kfsidebar proxy on",
		"✔ console mpkf.weixin.qq.com: reachable, certificate verified",
		"✔ order backend", "✔ chats saved: yes", "✔ connections: 0 of ",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("doctor before setup lacks %q:\n%s", want, out)
		}
	}
	if exitCode(err) != 1 {
		t.Errorf("exit code %d, want 1", exitCode(err))
	}

	for _, args := range [][]string{{"ca", "install", "--store", "nss", "--data-dir", dir}, {"proxy", "on", "--data-dir", dir, "--listen", k.addr}} {
		if out, _, err := runCLI(t, args...); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, out)
		}
	}
	out, _, err = runCLI(t, doctorArgs...)
	if err != nil || !strings.Contains(out, "All good.") || !strings.Contains(out, "✔ system proxy") {
		t.Fatalf("doctor after setup: %v\n%s", err, out)
	}

	// Nothing set up, nothing running, no network: every problem named.
	out, _, err = runCLI(t, "doctor", "--data-dir", filepath.Join(t.TempDir(), "none"), "--listen", "127.0.0.1:1", "--console-host", "console.kfsidebar.invalid")
	if err == nil {
		t.Fatal("doctor passed with nothing set up")
	}
	for _, want := range []string{"✘ data directory", "✘ root CA: there is none", "✘ proxy: nothing answers", "fix: start kfsidebar from the menu (the tray)", "✘ console console.kfsidebar.invalid: offline", "⚠ order backend: unknown"} {
		if !strings.Contains(out, want) {
			t.Errorf("doctor with nothing set up lacks %q:\n%s", want, out)
		}
	}
}

func TestDoctorFindsLooseModes(t *testing.T) {
	kftest.SkipOnWindows(t, "Unix file modes; the user profile's ACLs protect the data directory")
	dir := filepath.Join(t.TempDir(), "data")
	if _, _, err := runCLI(t, "ca", "export", "--data-dir", dir); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(dir, certs.KeyFile), 0o644); err != nil {
		t.Fatal(err)
	}
	out, _, _ := runCLI(t, "doctor", "--data-dir", dir, "--listen", "127.0.0.1:1")
	for _, want := range []string{"other users can read it", "fix: chmod 700", "other users can read the key", "fix: chmod 600"} {
		if !strings.Contains(out, want) {
			t.Errorf("doctor lacks %q:\n%s", want, out)
		}
	}
}

// TestDoctorFindsHalfACA: with one of the CA's two files gone, doctor
// says which and what to do, as ca install would, instead of "there is
// none" and a ca install that then refuses.
func TestDoctorFindsHalfACA(t *testing.T) {
	for _, gone := range []string{certs.KeyFile, certs.CertFile} {
		t.Run(gone, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "data")
			if _, _, err := runCLI(t, "ca", "export", "--data-dir", dir); err != nil {
				t.Fatal(err)
			}
			if err := os.Remove(filepath.Join(dir, gone)); err != nil {
				t.Fatal(err)
			}
			out, _, _ := runCLI(t, "doctor", "--data-dir", dir, "--listen", "127.0.0.1:1")
			if !strings.Contains(out, "✘ root CA: ca incomplete") {
				t.Errorf("doctor does not say the CA is incomplete:\n%s", out)
			}
			if !strings.Contains(out, filepath.Join(dir, gone)+" is missing") {
				t.Errorf("doctor does not name the missing %s:\n%s", gone, out)
			}
			if strings.Contains(out, "there is none") {
				t.Errorf("doctor says there is no CA:\n%s", out)
			}
		})
	}
}

func TestRunWritesLogFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	k := startRun(t, dir)
	b, err := os.ReadFile(filepath.Join(dir, logfile.Name))
	if err != nil || !strings.Contains(string(b), "kfsidebar started") {
		t.Fatalf("log file: %v %q", err, b)
	}
	if !strings.Contains(k.stdout, "log file:     "+filepath.Join(dir, logfile.Name)) {
		t.Errorf("banner does not name the log file:\n%s", k.stdout)
	}
}

func TestVersion(t *testing.T) {
	out, _, err := runCLI(t, "version")
	if err != nil || !strings.HasPrefix(out, "kfsidebar ") || !strings.Contains(out, "go1.") {
		t.Fatalf("version: %v %q", err, out)
	}
}
