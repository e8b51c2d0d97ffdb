package proxy

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/kfsidebar/kfsidebar/certs"
	"github.com/kfsidebar/kfsidebar/internal/kftest"
	"github.com/kfsidebar/kfsidebar/proxy/console"
)

// count returns how many lines hold every one of parts.
func (l *logCapture) count(parts ...string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, line := range l.lines {
		if !slices.ContainsFunc(parts, func(p string) bool { return !strings.Contains(line, p) }) {
			n++
		}
	}
	return n
}

func (l *logCapture) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

func newTestLeaves(t *testing.T) *certs.Leaves {
	t.Helper()
	ca, err := certs.New(certs.Options{Hosts: []string{console.DefaultConsoleHost}})
	if err != nil {
		t.Fatal(err)
	}
	return certs.NewLeaves(ca, certs.LeafOptions{})
}

// shortListener fails its first fails accepts the way accept(2) does when
// the process has no descriptor left.
type shortListener struct {
	net.Listener
	fails atomic.Int32
}

func (l *shortListener) Accept() (net.Conn, error) {
	if l.fails.Add(-1) >= 0 {
		return nil, &net.OpError{Op: "accept", Net: "tcp", Addr: l.Addr(), Err: os.NewSyscallError("accept4", syscall.EMFILE)}
	}
	return l.Listener.Accept()
}

// TestAcceptErrorsWarn: running out of descriptors at accept is logged at
// WARN, once for a burst of failures (with the count), and the count of
// the rest when the proxy stops; the proxy serves again once descriptors
// are back. net/http alone says it only at its ErrorLog's level, Debug.
func TestAcceptErrorsWarn(t *testing.T) {
	const fails = 7 // net/http backs off 5 ms, 10 ms, … 320 ms: 0.6 s in all
	logs := newLogCapture(t)
	p, err := New(Config{
		Leaves:    newTestLeaves(t),
		Local:     http.NotFoundHandler(),
		Admin:     http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "admin") }),
		Sink:      sinkFunc(func([]console.Record) {}),
		ScriptSrc: "/__kfsidebar/sidebar.js",
		Logger:    logs.logger(),
	})
	if err != nil {
		t.Fatal(err)
	}
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := &shortListener{Listener: inner}
	ln.fails.Store(fails)
	go p.Serve(ln)
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Get("http://" + inner.Addr().String() + "/")
	if err != nil {
		t.Fatalf("the proxy does not serve after the shortage: %v", err)
	}
	resp.Body.Close()
	line := logs.waitFor(t, "level=WARN", "out of descriptors", "where=accept", "count=1", "too many open files")
	t.Log(line)
	if n := logs.count("out of descriptors"); n != 1 {
		t.Errorf("%d lines for %d failures within a minute, want 1", n, fails)
	}
	if h := p.Health(); !h.Short || h.LastShortage.IsZero() {
		t.Errorf("Health after a shortage = %+v, want Short", h)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := p.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	logs.waitFor(t, "level=WARN", "out of descriptors", fmt.Sprintf("count=%d", fails-1))
}

// TestTLSAlertForOtherHost: a ClientHello inside a CONNECT to the console
// that names another host gets the unrecognized_name alert (112), which
// says what is wrong, not internal_error (80).
func TestTLSAlertForOtherHost(t *testing.T) {
	up := newUpstream(t, console.DefaultConsoleHost, http.NotFoundHandler())
	e := startProxy(t, up)
	c, status, _ := e.connect(t, console.DefaultConsoleHost+":443")
	if status != http.StatusOK {
		t.Fatalf("CONNECT: %d", status)
	}
	tc := tls.Client(c, &tls.Config{ServerName: "other.example", RootCAs: e.ca.Pool()})
	err := tc.Handshake()
	if err == nil || !strings.Contains(err.Error(), "unrecognized name") {
		t.Fatalf("handshake for another host: %v, want the unrecognized_name alert", err)
	}
	// The console host itself still works on the next connection.
	_, body := get(t, e.client(e.ca.Pool()), consoleURL+"/__kfsidebar/x")
	if string(body) != "local /__kfsidebar/x" {
		t.Fatalf("console after the refused handshake: %q", body)
	}
}

// TestWarningsRateLimit: the first occurrence of a kind logs at once, the
// rest of the period's in one line with their count; a kind quiet for a
// period starts over; kinds do not hold each other back.
func TestWarningsRateLimit(t *testing.T) {
	logs := newLogCapture(t)
	const period = 200 * time.Millisecond
	w := newWarnings(logs.logger(), period)
	defer w.stop()
	w.warn("a", "trouble a", "n", 1)
	w.warn("b", "trouble b")
	for i := range 4 {
		w.warn("a", "trouble a", "n", i+2)
	}
	if logs.count("trouble a") != 1 || logs.count("trouble b") != 1 {
		t.Fatalf("want one line per kind at once:\n%s", logs)
	}
	logs.waitFor(t, "level=WARN", "trouble a", "kind=a", "count=4", "n=5")
	// A whole quiet period closes the window; the next occurrence logs at once.
	kftest.Poll(t, "the window to close", func() bool {
		w.mu.Lock()
		defer w.mu.Unlock()
		return w.kinds["a"] == nil
	})
	w.warn("a", "trouble a", "n", 6)
	if line, ok := logs.find("trouble a", "n=6"); !ok || !strings.Contains(line, "count=1") {
		t.Fatalf("after a quiet period: %q, want a line at once with count=1", line)
	}
	if n := logs.count("trouble a"); n != 3 {
		t.Fatalf("%d lines for kind a, want 3:\n%s", n, logs)
	}
}
