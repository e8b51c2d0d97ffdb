package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/kfsidebar/kfsidebar/certs"
	"github.com/kfsidebar/kfsidebar/internal/kftest"
)

// runCLI runs the command line and returns its output and error.
func runCLI(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errOut strings.Builder
	err = Run(context.Background(), args, &out, &errOut)
	return out.String(), errOut.String(), err
}

func TestUsage(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		wantErr  bool
		wantCode int
		wantOut  string // in stdout or stderr
	}{
		{"no command", nil, true, 2, "Commands:"},
		{"help", []string{"help"}, false, 0, "kfsidebar demo --open"},
		{"unknown command", []string{"frobnicate"}, true, 2, "Commands:"},
		{"run -h", []string{"run", "-h"}, false, 0, "-listen"},
		{"bad flag", []string{"run", "--no-such-flag"}, true, 2, "flag provided but not defined"},
		{"ca without subcommand", []string{"ca"}, true, 2, "export"},
		{"orders without file", []string{"orders", "import", "--data-dir", t.TempDir()}, true, 2, "FILE.json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, errOut, err := runCLI(t, tt.args...)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if err != nil && exitCode(err) != tt.wantCode {
				t.Errorf("exit code %d, want %d", exitCode(err), tt.wantCode)
			}
			if !strings.Contains(out+errOut, tt.wantOut) {
				t.Errorf("output lacks %q:\n%s%s", tt.wantOut, out, errOut)
			}
		})
	}
}

func TestBadConfigNamesTheFlag(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--listen", "nonsense"}, "--listen"},
		{[]string{"--session-ttl", "-1h"}, "--session-ttl"},
		{[]string{"--tunnel-idle-timeout", "0s"}, "--tunnel-idle-timeout"},
		{[]string{"--console-host", "10.0.0.1"}, "--console-host"},
		{[]string{"--dial", "mpkf.weixin.qq.com=nowhere"}, "HOST:PORT"},
		{[]string{"--log-level", "loud"}, "log-level"},
	}
	for _, tt := range tests {
		args := append([]string{"run", "--data-dir", t.TempDir()}, tt.args...)
		_, errOut, err := runCLI(t, args...)
		if err == nil {
			t.Fatalf("%v: no error", tt.args)
		}
		if !strings.Contains(err.Error()+errOut, tt.want) {
			t.Errorf("%v: error %q / %q does not name %s", tt.args, err, errOut, tt.want)
		}
	}
}

