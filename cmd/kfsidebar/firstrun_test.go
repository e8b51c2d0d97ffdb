package main

import (
	"context"
	"html"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/text/encoding/simplifiedchinese"

	"github.com/kfsidebar/kfsidebar/internal/browser"
	"github.com/kfsidebar/kfsidebar/internal/kftest"
)

// The first run of a new user, as issues 13 and 16 found it: each test
// here failed before its fix.

// TestSetupCommandsNameTheListenAddress: run on another port than 8787
// (or with another data directory) prints next steps, doctor prints fixes
// and the status page shows commands that reach that kfsidebar, not one
// on the defaults.
func TestSetupCommandsNameTheListenAddress(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	k := startRun(t, dir)
	flags := " --data-dir " + shellQuote(dir) + " --listen " + k.addr
	for _, want := range []string{
		"kfsidebar ca install --data-dir " + shellQuote(dir) + "\n",
		"kfsidebar proxy on" + flags,
		"kfsidebar open" + flags,
		"kfsidebar doctor" + flags,
	} {
		if !strings.Contains(k.stdout, want) {
			t.Errorf("banner lacks %q:\n%s", want, k.stdout)
		}
	}
	out, _, _ := runCLI(t, append([]string{"doctor", "--data-dir", dir, "--listen", k.addr}, k.console...)...)
	if !strings.Contains(out, "fix: kfsidebar ca install --data-dir "+shellQuote(dir)) {
		t.Errorf("doctor's fixes lack the data directory:\n%s", out)
	}
	if strings.Contains(out, "kfsidebar proxy on") && !strings.Contains(out, "kfsidebar proxy on"+flags) {
		t.Errorf("doctor's fixes say proxy on without --listen:\n%s", out)
	}
	page := getLocal(t, k.addr, "/")
	if !strings.Contains(page, "kfsidebar proxy on"+html.EscapeString(flags)) {
		t.Errorf("status page's proxy on lacks %q", flags)
	}

	def := DefaultConfig()
	if got := setupCommand("proxy on", def.Listen, def.DataDir); got != "kfsidebar proxy on" {
		t.Errorf("at the defaults: %q, want plain kfsidebar proxy on", got)
	}
	if got := setupCommand("proxy on", "0.0.0.0:8787", def.DataDir); got != "kfsidebar proxy on" {
		t.Errorf("on every interface at 8787: %q, want plain kfsidebar proxy on", got)
	}
}

// TestImportAsWindowsSavesIt: shop.json and kfsidebar.toml as Notepad,
// Excel and WPS save them on a Chinese Windows: with a UTF-8 BOM (refused
// with "invalid character 'ï'" before), in GBK (imported garbled before,
// without a word), or in an encoding kfsidebar cannot tell (refused, with
// how to save as UTF-8).
func TestImportAsWindowsSavesIt(t *testing.T) {
	const shopJSON = `{"customers":[{"openid":"oA","name":"张三","note":"老客户"}],"orders":[]}`
	gbk, err := simplifiedchinese.GBK.NewEncoder().Bytes([]byte(shopJSON))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name    string
		data    []byte
		args    []string
		wantOut string
		wantErr []string
	}{
		{name: "UTF-8 with BOM", data: append([]byte("\xEF\xBB\xBF"), shopJSON...)},
		{name: "GBK, detected", data: gbk, wantOut: "read as GBK/GB18030"},
		{name: "GBK, named", data: gbk, args: []string{"--encoding", "gbk"}, wantOut: "read as GBK/GB18030"},
		{name: "GBK named UTF-8", data: gbk, args: []string{"--encoding", "utf-8"}, wantErr: []string{"is not UTF-8", "CSV UTF-8", "--encoding", "nothing was imported"}},
		{name: "neither", data: []byte(`{"customers":[{"openid":"oA","name":"Ren` + "\xe9" + `e"}]}`), wantErr: []string{"neither UTF-8 nor GBK", "另存为", "nothing was imported"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			file := filepath.Join(dir, "shop.json")
			if err := os.WriteFile(file, tt.data, 0o600); err != nil {
				t.Fatal(err)
			}
			data := filepath.Join(dir, "data")
			out, _, err := runCLI(t, append(append([]string{"orders", "import", "--data-dir", data}, tt.args...), file)...)
			if len(tt.wantErr) > 0 {
				for _, want := range tt.wantErr {
					if err == nil || !strings.Contains(err.Error(), want) {
						t.Errorf("error %v lacks %q", err, want)
					}
				}
				return
			}
			if err != nil || !strings.Contains(out, "imported 1 customers") || !strings.Contains(out, tt.wantOut) {
				t.Fatalf("import: %v\n%s", err, out)
			}
			out, _, err = runCLI(t, "config", "check", "--data-dir", data, "--lookup", "oA")
			if err != nil || !strings.Contains(out, `"name": "张三"`) || !strings.Contains(out, "老客户") {
				t.Errorf("the customer as the sidebar gets it: %v\n%s", err, out)
			}
		})
	}

	// kfsidebar.toml with a BOM, and in GBK.
	for name, data := range map[string][]byte{
		"BOM": []byte("\xEF\xBB\xBFlisten = \"127.0.0.1:9999\" # 端口\n"),
		"GBK": must(simplifiedchinese.GBK.NewEncoder().Bytes([]byte("listen = \"127.0.0.1:9999\" # 端口\n"))),
	} {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, configFileName), data, 0o600); err != nil {
			t.Fatal(err)
		}
		cfg, err := parseRunConfig(t, "--data-dir", dir)
		if err != nil || cfg.Listen != "127.0.0.1:9999" {
			t.Errorf("kfsidebar.toml with %s: %v, listen %q", name, err, cfg.Listen)
		}
	}
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}

