package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/gorilla/websocket"

	"github.com/kfsidebar/kfsidebar/certs"
	"github.com/kfsidebar/kfsidebar/internal/browser"
	"github.com/kfsidebar/kfsidebar/internal/browsertest"
	"github.com/kfsidebar/kfsidebar/internal/logfile"
	"github.com/kfsidebar/kfsidebar/internal/sysproxy"
	"github.com/kfsidebar/kfsidebar/proxy/console"
	"github.com/kfsidebar/kfsidebar/proxy/mpkftest"
)

// The security tests prove the security model of the README against the
// real command line, the real proxy and a real Chromium. Each would fail
// if the property it names broke.

// forger is a TLS server presenting certificates signed with kfsidebar's
// own CA key for whatever name it is asked, the way a thief holding the
// key would: per SNI name, and an IP address certificate when there is no
// SNI.
type forger struct {
	ln net.Listener
}

func startForger(t *testing.T, ca *certs.CA, ip net.IP) *forger {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	cache := map[string]*tls.Certificate{}
	mint := func(name string) (*tls.Certificate, error) {
		mu.Lock()
		defer mu.Unlock()
		if c := cache[name]; c != nil {
			return c, nil
		}
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(time.Now().UnixNano()),
			Subject:      pkix.Name{CommonName: name},
			NotBefore:    time.Now().Add(-time.Hour),
			NotAfter:     time.Now().Add(time.Hour),
			KeyUsage:     x509.KeyUsageDigitalSignature,
			ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		}
		if name == "" {
			tmpl.IPAddresses = []net.IP{ip}
		} else {
			tmpl.DNSNames = []string{name}
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, &key.PublicKey, ca.Key)
		if err != nil {
			return nil, err
		}
		c := &tls.Certificate{Certificate: [][]byte{der, ca.Cert.Raw}, PrivateKey: key}
		cache[name] = c
		return c, nil
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{GetCertificate: func(h *tls.ClientHelloInfo) (*tls.Certificate, error) { return mint(h.ServerName) }})
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprintf(w, "<html><body><h1 id=forged>served to %s</h1></body></html>", r.Host)
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return &forger{ln: ln}
}

func (f *forger) addr() string { return f.ln.Addr().String() }

// navigate loads u and returns Chromium's net error ("" when it loaded).
func navigate(t *testing.T, ctx context.Context, u string) string {
	t.Helper()
	err := chromedp.Do(ctx, chromedp.Navigate(u))
	var le *chromedp.LoadError
	switch {
	case err == nil:
		return ""
	case errors.As(err, &le):
		return le.ErrorText
	}
	t.Fatalf("navigate %s: %v", u, err)
	return ""
}

