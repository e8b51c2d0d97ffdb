package main

import (
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kfsidebar/kfsidebar/certs"
	"github.com/kfsidebar/kfsidebar/internal/msg"
	"github.com/kfsidebar/kfsidebar/internal/sysproxy"
)

// TestSetupCommandsSpeakChinese: on a Chinese system (msg.Detect; here
// KFSIDEBAR_LANG=zh) ca, proxy, doctor and run's banner speak Chinese;
// the other tests read them in English.
func TestSetupCommandsSpeakChinese(t *testing.T) {
	t.Setenv(msg.EnvLang, "zh")
	testHome(t)
	const mode = "org.gnome.system.proxy mode"
	fakeGSettings(t, map[string]string{mode: "'none'"})
	dir := t.TempDir()
	listen := freeAddr(t)
	steps := []struct {
		args []string
		want []string
	}{
		{[]string{"ca", "status", "--data-dir", dir}, []string{"里没有 kfsidebar 的根证书"}},
		{[]string{"ca", "install", "--data-dir", dir, "--store", "nss"}, []string{"kfsidebar 根证书", "已安装并信任", "完成。请重启浏览器"}},
		{[]string{"ca", "status", "--data-dir", dir, "--store", "nss"}, []string{"已信任"}},
		{[]string{"proxy", "on", "--data-dir", dir, "--listen", listen}, []string{"自动代理配置 http://" + listen + "/proxy.pac（原来是：没有代理）", "撤销：kfsidebar proxy off"}},
		{[]string{"proxy", "status", "--data-dir", dir, "--listen", listen}, []string{"（kfsidebar）"}},
		{[]string{"proxy", "off", "--data-dir", dir, "--listen", listen}, []string{"已恢复：没有代理"}},
		{[]string{"ca", "uninstall", "--data-dir", dir, "--store", "nss"}, []string{"已删除"}},
	}
	for _, st := range steps {
		out, _, err := runCLI(t, st.args...)
		if err != nil {
			t.Fatalf("%s: %v\n%s", strings.Join(st.args, " "), err, out)
		}
		for _, w := range st.want {
			if !strings.Contains(out, w) {
				t.Errorf("%s says, without %q:\n%s", strings.Join(st.args, " "), w, out)
			}
		}
	}
	empty := t.TempDir() + "/none"
	t.Setenv("KFSIDEBAR_TEST_GATEWAY_TOKEN", "workstation-token-0001")
	out, _, err := runCLI(t, "doctor", "--data-dir", empty, "--listen", freeAddr(t), "--console-host", "console.kfsidebar.invalid",
		"--gateway-url", "https://kf.shop.example/feed", "--gateway-token-env", "KFSIDEBAR_TEST_GATEWAY_TOKEN")
	for _, w := range []string{"✘ 数据目录：" + empty + " 不存在", "✘ 代理：", "解决：从菜单启动 kfsidebar（托盘）", "✘ 客服工具 console.kfsidebar.invalid：离线", "⚠ 推送网关：kfsidebar 没有运行，无法得知"} {
		if !strings.Contains(out, w) {
			t.Errorf("doctor says, without %q:\n%s", w, out)
		}
	}
	if err == nil || !strings.Contains(err.Error(), "doctor：发现") {
		t.Errorf("doctor's error: %v", err)
	}
	k := startRun(t, dir)
	for _, w := range []string{"正在 " + k.addr + " 监听", "状态页：", "使用前，每台电脑做一次", "按 Ctrl+C 停止"} {
		if !strings.Contains(k.stdout, w) {
			t.Errorf("run's banner, without %q:\n%s", w, k.stdout)
		}
	}
}

var (
	han = regexp.MustCompile(`\p{Han}`)
	// englishSentence is three English words in a row: a line said in
	// Chinese has none (a command such as kfsidebar open has two).
	englishSentence = regexp.MustCompile(`[A-Za-z']+ [A-Za-z']+ [A-Za-z']+`)
)

