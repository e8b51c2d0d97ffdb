//go:build linux

package main

import (
	"bufio"
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/kfsidebar/kfsidebar/certs"
)

// env is what every proxy is started with.
type env struct {
	self       string // this executable, for the serve children
	benchDir   string // the repository's bench/ (addon, rules, plugin)
	whistle    string // whistle's bin/whistle.js
	tmp        string
	upstream   *upstream
	upstreamCA string // PEM file
	profile    string // directory for the Go proxies' CPU profiles, or ""
}

// proxyDef is one contestant.
type proxyDef struct {
	Name  string
	start func(e *env, dir string) (*proc, error) // nil: no proxy
}

// proc is a running proxy process.
type proc struct {
	name  string
	cmd   *exec.Cmd
	addr  string
	roots *x509.CertPool // what a client must trust to accept its leaves
	// stats reads the proxy's own counters, if it has any.
	stats  func(ctx context.Context) (map[string]any, error)
	stderr *tailBuffer
}

var proxies = []proxyDef{
	{Name: "direct"},
	{Name: "goproxy", start: startServeChild("goproxy")},
	{Name: "kfsidebar", start: startServeChild("kfsidebar")},
	// kfsidebar-h2 offers the upstream HTTP/2 (proxy.Config.UpstreamHTTP2):
	// with -upstream-h2 it then speaks HTTP/2 to it.
	{Name: "kfsidebar-h2", start: startServeChild("kfsidebar", "-upstream-http2")},
	{Name: "mitmproxy", start: startMitmproxy},
	{Name: "whistle", start: startWhistle(true)},
	{Name: "whistle-inject", start: startWhistle(false)},
}

// route returns how the load generator reaches the console through p (nil
// means direct).
func (e *env) route(p *proc) route {
	if p == nil {
		return route{Direct: e.upstream.addr, Roots: e.upstream.ca.Pool()}
	}
	return route{Proxy: &url.URL{Scheme: "http", Host: p.addr}, Roots: p.roots}
}

// startServeChild re-executes the harness as "serve NAME", with extra
// flags for the child.
func startServeChild(name string, extra ...string) func(e *env, dir string) (*proc, error) {
	return func(e *env, dir string) (*proc, error) {
		args := append([]string{"serve", name, "-upstream", e.upstream.addr, "-upstream-ca", e.upstreamCA, "-dir", dir}, extra...)
		if e.profile != "" {
			args = append(args, "-cpuprofile", filepath.Join(e.profile, filepath.Base(dir)+".pprof"))
		}
		cmd := exec.Command(e.self, args...)
		p, stdout, err := startProc(name, cmd)
		if err != nil {
			return nil, err
		}
		line, err := readLine(stdout, 30*time.Second)
		addr, ok := strings.CutPrefix(line, "listening ")
		if err != nil || !ok {
			p.stop()
			return nil, fmt.Errorf("%s: did not start (%v): %s", name, err, p.stderr)
		}
		p.addr = strings.TrimSpace(addr)
		if p.roots, err = poolFromFile(filepath.Join(dir, certs.CertFile), 5*time.Second); err != nil {
			p.stop()
			return nil, err
		}
		p.stats = func(ctx context.Context) (map[string]any, error) {
			return getJSON(ctx, http.DefaultClient, "http://"+p.addr+statsPath)
		}
		return p, nil
	}
}

// startMitmproxy runs Debian's mitmdump with bench/mitm_addon.py, its own
// CA in dir, and the upstream's CA as the only one it trusts.
func startMitmproxy(e *env, dir string) (*proc, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command("mitmdump", "-q",
		"--listen-host", "127.0.0.1", "--listen-port", strconv.Itoa(port),
		"--set", "confdir="+dir,
		"--set", "ssl_verify_upstream_trusted_ca="+e.upstreamCA,
		"-s", filepath.Join(e.benchDir, "mitm_addon.py"),
		"--set", "kf_upstream="+e.upstream.addr,
	)
	p, _, err := startProc("mitmproxy", cmd)
	if err != nil {
		return nil, err
	}
	p.addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	if err := waitListening(p, 60*time.Second); err != nil {
		p.stop()
		return nil, err
	}
	if p.roots, err = poolFromFile(filepath.Join(dir, "mitmproxy-ca-cert.pem"), 10*time.Second); err != nil {
		p.stop()
		return nil, err
	}
	client := &http.Client{Transport: &http.Transport{Proxy: http.ProxyURL(&url.URL{Scheme: "http", Host: p.addr})}}
	p.stats = func(ctx context.Context) (map[string]any, error) {
		return getJSON(ctx, client, "http://proxybench.stats/")
	}
	return p, nil
}

// startWhistle runs whistle from npm with bench/whistle.rules and the
// kfscan plugin under bench/whistle, HTTPS interception on, upstream
// certificates verified against the upstream's CA only. Without scan, the
// plugin's rule is left out: whistle then only injects, which shows what
// the scan costs whistle.
func startWhistle(scan bool) func(e *env, dir string) (*proc, error) {
	return func(e *env, dir string) (*proc, error) { return runWhistle(e, dir, scan) }
}