// evalUntil evaluates expr in the tab's current document until it returns
// something other than null, false or undefined, and returns that, or
// fails after timeout with what it last saw. Use it, not chromedp.Poll,
// right after a navigation. Poll runs in the execution context chromedp
// last recorded for the tab, and chromedp records a new document's context
// only after Navigate has returned, so Poll can call into the document
// the navigation replaced: "Cannot find context with specified id". That
// document may even be the error page of a navigation that failed just
// before, whose late load event ended the wait for the next one.
// Runtime.evaluate without a context runs in whatever document the tab
// shows, and an error while one document replaces another is only "not
// yet".
func evalUntil[T any](ctx context.Context, expr string, timeout time.Duration) (T, error) {
	deadline := time.Now().Add(timeout)
	var last error
	for {
		v, err := chromedp.Run(ctx, chromedp.Evaluate[*T](`(() => { const v = (`+expr+`); return v === false ? null : v; })()`))
		switch {
		case err == nil && v != nil:
			return *v, nil
		case err != nil:
			last = err
		}
		if time.Now().After(deadline) {
			var zero T
			if last != nil {
				return zero, fmt.Errorf("not true within %v: %s; last error: %w", timeout, expr, last)
			}
			return zero, fmt.Errorf("not true within %v: %s", timeout, expr)
		}
		select {
		case <-ctx.Done():
			var zero T
			return zero, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// newBrowser starts a Chromium of its own for one test and returns a tab.
func newBrowser(t *testing.T, opts browsertest.Options) context.Context {
	t.Helper()
	browsertest.Require(t)
	b, err := browsertest.Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	return b.Tab(t)
}

// statusChecks waits for the status page's own checks and returns them.
func statusChecks(t *testing.T, ctx context.Context, addr string) (pac, ca string) {
	t.Helper()
	if errText := navigate(t, ctx, "http://"+addr+"/"); errText != "" {
		t.Fatalf("status page: %s", errText)
	}
	got, err := evalUntil[[]string](ctx, `(() => {
		const p = document.getElementById('pac-state'), c = document.getElementById('ca-state');
		return p && c && p.dataset.state !== 'checking' && c.dataset.state !== 'checking' ? [p.dataset.state, c.dataset.state] : null; })()`, 20*time.Second)
	if err != nil {
		t.Fatalf("status page checks never finished: %v", err)
	}
	return got[0], got[1]
}

// TestCATrustedThroughNSSInChromium is `kfsidebar ca install` proven in
// Chromium, with no SPKI pin: the trust comes from the NSS database of the
// browser's HOME. Before install the console fails; after, it loads, and
// still no certificate the CA signs for another name or an IP address is
// accepted (the name constraints hold in the browser); after uninstall it
// fails again.
func TestCATrustedThroughNSSInChromium(t *testing.T) {
	browsertest.Require(t)
	home := t.TempDir() // no NSS database yet: Chromium makes its own
	t.Setenv("HOME", home)
	t.Setenv("XDG_DATA_HOME", filepath.Join(home, ".local", "share"))
	env := []string{"HOME=" + home, "XDG_DATA_HOME=" + filepath.Join(home, ".local", "share")}
	dir := filepath.Join(t.TempDir(), "data")
	if _, _, err := runCLI(t, "ca", "export", "--data-dir", dir); err != nil {
		t.Fatal(err)
	}
	ca, err := certs.LoadExisting(dir)
	if err != nil {
		t.Fatal(err)
	}
	ip := net.ParseIP("10.1.2.3")
	forged := startForger(t, ca, ip)
	k := startRun(t, dir,
		"--dial", "evil.example:443="+forged.addr(),
		"--dial", "10.1.2.3:443="+forged.addr(),
		"--dial", "sub.mpkf.weixin.qq.com:443="+forged.addr())
	opts := browsertest.Options{ProxyServer: k.addr, Env: env}
	console := k.sim.URL()

	t.Run("before ca install the console is refused", func(t *testing.T) {
		ctx := newBrowser(t, opts)
		if got := navigate(t, ctx, console); got != "net::ERR_CERT_AUTHORITY_INVALID" {
			t.Fatalf("console before install: %q, want net::ERR_CERT_AUTHORITY_INVALID", got)
		}
		if pac, caState := statusChecks(t, ctx, k.addr); pac != "ok" || caState != "bad" {
			t.Errorf("status page says PAC %s, CA %s; want ok, bad", pac, caState)
		}
	})
	out, _, err := runCLI(t, "ca", "install", "--store", "nss", "--data-dir", dir)
	if err != nil || !strings.Contains(out, "installed and trusted") {
		t.Fatalf("ca install: %v\n%s", err, out)
	}
	if !strings.Contains(out, filepath.Join("~", ".local", "share", "pki", "nssdb")) {
		t.Errorf("ca install did not use the database Chromium made:\n%s", out)
	}
	t.Run("after ca install", func(t *testing.T) {
		ctx := newBrowser(t, opts)
		if got := navigate(t, ctx, console); got != "" {
			t.Fatalf("console after install: %s\n%s", got, k.log)
		}
		if _, err := evalUntil[bool](ctx, `!!`+browsertest.SidebarJS, 15*time.Second); err != nil {
			t.Fatalf("no sidebar in the console page: %v", err)
		}
		// Control: a name inside the constraint, served by the same
		// forger through the same tunnel, is accepted…
		if got := navigate(t, ctx, "https://sub.mpkf.weixin.qq.com/"); got != "" {
			t.Fatalf("a subdomain of the console host (inside the name constraint) was refused: %s", got)
		}
		// …so these refusals are the name constraints at work.
		for _, u := range []string{"https://evil.example/", "https://10.1.2.3/"} {
			if got := navigate(t, ctx, u); !strings.HasPrefix(got, "net::ERR_CERT_") {
				t.Errorf("%s with a certificate signed by the trusted kfsidebar CA: %q, want a certificate error", u, got)
			}
		}
		if pac, caState := statusChecks(t, ctx, k.addr); pac != "ok" || caState != "ok" {
			t.Errorf("status page says PAC %s, CA %s; want ok, ok", pac, caState)
		}
	})
	if out, _, err := runCLI(t, "ca", "uninstall", "--store", "nss", "--data-dir", dir); err != nil || !strings.Contains(out, "removed") {
		t.Fatalf("ca uninstall: %v\n%s", err, out)
	}
	t.Run("after ca uninstall the console is refused again", func(t *testing.T) {
		ctx := newBrowser(t, opts)
		if got := navigate(t, ctx, console); got != "net::ERR_CERT_AUTHORITY_INVALID" {
			t.Fatalf("console after uninstall: %q", got)
		}
	})
}

// TestOpenProfileWorksInChromium starts Chromium with exactly the flags
// `kfsidebar open` passes (its PAC, its SPKI pin while the CA is not
// installed), headless: the console loads with the sidebar, and the status
// page sees the PAC and the trust.
func TestOpenProfileWorksInChromium(t *testing.T) {
	path := browsertest.Require(t)
	home := t.TempDir()
	t.Setenv("HOME", home)
	dir := filepath.Join(t.TempDir(), "data")
	k := startRun(t, dir)
	ca, err := certs.LoadExisting(dir)
	if err != nil {
		t.Fatal(err)
	}
	args := browser.OpenArgs(filepath.Join(dir, browserProfileDir), pacURL(k.addr), []string{ca.SPKIHash(), k.sim.CA().SPKIHash()}, k.sim.URL())
	opts := []chromedp.ExecAllocatorOption{chromedp.ExecPath(path), chromedp.Env("HOME=" + home),
		chromedp.Flag("headless", true), chromedp.Flag("no-sandbox", true), chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-dev-shm-usage", true), chromedp.Flag("disable-background-networking", true)}
	for _, a := range args[:len(args)-1] {
		name, value, hasValue := strings.Cut(strings.TrimPrefix(a, "--"), "=")
		if hasValue {
			opts = append(opts, chromedp.Flag(name, value))
		} else {
			opts = append(opts, chromedp.Flag(name, true))
		}
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(allocCtx)
	defer cancel()
	ctx, cancelTimeout := context.WithTimeout(ctx, 90*time.Second)
	defer cancelTimeout()
	if got := navigate(t, ctx, args[len(args)-1]); got != "" {
		t.Fatalf("console in the open profile: %s\n%s", got, k.log)
	}
	if _, err := evalUntil[bool](ctx, `!!`+browsertest.SidebarJS, 15*time.Second); err != nil {
		t.Fatalf("no sidebar: %v", err)
	}
	// Only the console goes through kfsidebar: another https site does
	// not even reach the proxy (and would fail to resolve here).
	if pac, caState := statusChecks(t, ctx, k.addr); pac != "ok" || caState != "ok" {
		t.Errorf("status page in the open profile says PAC %s, CA %s; want ok, ok", pac, caState)
	}
}

// TestWebsocketRefusesForeignOriginAndBadToken speaks to the sidebar's
// websocket through the real proxy, as a page would: only the console's
// Origin with the right token gets in.
func TestWebsocketRefusesForeignOriginAndBadToken(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	k := startRun(t, dir)
	ca, err := certs.LoadExisting(dir)
	if err != nil {
		t.Fatal(err)
	}
	token, err := os.ReadFile(filepath.Join(dir, tokenFile))
	if err != nil {
		t.Fatal(err)
	}
	good := strings.TrimSpace(string(token))
	proxyURL, _ := url.Parse("http://" + k.addr)
	dialer := websocket.Dialer{Proxy: http.ProxyURL(proxyURL), TLSClientConfig: &tls.Config{RootCAs: ca.Pool()}, HandshakeTimeout: 10 * time.Second}
	tests := []struct {
		name, origin, token string
		want                int
	}{
		{"console origin, right token", "https://mpkf.weixin.qq.com", good, http.StatusSwitchingProtocols},
		{"foreign origin", "https://evil.example", good, http.StatusForbidden},
		{"look-alike origin", "https://mpkf.weixin.qq.com.evil.example", good, http.StatusForbidden},
		{"plain http console origin", "http://mpkf.weixin.qq.com", good, http.StatusForbidden},
		{"null origin (sandboxed frame, file://)", "null", good, http.StatusForbidden},
		{"no origin", "", good, http.StatusForbidden},
		{"no token", "https://mpkf.weixin.qq.com", "", http.StatusForbidden},
		{"wrong token", "https://mpkf.weixin.qq.com", good[:len(good)-1] + "x", http.StatusForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			if tt.origin != "" {
				h.Set("Origin", tt.origin)
			}
			u := "wss://" + console.DefaultConsoleHost + console.ReservedPrefix + "ws"
			if tt.token != "" {
				u += "?" + url.Values{"t": {tt.token}}.Encode()
			}
			conn, resp, err := dialer.Dial(u, h)
			if conn != nil {
				conn.Close()
			}
			if resp == nil {
				t.Fatalf("no answer: %v", err)
			}
			if resp.StatusCode != tt.want {
				t.Fatalf("status %d, want %d (%v)", resp.StatusCode, tt.want, err)
			}
		})
	}
}

// TestStatusPageRefusesForeignHost: a page on evil.example that rebinds
// its name to 127.0.0.1 reaches the port but not the status page.
func TestStatusPageRefusesForeignHost(t *testing.T) {
	k := startRun(t, filepath.Join(t.TempDir(), "data"))
	_, port, _ := net.SplitHostPort(k.addr)
	for host, want := range map[string]int{
		k.addr:                     http.StatusOK,
		"localhost:" + port:        http.StatusOK,
		"evil.example:" + port:     http.StatusMisdirectedRequest,
		"evil.example":             http.StatusMisdirectedRequest,
		"127.0.0.1.nip.io:" + port: http.StatusMisdirectedRequest,
	} {
		for _, path := range []string{"/", "/status.json", "/ca.pem", "/proxy.pac"} {
			req, _ := http.NewRequest(http.MethodGet, "http://"+k.addr+path, nil)
			req.Host = host
			resp, err := (&http.Client{Transport: &http.Transport{Proxy: nil}}).Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != want {
				t.Errorf("Host %s %s: %s, want %d", host, path, resp.Status, want)
			}
		}
	}
}

// TestSecretsArePrivateFiles: the data directory kfsidebar makes is 0700,
// and every file in it but the public CA certificate is 0600, even in a
// data directory the user made world-readable (which doctor reports).
func TestSecretsArePrivateFiles(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("Windows has no mode bits; the user profile's ACLs protect the data directory")
	}
	testHome(t)
	made := filepath.Join(t.TempDir(), "made-by-kfsidebar")
	loose := filepath.Join(t.TempDir(), "made-by-user")
	if err := os.Mkdir(loose, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{made, loose} {
		fakeGSettings(t, map[string]string{"org.gnome.system.proxy mode": "'none'"})
		k := startRun(t, dir)
		for _, args := range [][]string{{"ca", "install", "--store", "nss", "--data-dir", dir}, {"proxy", "on", "--data-dir", dir, "--listen", k.addr}} {
			if out, _, err := runCLI(t, args...); err != nil {
				t.Fatalf("%v: %v\n%s", args, err, out)
			}
		}
		checked := 0
		err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			fi, err := d.Info()
			if err != nil {
				return err
			}
			if d.Name() == certs.CertFile {
				return nil // the certificate is public: browsers download it
			}
			checked++
			if fi.Mode().Perm()&0o077 != 0 {
				t.Errorf("%s is mode %04o: others can read it", path, fi.Mode().Perm())
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range []string{certs.KeyFile, tokenFile, dbFile, logfile.Name, sysproxy.StateFile} {
			if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
				t.Errorf("%s was not made, so its mode was not checked: %v", f, err)
			}
		}
		if checked < 5 {
			t.Fatalf("only %d files checked in %s", checked, dir)
		}
	}
	if fi, _ := os.Stat(made); fi.Mode().Perm() != 0o700 {
		t.Errorf("data directory made with mode %04o, want 0700", fi.Mode().Perm())
	}
}

// listeningSockets returns the listening TCP addresses of this process
// (Linux: /proc/self/net/tcp{,6} joined with the process's socket fds).
func listeningSockets(t *testing.T) map[string]string {
	t.Helper()
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	ours := map[string]bool{}
	for _, fd := range fds {
		if l, err := os.Readlink(filepath.Join("/proc/self/fd", fd.Name())); err == nil && strings.HasPrefix(l, "socket:[") {
			ours[strings.TrimSuffix(strings.TrimPrefix(l, "socket:["), "]")] = true
		}
	}
	out := map[string]string{} // inode → address
	for _, file := range []string{"/proc/self/net/tcp", "/proc/self/net/tcp6"} {
		f, err := os.Open(file)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(f)
		sc.Scan() // header
		for sc.Scan() {
			fields := strings.Fields(sc.Text())
			if len(fields) < 10 || fields[3] != "0A" || !ours[fields[9]] {
				continue
			}
			out[fields[9]] = procAddr(t, fields[1])
		}
		f.Close()
	}
	return out
}

// procAddr decodes /proc/net/tcp's "0100007F:1F90": the address in host
// byte order per 32-bit word, the port in hex.
func procAddr(t *testing.T, s string) string {
	t.Helper()
	hexIP, hexPort, _ := strings.Cut(s, ":")
	b, err := hex.DecodeString(hexIP)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+4 <= len(b); i += 4 {
		b[i], b[i+1], b[i+2], b[i+3] = b[i+3], b[i+2], b[i+1], b[i]
	}
	var port int
	fmt.Sscanf(hexPort, "%X", &port)
	return net.JoinHostPort(net.IP(b).String(), fmt.Sprint(port))
}

// TestEveryListenerIsLoopback: `run` and `demo` open no listening socket
// outside loopback unless --listen says so, and then they warn on the
// terminal and in the log.
func TestEveryListenerIsLoopback(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc")
	}
	if DefaultConfig().Listen != "127.0.0.1:8787" {
		t.Errorf("default --listen is %s", DefaultConfig().Listen)
	}
	newListeners := func(before map[string]string) []string {
		var out []string
		for inode, addr := range listeningSockets(t) {
			if _, ok := before[inode]; !ok {
				out = append(out, addr)
			}
		}
		return out
	}
	before := listeningSockets(t)
	startRun(t, filepath.Join(t.TempDir(), "run"))
	demoAddr := start(t, "demo", "--listen", "127.0.0.1:0", "--data-dir", t.TempDir()).addr
	got := newListeners(before)
	if len(got) < 3 { // run, the test's simulated console, demo (+ its simulated console)
		t.Fatalf("found only %v listening; the test cannot see the sockets", got)
	}
	for _, a := range got {
		host, _, _ := net.SplitHostPort(a)
		if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
			t.Errorf("listening on %s, which is not loopback", a)
		}
	}
	if !slicesContainsAddr(got, demoAddr) {
		t.Errorf("demo's proxy %s not among the listeners %v", demoAddr, got)
	}

	k := startRun(t, filepath.Join(t.TempDir(), "wide"), "--listen", "0.0.0.0:0")
	if !strings.Contains(k.stdout, "WARNING: --listen 0.0.0.0:0 accepts connections from other machines") {
		t.Errorf("no warning on the terminal:\n%s", k.stdout)
	}
	if !strings.Contains(k.log.String(), "accepts connections from other machines") {
		t.Errorf("no warning in the log:\n%s", k.log)
	}
}

func slicesContainsAddr(addrs []string, want string) bool {
	for _, a := range addrs {
		if a == want {
			return true
		}
	}
	return false
}

// customerSecrets are the values the logs must never hold at the default
// level: every openid, phone, address, name and nickname of the demo shop
// and the simulated console's users.
func customerSecrets(t *testing.T) []string {
	t.Helper()
	var doc any
	if err := json.Unmarshal(mpkftest.DemoOrdersJSON, &doc); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				if s, ok := x.(string); ok && len([]rune(s)) >= 2 {
					switch k {
					case "openid", "phone", "address", "name", "nickname":
						seen[s] = true
					}
				}
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	walk(doc)
	for _, f := range mpkftest.Roster {
		seen[f.OpenID] = true
		seen[f.Nickname] = true
	}
	var out []string
	for s := range seen {
		out = append(out, s)
	}
	return out
}

// TestNoCustomerDataInLogs runs the agent's day through Chromium (chats
// open at load, accepted by hand, automatically and by transfer, each
// shown with its customer) and then searches the log, on the terminal and
// in the log file, for any customer data.
func TestNoCustomerDataInLogs(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	orders := filepath.Join(t.TempDir(), "orders.json")
	if err := os.WriteFile(orders, mpkftest.DemoOrdersJSON, 0o600); err != nil {
		t.Fatal(err)
	}
	if out, _, err := runCLI(t, "orders", "import", "--data-dir", dir, orders); err != nil {
		t.Fatalf("orders import: %v\n%s", err, out)
	}
	k := startRun(t, dir)
	ca, err := certs.LoadExisting(dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx := newBrowser(t, browsertest.Options{ProxyServer: k.addr, SPKIList: []string{ca.SPKIHash(), k.sim.CA().SPKIHash()}})
	if got := navigate(t, ctx, k.sim.URL()); got != "" {
		t.Fatal(got)
	}
	// Clicks count once the sidebar is connected.
	if _, err := evalUntil[bool](ctx, `(() => { const r = `+browsertest.SidebarJS+`;
		return !!r && !!r.dataset.state && r.dataset.state !== 'connecting'; })()`, 15*time.Second); err != nil {
		t.Fatalf("sidebar never connected: %v\n%s", err, k.log)
	}
	showCustomer := func(f mpkftest.Fan) {
		t.Helper()
		if err := chromedp.Do(ctx, chromedp.WaitVisible(cardSel(f))); err != nil {
			t.Fatal(err)
		}
		click(t, ctx, cardSel(f))
		js := fmt.Sprintf(`(() => { const r = `+browsertest.SidebarJS+`;
			return !!r && r.dataset.state === 'customer' && r.dataset.openid === %q; })()`, f.OpenID)
		if _, err := chromedp.Run(ctx, chromedp.Poll[bool](js, chromedp.WithPollingTimeout(15*time.Second))); err != nil {
			t.Fatalf("sidebar never showed %s: %v\n%s", f.Nickname, err, k.log)
		}
	}
	showCustomer(fan(t, "林小满", 0)) // open at page load
	manual := fan(t, "王建国", 0)
	click(t, ctx, chromedp.CSS(fmt.Sprintf(`.waiting_item[data-reactid$="$%d"] .btn_accept`, manual.UIN)))
	showCustomer(manual)
	click(t, ctx, chromedp.CSS(".auto_accept"))
	auto := fan(t, "孙浩然", 0)
	k.sim.AddWaiting(auto)
	showCustomer(auto)
	transfer := fan(t, "吴佩琪", 0)
	k.sim.TransferIn(transfer)
	showCustomer(transfer)

	file, err := os.ReadFile(filepath.Join(dir, logfile.Name))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(file, []byte("kfsidebar started")) {
		t.Fatalf("the log file holds nothing: the search would prove nothing:\n%s", file)
	}
	for name, log := range map[string]string{"terminal": k.log.String(), "log file": string(file)} {
		for _, s := range customerSecrets(t) {
			if strings.Contains(log, s) {
				t.Errorf("the %s log holds customer data %q at the default level", name, s)
			}
		}
	}
}

// tee records the bytes that pass through a connection, each way.
type tee struct {
	net.Conn
	mu      sync.Mutex
	in, out bytes.Buffer
}

func (c *tee) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.mu.Lock()
	c.in.Write(p[:n])
	c.mu.Unlock()
	return n, err
}

func (c *tee) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.mu.Lock()
	c.out.Write(p[:n])
	c.mu.Unlock()
	return n, err
}

func (c *tee) bytes() (in, out []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return bytes.Clone(c.in.Bytes()), bytes.Clone(c.out.Bytes())
}

// TestTunnelledTLSIsNeverDecrypted sends a TLS session to a host that is
// not the console through the real proxy and compares the bytes on both
// ends: what the client sent is exactly what the server received and the
// other way round. Decrypting (a MITM) would have to re-encrypt with other
// keys, and no byte would match.
func TestTunnelledTLSIsNeverDecrypted(t *testing.T) {
	serverCA, err := certs.New(certs.Options{Hosts: []string{"other.example"}})
	if err != nil {
		t.Fatal(err)
	}
	leaves := certs.NewLeaves(serverCA, certs.LeafOptions{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	serverSide := make(chan *tee, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		rec := &tee{Conn: c}
		tc := tls.Server(rec, leaves.ServerTLSConfig())
		io.Copy(tc, tc) // echo until the client closes
		tc.Close()
		serverSide <- rec
	}()
	k := startRun(t, filepath.Join(t.TempDir(), "data"), "--dial", "other.example:443="+ln.Addr().String())

	raw, err := net.Dial("tcp", k.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	fmt.Fprint(raw, "CONNECT other.example:443 HTTP/1.1\r\nHost: other.example:443\r\n\r\n")
	br := bufio.NewReader(raw)
	resp, err := http.ReadResponse(br, &http.Request{Method: http.MethodConnect})
	if err != nil || resp.StatusCode != http.StatusOK || br.Buffered() != 0 {
		t.Fatalf("CONNECT: %v %v", resp, err)
	}
	client := &tee{Conn: raw}
	tc := tls.Client(client, &tls.Config{ServerName: "other.example", RootCAs: serverCA.Pool()})
	payload := make([]byte, 64<<10)
	rand.Read(payload)
	if _, err := tc.Write(payload); err != nil {
		t.Fatalf("the TLS session through the tunnel failed (was it decrypted?): %v", err)
	}
	echo := make([]byte, len(payload))
	if _, err := io.ReadFull(tc, echo); err != nil || !bytes.Equal(echo, payload) {
		t.Fatalf("echo: %v", err)
	}
	if issuer := tc.ConnectionState().PeerCertificates[0].Issuer.CommonName; issuer != serverCA.Cert.Subject.CommonName {
		t.Fatalf("the client saw a certificate issued by %q, not the server's own CA", issuer)
	}
	tc.CloseWrite()
	io.Copy(io.Discard, tc)
	var server *tee
	select {
	case server = <-serverSide:
	case <-time.After(15 * time.Second):
		t.Fatal("the server never saw the end of the session")
	}
	clientIn, clientOut := client.bytes()
	serverIn, serverOut := server.bytes()
	if len(clientOut) < len(payload) || !bytes.Equal(clientOut, serverIn) {
		t.Errorf("client sent %d bytes, server received %d; not byte for byte the same", len(clientOut), len(serverIn))
	}
	if len(serverOut) < len(payload) || !bytes.Equal(serverOut, clientIn) {
		t.Errorf("server sent %d bytes, client received %d; not byte for byte the same", len(serverOut), len(clientIn))
	}
}