// TestSystemErrorsSpeakTheUsersLanguage: what the system-proxy code, the
// trust stores and the CA's checks report (no desktop session, no
// certutil, a CA for other hosts) reaches doctor, proxy on and ca status
// in Chinese on a Chinese system, and as the errors say it in English.
func TestSystemErrorsSpeakTheUsersLanguage(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("no desktop session and no certutil are Linux's cases, not " + runtime.GOOS + "'s")
	}
	t.Setenv("HOME", t.TempDir())
	t.Setenv("XDG_DATA_HOME", "")
	t.Setenv("XDG_CURRENT_DESKTOP", "")
	t.Setenv("PATH", t.TempDir()) // no certutil
	dir := filepath.Join(t.TempDir(), "data")
	const console = "console.kfsidebar.invalid"
	if _, _, err := certs.LoadOrCreate(dir, certs.Options{Hosts: []string{console}}); err != nil {
		t.Fatal(err)
	}
	listen := freeAddr(t)
	for _, tt := range []struct {
		lang      string
		what      string // doctor's name of the system proxy
		proxy     string // doctor's system proxy line starts so
		proxyOn   string // proxy on's error has it
		noTools   string // doctor's and ca status's NSS lines have it
		byHand    string // and their step by hand starts so
		noEnglish bool   // doctor's system proxy line has no English sentence
		otherHost string // doctor's root CA line for another console host has it
	}{
		{"zh", "系统代理", "⚠ 系统代理：无法修改这个系统的代理设置（没有桌面会话，XDG_CURRENT_DESKTOP 为空）：请在桌面或浏览器的网络设置里手动填写",
			"无法修改这个系统的代理设置（没有桌面会话", "找不到 certutil：请安装 NSS 工具（Debian、Ubuntu：sudo apt install libnss3-tools），然后重新运行",
			"安装 NSS 工具（sudo apt install libnss3-tools）后运行：certutil -d sql:", true,
			"✘ 根证书：" + dir + " 里的根证书只能用于 console.kfsidebar.invalid，但配置要求的是 other.kfsidebar.invalid：请把 "},
		{"en", "system proxy", "⚠ system proxy: cannot change the proxy settings of this system (no desktop session (XDG_CURRENT_DESKTOP is empty)): set the automatic proxy configuration URL in your desktop's or browser's network settings by hand",
			"cannot change the proxy settings of this system (no desktop session (XDG_CURRENT_DESKTOP is empty))", "certutil not found: install NSS's tools (Debian, Ubuntu: sudo apt install libnss3-tools) and run this again",
			"install NSS's tools (sudo apt install libnss3-tools) and run: certutil -d sql:", false,
			"✘ root CA: load ca: ca hosts changed: the CA in " + dir + " is limited to console.kfsidebar.invalid but the config asks for other.kfsidebar.invalid: move "},
	} {
		t.Setenv(msg.EnvLang, tt.lang)
		out, _, _ := runCLI(t, "doctor", "--data-dir", dir, "--listen", listen, "--console-host", console)
		line := lineStarting(out, "⚠ "+tt.what)
		if !strings.HasPrefix(line, tt.proxy) || tt.noEnglish && englishSentence.MatchString(line) {
			t.Errorf("%s: doctor's system proxy line: %q\n%s", tt.lang, line, out)
		}
		if !strings.Contains(out, tt.noTools) || !strings.Contains(out, tt.byHand) {
			t.Errorf("%s: doctor lacks %q or %q:\n%s", tt.lang, tt.noTools, tt.byHand, out)
		}
		_, _, err := runCLI(t, "proxy", "on", "--data-dir", dir, "--listen", listen)
		if !errors.Is(err, sysproxy.ErrUnsupported) || !strings.Contains(err.Error(), tt.proxyOn) {
			t.Errorf("%s: proxy on: %v", tt.lang, err)
		}
		out, _, _ = runCLI(t, "ca", "status", "--store", "nss", "--data-dir", dir)
		if !strings.Contains(out, tt.noTools) || !strings.Contains(out, tt.byHand) {
			t.Errorf("%s: ca status lacks %q or %q:\n%s", tt.lang, tt.noTools, tt.byHand, out)
		}
		out, _, _ = runCLI(t, "doctor", "--data-dir", dir, "--listen", listen, "--console-host", "other.kfsidebar.invalid")
		if !strings.Contains(out, tt.otherHost) {
			t.Errorf("%s: doctor for another console host lacks %q:\n%s", tt.lang, tt.otherHost, out)
		}
	}
}

// lineStarting is out's first line starting with prefix; "" if none.
func lineStarting(out, prefix string) string {
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, prefix) {
			return line
		}
	}
	return ""
}

// TestSayErr: an error of a kind the catalog knows reads in English as
// its Error() does, wrapped or not, and in Chinese in Chinese, without the
// English around it; errors.Is still sees it. Other errors stay as they
// are.
func TestSayErr(t *testing.T) {
	en, zh := msg.NewPrinter(msg.English), msg.NewPrinter(msg.Chinese)
	for _, err := range []error{
		&sysproxy.UnsupportedError{Why: sysproxy.NotGNOME},
		&sysproxy.UnsupportedError{Why: sysproxy.NotGNOME, Desktop: "KDE"},
		&sysproxy.UnsupportedError{Why: sysproxy.NoGSettings},
		&sysproxy.UnsupportedError{Why: sysproxy.NoNetworkService},
		&certs.StoreError{Kind: certs.ErrNoCertutil},
		&certs.StoreError{Kind: certs.ErrNeedsAdmin, Dir: "/usr/local/share/ca-certificates"},
		&certs.StoreError{Kind: certs.ErrNoDatabase, Dir: "/home/a/.mozilla/firefox/x.default"},
		&certs.StoreError{Kind: certs.ErrNotTrusted},
		&certs.StoreError{Kind: certs.ErrStillTrusted},
		certs.ErrStoreUnsupported,
		&certs.CAError{Kind: certs.ErrHostsChanged, Dir: "/d", Have: []string{"a.example", "b.example"}, Want: []string{"c.example"}},
		&certs.CAError{Kind: certs.ErrCAExpired, Dir: "/d", NotAfter: time.Date(2036, 11, 30, 0, 0, 0, 0, time.UTC), Expired: true},
		&certs.CAError{Kind: certs.ErrCAExpired, Dir: "/d", NotAfter: time.Date(2036, 11, 30, 0, 0, 0, 0, time.UTC)},
		&certs.CAError{Kind: certs.ErrIncompleteCA, Dir: "/d", Missing: certs.KeyFile},
		&certs.CAError{Kind: certs.ErrIncompleteCA, Dir: "/d", Missing: certs.CertFile},
	} {
		for _, e := range []error{err, fmt.Errorf("doing something: %w", err)} {
			if got := sayErr(en, e).Error(); got != e.Error() {
				t.Errorf("in English %q, want %q", got, e.Error())
			}
			said := sayErr(zh, e)
			if !han.MatchString(said.Error()) || strings.Contains(said.Error(), "doing something") || !errors.Is(said, err) {
				t.Errorf("in Chinese %q (errors.Is %v), from %q", said, errors.Is(said, err), e)
			}
		}
	}
	other := errors.New("gsettings get org.gnome.system.proxy mode: exit status 1")
	if got := sayErr(zh, other); got != other {
		t.Errorf("an error the catalog does not know: %q", got)
	}
}