// TestImportExcelCSV: a CSV as Excel's plain "CSV" writes it on a Chinese
// Windows (GBK, CRLF, Chinese headers) imports with its Chinese intact.
func TestImportExcelCSV(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "订单.CSV")
	csv := "用户openid,姓名,订单号,下单时间,订单状态,实付金额,商品名称,数量,单价\r\n" +
		"oA,张三,2026112200001,2026-11-20 10:00,已发货,129.00,保温杯,1,129.00\r\n"
	if err := os.WriteFile(file, must(simplifiedchinese.GBK.NewEncoder().Bytes([]byte(csv))), 0o600); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(dir, "data")
	out, _, err := runCLI(t, "orders", "import", "--data-dir", data, file)
	if err != nil || !strings.Contains(out, "imported 1 customers, 1 orders (1 items)") || !strings.Contains(out, "GBK") {
		t.Fatalf("import: %v\n%s", err, out)
	}
	out, _, err = runCLI(t, "config", "check", "--data-dir", data, "--lookup", "oA")
	if err != nil || !strings.Contains(out, `"name": "张三"`) || !strings.Contains(out, "保温杯") || !strings.Contains(out, `"amount_fen": 12900`) {
		t.Errorf("the customer as the sidebar gets it: %v\n%s", err, out)
	}
}

// TestDemoOpenCtrlCEndsTheBrowser: Ctrl+C on `demo --open` returns even
// when the browser does not quit on Ctrl+C (on Windows it never gets one:
// Process.Signal(os.Interrupt) is unsupported there, and the demo waited
// until the agent closed the browser), and says what became of it.
func TestDemoOpenCtrlCEndsTheBrowser(t *testing.T) {
	argsFile := useFakeBrowser(t, "linger")
	s, err := startCommand(nil, "demo", "--open", "--listen", "127.0.0.1:0", "--data-dir", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	waitFile(t, argsFile) // the browser runs
	kftest.Poll(t, "demo --open to say it started the browser", func() bool { return strings.Contains(s.stdout.String(), "--open: started") })
	start := time.Now()
	if err := s.stop(); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 3*browser.StopGrace {
		t.Errorf("Ctrl+C took %v", d)
	}
	if out := s.stdout.String(); !strings.Contains(out, "demo: ") || !strings.Contains(out, "ended") {
		t.Errorf("demo did not say what became of the browser:\n%s", out)
	}
}

// TestDoubleClickKeepsTheWindowOpen: kfsidebar.exe double-clicked in
// Explorer (no arguments, a console of its own) explains, in Chinese and
// English, how to use it and keeps its window open until Enter, instead
// of flashing usage and closing. From a terminal, no arguments is still
// the usage and exit status 2.
func TestDoubleClickKeepsTheWindowOpen(t *testing.T) {
	if _, _, err := runCLI(t); exitCode(err) != 2 {
		t.Fatalf("no arguments in a terminal: %v, want the usage (exit 2)", err)
	}
	launchedFromExplorer = func() bool { return true }
	enter, typed := io.Pipe()
	doubleClickInput = enter
	t.Cleanup(func() { launchedFromExplorer, doubleClickInput = consoleAlone, os.Stdin })
	out := &syncBuffer{}
	done := make(chan error, 1)
	go func() { done <- Run(context.Background(), nil, out, io.Discard) }()
	kftest.Poll(t, "the explanation", func() bool { return strings.Contains(out.String(), "Press Enter to close") })
	for _, want := range []string{"命令行程序", "command-line program", "kfsidebar demo --open", "kfsidebar run", "kfsidebar ca install", "docs/INSTALL.md"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("explanation lacks %q:\n%s", want, out)
		}
	}
	select {
	case err := <-done:
		t.Fatalf("returned before Enter: %v", err)
	case <-time.After(100 * time.Millisecond):
	}
	typed.Write([]byte("\r\n"))
	if err := <-done; err != nil {
		t.Errorf("after Enter: %v", err)
	}
}