func runWhistle(e *env, dir string, scan bool) (*proc, error) {
	if _, err := os.Stat(e.whistle); err != nil {
		return nil, fmt.Errorf("whistle not found (run bench/setup.sh or pass -whistle): %w", err)
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	tmpl, err := os.ReadFile(filepath.Join(e.benchDir, "whistle.rules"))
	if err != nil {
		return nil, err
	}
	rules := filepath.Join(dir, "rules.txt")
	text := strings.ReplaceAll(string(tmpl), "UPSTREAM_ADDR", e.upstream.addr)
	if !scan {
		var keep []string
		for _, line := range strings.Split(text, "\n") {
			if !strings.Contains(line, "pipe://kfscan") {
				keep = append(keep, line)
			}
		}
		text = strings.Join(keep, "\n")
	}
	if err := os.WriteFile(rules, []byte(text), 0o600); err != nil {
		return nil, err
	}
	statsFile := filepath.Join(dir, "kfscan-stats.json")
	cmd := exec.Command("node", e.whistle, "run",
		"-H", "127.0.0.1", "-p", strconv.Itoa(port),
		"-M", "capture|rejectUnauthorized|disableH2",
		"-r", rules,
		"-A", filepath.Join(e.benchDir, "whistle"),
		"--no-global-plugins", "--no-prev-options",
	)
	// WHISTLE_PATH keeps whistle's data, its root CA included, out of
	// the home directory.
	cmd.Env = append(os.Environ(), "WHISTLE_PATH="+filepath.Join(dir, "whistle"), "NODE_EXTRA_CA_CERTS="+e.upstreamCA, "KFSCAN_STATS="+statsFile)
	p, _, err := startProc("whistle", cmd)
	if err != nil {
		return nil, err
	}
	p.addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	if err := waitListening(p, 60*time.Second); err != nil {
		p.stop()
		return nil, err
	}
	ca, err := findFile(filepath.Join(dir, "whistle"), "root.crt", 10*time.Second)
	if err != nil {
		p.stop()
		return nil, fmt.Errorf("whistle root CA: %w", err)
	}
	if p.roots, err = poolFromFile(ca, time.Second); err != nil {
		p.stop()
		return nil, err
	}
	p.stats = func(context.Context) (map[string]any, error) {
		b, err := os.ReadFile(statsFile)
		if errors.Is(err, fs.ErrNotExist) {
			return map[string]any{}, nil
		}
		if err != nil {
			return nil, err
		}
		var m map[string]any
		return m, json.Unmarshal(b, &m)
	}
	return p, nil
}

// startProc starts cmd in its own process group, so that stop ends its
// children (whistle's plugin processes) too, and only them. The returned
// channel yields the child's first line of standard output; the rest goes
// where its standard error goes.
func startProc(name string, cmd *exec.Cmd) (*proc, <-chan string, error) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	p := &proc{name: name, cmd: cmd, stderr: &tailBuffer{max: 8 << 10}}
	cmd.Stderr = p.stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, nil, fmt.Errorf("start %s: %w", name, err)
	}
	first := make(chan string, 1)
	go func() {
		br := bufio.NewReader(stdout)
		line, _ := br.ReadString('\n')
		first <- line
		io.Copy(p.stderr, br) // a chatty child must never block on its stdout
	}()
	return p, first, nil
}

// readLine waits up to d for the first line.
func readLine(first <-chan string, d time.Duration) (string, error) {
	select {
	case s := <-first:
		return s, nil
	case <-time.After(d):
		return "", errors.New("timed out")
	}
}

// stop ends the process group with SIGTERM, then SIGKILL after a grace
// period.
func (p *proc) stop() {
	pgid := p.cmd.Process.Pid
	syscall.Kill(-pgid, syscall.SIGTERM)
	done := make(chan struct{})
	go func() { p.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		syscall.Kill(-pgid, syscall.SIGKILL)
		<-done
	}
}

func (p *proc) pid() int { return p.cmd.Process.Pid }

// waitListening polls until p accepts TCP connections.
func waitListening(p *proc, d time.Duration) error {
	deadline := time.Now().Add(d)
	for {
		c, err := net.DialTimeout("tcp", p.addr, time.Second)
		if err == nil {
			c.Close()
			return nil
		}
		if p.cmd.ProcessState != nil || time.Now().After(deadline) {
			return fmt.Errorf("%s: not listening on %s: %v: %s", p.name, p.addr, err, p.stderr)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// freePort asks the kernel for a port nobody uses now.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// poolFromFile waits up to d for a PEM file (proxies write their CA as they
// start) and returns a pool of its certificates.
func poolFromFile(path string, d time.Duration) (*x509.CertPool, error) {
	deadline := time.Now().Add(d)
	for {
		pem, err := os.ReadFile(path)
		if err == nil {
			pool := x509.NewCertPool()
			if pool.AppendCertsFromPEM(pem) {
				return pool, nil
			}
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("no CA certificate in %s: %v", path, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// findFile waits up to d for a file called name anywhere under root.
func findFile(root, name string, d time.Duration) (string, error) {
	deadline := time.Now().Add(d)
	for {
		var found string
		filepath.WalkDir(root, func(path string, de fs.DirEntry, err error) error {
			if err == nil && !de.IsDir() && de.Name() == name {
				found = path
				return fs.SkipAll
			}
			return nil
		})
		if found != "" {
			return found, nil
		}
		if time.Now().After(deadline) {
			return "", fmt.Errorf("no %s under %s", name, root)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func getJSON(ctx context.Context, c *http.Client, u string) (map[string]any, error) {
	_, b, err := get(ctx, c, u, http.Header{})
	if err != nil {
		return nil, err
	}
	var m map[string]any
	return m, json.Unmarshal(b, &m)
}

// tailBuffer keeps the last max bytes written, for error messages.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if len(t.b) > t.max {
		t.b = t.b[len(t.b)-t.max:]
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return strings.TrimSpace(string(t.b))
}