// TestSayManual: each step by hand reads in English as it always has,
// and in Chinese in Chinese, with the same commands and files.
func TestSayManual(t *testing.T) {
	const cert = "/d/ca.pem"
	for _, tt := range []struct {
		step certs.ManualStep
		en   string
	}{
		{certs.ManualStep{How: certs.ImportNSS, CertPath: cert, Commands: []string{"certutil -d sql:/h/.pki/nssdb -A -t C,, -n kfsidebar -i /d/ca.pem"}},
			"install NSS's tools (sudo apt install libnss3-tools) and run: certutil -d sql:/h/.pki/nssdb -A -t C,, -n kfsidebar -i /d/ca.pem\n" +
				"or in Chrome: Settings → Privacy and security → Security → Manage certificates → Custom → Installed by you → Trusted certificates → Import → /d/ca.pem"},
		{certs.ManualStep{How: certs.ImportFirefox, CertPath: cert},
			"in Firefox: Settings → Privacy & Security → Certificates → View Certificates → Authorities → Import… → /d/ca.pem, tick “Trust this CA to identify websites”, then restart Firefox"},
		{certs.ManualStep{How: certs.AddAnchor, CertPath: cert, Commands: []string{"sudo cp /d/ca.pem /a/kfsidebar.crt && sudo update-ca-certificates", "sudo kfsidebar ca install --store system --data-dir /d"}},
			"as root: sudo cp /d/ca.pem /a/kfsidebar.crt && sudo update-ca-certificates\nor: sudo kfsidebar ca install --store system --data-dir /d"},
		{certs.ManualStep{How: certs.AddToDistribution, CertPath: cert},
			"add /d/ca.pem to your distribution's trusted certificates as its documentation says (most desktop browsers on Linux use the NSS stores instead)"},
		{certs.ManualStep{How: certs.AddToSystem, CertPath: cert}, "add /d/ca.pem to the system's trusted certificates as its documentation says"},
		{certs.ManualStep{How: certs.AddToKeychain, CertPath: cert, Commands: []string{"security add-trusted-cert -r trustRoot -p ssl -k /k /d/ca.pem"}},
			"run: security add-trusted-cert -r trustRoot -p ssl -k /k /d/ca.pem\n" +
				"or double-click /d/ca.pem, add it to the “login” keychain, open it in Keychain Access and set Trust → “When using this certificate” to “Always Trust”"},
		{certs.ManualStep{How: certs.TrustInKeychainAccess, CertPath: cert}, "double-click /d/ca.pem and trust it in Keychain Access"},
		{certs.ManualStep{How: certs.AddToWindows, CertPath: cert, Commands: []string{`certutil -user -addstore Root "/d/ca.pem"`}},
			"run: certutil -user -addstore Root \"/d/ca.pem\"\n" +
				"or double-click /d/ca.pem → Install Certificate → Current User → “Place all certificates in the following store” → Trusted Root Certification Authorities"},
		{certs.ManualStep{How: certs.RemoveByHand, CAName: "kfsidebar local CA (pc, 2026-12-03 ffeb)", Store: "NSS database ~/.pki/nssdb (Chrome, Chromium)"},
			"remove the certificate named “kfsidebar local CA (pc, 2026-12-03 ffeb)” from NSS database ~/.pki/nssdb (Chrome, Chromium) by hand"},
	} {
		if got := sayManual(msg.NewPrinter(msg.English), tt.step); got != tt.en {
			t.Errorf("in English %q, want %q", got, tt.en)
		}
		zh := sayManual(msg.NewPrinter(msg.Chinese), tt.step)
		for _, fact := range append(slices.Clone(tt.step.Commands), tt.step.CertPath, tt.step.CAName) {
			if !han.MatchString(zh) || !strings.Contains(zh, fact) {
				t.Errorf("in Chinese %q, without %q", zh, fact)
			}
		}
	}
	if got := sayManual(msg.NewPrinter(msg.Chinese), certs.ManualStep{}); got != "" {
		t.Errorf("no step: %q", got)
	}
}