// TestDoubleClickStartsTheTray: with the tray program beside it (what
// the installer puts there), kfsidebar.exe double-clicked starts the tray
// and closes at once, explaining nothing.
func TestDoubleClickStartsTheTray(t *testing.T) {
	launchedFromExplorer = func() bool { return true }
	started := false
	startTray = func() bool { started = true; return true }
	t.Cleanup(func() { launchedFromExplorer, startTray = consoleAlone, startTrayBeside })
	out := &syncBuffer{}
	if err := Run(context.Background(), nil, out, io.Discard); err != nil || !started || out.String() != "" {
		t.Errorf("double-clicked with the tray beside: %v, tray started %v, printed %q", err, started, out)
	}
}

// TestConfigCheckReportsEveryProblem: one run of config check names every
// problem of the file: values of the wrong type (the decoder stops at the
// first), unknown keys, bad settings and the backend's own, each by line.
func TestConfigCheckReportsEveryProblem(t *testing.T) {
	dir := t.TempDir()
	path := writeConfig(t, dir, `listen = 8787
session_ttl = "3 days"
lissen = "x"
tunnel_idle_timeout = "-1s"
[orders]
backend = "http"
recent_orders = "twenty"
[orders.http]
lookup_url = "https://shop.example/customers"
secret = "0123456789abcdef0123"
`)
	_, _, err := runCLI(t, "config", "check", "--config", path)
	if err == nil {
		t.Fatal("config check passed a bad file")
	}
	for _, want := range []string{
		":1:10: listen: must be a string",
		":2:15: session_ttl: want a duration",
		":3:1: lissen: unknown key",
		":7:17: orders.recent_orders: must be a whole number",
		"orders.http: ", // the backend's own check: no {openid} in lookup_url
		"fix every problem above",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("config check lacks %q:\n%v", want, err)
		}
	}
}

// TestProxyWithoutASupportedDesktop: proxy on where kfsidebar cannot
// change the settings (KDE here) prints the PAC URL to enter by hand;
// proxy status says what it cannot do and why, with the URL; proxy off
// says there is nothing to undo.
func TestProxyWithoutASupportedDesktop(t *testing.T) {
	requireGNOMEPlatform(t)
	t.Setenv("XDG_CURRENT_DESKTOP", "KDE")
	listen := freeAddr(t)
	pac := "http://" + listen + "/proxy.pac"
	_, _, err := runCLI(t, "proxy", "on", "--data-dir", t.TempDir(), "--listen", listen)
	if err == nil || !strings.Contains(err.Error(), "by hand:\n\n    "+pac+"\n") || !strings.Contains(err.Error(), "KDE") || !strings.Contains(err.Error(), "not running") {
		t.Errorf("proxy on: %v", err)
	}
	out, _, err := runCLI(t, "proxy", "status", "--data-dir", t.TempDir(), "--listen", listen)
	if err != nil || !strings.Contains(out, "cannot read or change it here") || !strings.Contains(out, "KDE") || !strings.Contains(out, pac) {
		t.Errorf("proxy status: %v\n%s", err, out)
	}
	out, _, err = runCLI(t, "proxy", "off", "--data-dir", t.TempDir(), "--listen", listen)
	if err != nil || !strings.Contains(out, "nothing to undo") {
		t.Errorf("proxy off: %v\n%s", err, out)
	}
}