func TestCAExport(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	out, _, err := runCLI(t, "ca", "export", "--data-dir", dir)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode([]byte(out))
	if block == nil {
		t.Fatalf("not PEM: %q", out)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil || !cert.IsCA || len(cert.PermittedDNSDomains) == 0 {
		t.Fatalf("not a constrained CA: %v %+v", err, cert)
	}
	if runtime.GOOS != "windows" {
		for name, want := range map[string]os.FileMode{dir: 0o700, filepath.Join(dir, certs.KeyFile): 0o600} {
			fi, err := os.Stat(name)
			if err != nil {
				t.Fatal(err)
			}
			if got := fi.Mode().Perm(); got != want {
				t.Errorf("%s mode %o, want %o", name, got, want)
			}
		}
	}
	again, _, err := runCLI(t, "ca", "export", "--data-dir", dir)
	if err != nil || again != out {
		t.Fatalf("second export differs (err %v): the CA must be made once", err)
	}
}

func TestOrdersImportErrorNamesRecordAndField(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "shop.json")
	os.WriteFile(file, []byte(`{"customers":[{"openid":"oA","name":"张三"}],
		"orders":[{"order_no":"1","openid":"oA","created_at":"2026-11-20T10:00:00+08:00","status":"paid","amount_fen":100,
		"items":[{"title":"杯","qty":0,"price_fen":100}]}]}`), 0o600)
	_, _, err := runCLI(t, "orders", "import", "--data-dir", filepath.Join(dir, "data"), file)
	if err == nil {
		t.Fatal("bad file imported")
	}
	for _, want := range []string{"shop.json", "orders[0].items[0].qty", "nothing was imported"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	os.WriteFile(file, []byte(`{"customers":[{"openid":"oA","name":"张三"}],"orders":[]}`), 0o600)
	out, _, err := runCLI(t, "orders", "import", "--data-dir", filepath.Join(dir, "data"), file)
	if err != nil || !strings.Contains(out, "imported 1 customers") {
		t.Fatalf("good import: %v %q", err, out)
	}
}

func TestDemoServesTheInjectedConsole(t *testing.T) {
	dir := t.TempDir()
	demo := start(t, "demo", "--listen", "127.0.0.1:0", "--data-dir", dir)
	addr, out := demo.addr, demo.stdout.String()
	for _, want := range []string{"--proxy-server=" + addr, "--ignore-certificate-errors-spki-list=", "--user-data-dir=", "kfindex?token="} {
		if !strings.Contains(out, want) {
			t.Errorf("demo output lacks %q:\n%s", want, out)
		}
	}
	ca, _, err := certs.LoadOrCreate(dir, certs.Options{Hosts: []string{"mpkf.weixin.qq.com"}})
	if err != nil {
		t.Fatal(err)
	}
	proxyURL, _ := url.Parse("http://" + addr)
	c := &http.Client{Transport: &http.Transport{Proxy: http.ProxyURL(proxyURL), TLSClientConfig: &tls.Config{RootCAs: ca.Pool()}}}
	resp, err := c.Get("https://mpkf.weixin.qq.com/cgi-bin/kfindex?token=1234567890")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if !strings.Contains(string(body), "/__kfsidebar/sidebar.js?") {
		t.Fatalf("demo console page has no sidebar script:\n%.500s", body)
	}
	status, err := http.Get("http://" + addr + "/")
	if err != nil {
		t.Fatal(err)
	}
	status.Body.Close()
	if status.StatusCode != http.StatusOK {
		t.Fatalf("status page: %s", status.Status)
	}
}

// TestDemoWithConfig: demo --config takes the order backend from the file
// (the sidebar then asks it, as TestE2EOrderBackends proves for run), and a
// bad file stops the demo with the key named.
func TestDemoWithConfig(t *testing.T) {
	config := exampleShopConfig(t, nil)
	out := start(t, "demo", "--listen", "127.0.0.1:0", "--data-dir", t.TempDir(), "--config", config).stdout.String()
	if want := "orders:         the http backend of " + config; !strings.Contains(out, want) {
		t.Errorf("demo output lacks %q:\n%s", want, out)
	}

	bad := filepath.Join(t.TempDir(), "kfsidebar.toml")
	if err := os.WriteFile(bad, []byte("[orders]\nbackend = \"oracle\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr strings.Builder
	err := Run(context.Background(), []string{"demo", "--listen", "127.0.0.1:0", "--data-dir", t.TempDir(), "--config", bad}, &stdout, &stderr)
	if err == nil || !strings.Contains(err.Error(), "orders.backend") {
		t.Errorf("demo with backend = \"oracle\": error %v, want one naming orders.backend", err)
	}
}

// TestDemoOpenBrowserThatCannotStart: demo --open says so when the browser
// quits at once, and goes on serving.
func TestDemoOpenBrowserThatCannotStart(t *testing.T) {
	useFakeBrowser(t, "fail")
	demo := start(t, "demo", "--open", "--listen", "127.0.0.1:0", "--data-dir", t.TempDir())
	kftest.Poll(t, "demo --open to report the browser", func() bool { return strings.Contains(demo.stdout.String(), "did not start") })
	if out := demo.stdout.String(); !strings.Contains(out, "did not start (exit status 1)") || !strings.Contains(out, "Missing X server") {
		t.Errorf("demo --open with a browser that cannot start said:\n%s", out)
	}
}

func TestNonLoopbackListenWarns(t *testing.T) {
	out := start(t, "run", "--listen", "0.0.0.0:0", "--data-dir", t.TempDir()).stdout.String()
	if !strings.Contains(out, "WARNING") {
		t.Fatalf("no warning for a non-loopback listener:\n%s", out)
	}
	out = start(t, "run", "--listen", "127.0.0.1:0", "--data-dir", t.TempDir()).stdout.String()
	if strings.Contains(out, "WARNING") {
		t.Fatalf("warning for a loopback listener:\n%s", out)
	}
}

func TestExitCode(t *testing.T) {
	if got := exitCode(errors.New("x")); got != 1 {
		t.Errorf("plain error: %d", got)
	}
	if got := exitCode(usageError{"x"}); got != 2 {
		t.Errorf("usage error: %d", got)
	}
}

func TestTokenSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	first, err := loadOrCreateToken(dir)
	if err != nil {
		t.Fatal(err)
	}
	second, err := loadOrCreateToken(dir)
	if err != nil || second != first {
		t.Fatalf("token changed across restarts: %q then %q (%v)", first, second, err)
	}
	if len(first) < 20 {
		t.Fatalf("token %q is too short to be a secret", first)
	}
	if runtime.GOOS != "windows" {
		fi, _ := os.Stat(filepath.Join(dir, tokenFile))
		if fi.Mode().Perm() != 0o600 {
			t.Fatalf("token file mode %o, want 600", fi.Mode().Perm())
		}
	}
}

// cliProcessEnv makes this test binary kfsidebar itself (TestMain calls
// cliProcessMain), for runCLIProcess.
const cliProcessEnv = "KFSIDEBAR_TEST_CLI_PROCESS"

// cliProcessMain runs kfsidebar with the arguments and exits; it returns
// only when the test binary is not asked to be kfsidebar.
func cliProcessMain() {
	if os.Getenv(cliProcessEnv) != "1" {
		return
	}
	if err := Run(context.Background(), os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stdout, err)
		os.Exit(1)
	}
	os.Exit(0)
}

// runCLIProcess is runCLI in a process of its own: what the process
// caches (Windows' certificate chain engine, which under Wine never sees
// a root added after its first use) is fresh, as for a user typing the
// command. The output is standard output, then the error.
func runCLIProcess(t *testing.T, args ...string) (string, error) {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(self, args...)
	cmd.Env = append(os.Environ(), cliProcessEnv+"=1")
	out, err := cmd.Output()
	return string(out), err
}
