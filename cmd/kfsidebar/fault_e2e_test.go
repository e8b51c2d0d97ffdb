package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/kfsidebar/kfsidebar/certs"
	"github.com/kfsidebar/kfsidebar/internal/browsertest"
	"github.com/kfsidebar/kfsidebar/proxy/console"
	"github.com/kfsidebar/kfsidebar/proxy/mpkftest"
)

// The fault end-to-end tests break what is under an open console tab:
// kfsidebar itself is restarted, the page reloaded, the network cuts the
// connections. They run their own `kfsidebar run` and their own Chromium,
// so the shared fixture of the other end-to-end tests is never disturbed.

// faultRun is a `kfsidebar run` that can be stopped and started again on
// the same address and data directory.
type faultRun struct {
	args []string
	addr string
	log  *syncBuffer // the log of every run so far
	run  *started
}

// start runs kfsidebar until stop, on listen, and waits until it serves.
func (r *faultRun) start(t *testing.T, listen string) {
	t.Helper()
	run, err := startCommand(r.log, append([]string{"run", "--listen", listen}, r.args...)...)
	if err != nil {
		t.Fatal(err)
	}
	r.run, r.addr = run, run.addr
}

// stop ends the run as Ctrl+C does and waits for it.
func (r *faultRun) stop(t *testing.T) {
	t.Helper()
	if err := r.run.stop(); err != nil {
		t.Fatalf("kfsidebar run: %v", err)
	}
}

// relay stands between the browser and kfsidebar, where the network is:
// cut drops every connection passing through it, as a flaky Wi-Fi or a
// VPN reconnect would.
type relay struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	wg     sync.WaitGroup
}

func newRelay(t *testing.T, target string) *relay {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &relay{ln: ln, target: target, conns: map[net.Conn]struct{}{}}
	r.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			r.wg.Go(func() { r.pipe(c) })
		}
	})
	t.Cleanup(func() {
		ln.Close()
		r.cut()
		r.wg.Wait()
	})
	return r
}

func (r *relay) pipe(c net.Conn) {
	up, err := net.Dial("tcp", r.target)
	if err != nil {
		c.Close() // kfsidebar is down: the browser sees the proxy fail
		return
	}
	r.mu.Lock()
	r.conns[c], r.conns[up] = struct{}{}, struct{}{}
	r.mu.Unlock()
	var wg sync.WaitGroup
	wg.Go(func() { io.Copy(up, c); up.Close() })
	io.Copy(c, up)
	c.Close()
	wg.Wait()
	r.mu.Lock()
	delete(r.conns, c)
	delete(r.conns, up)
	r.mu.Unlock()
}

// cut resets every connection through the relay and reports how many.
func (r *relay) cut() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	for c := range r.conns {
		c.(*net.TCPConn).SetLinger(0)
		c.Close()
	}
	return len(r.conns) / 2
}

// faultSidebar is the page object of the sidebar in ctx, with the
// patience a restart needs and run's log on failure.
func faultSidebar(t *testing.T, ctx context.Context, run *faultRun) *browsertest.Sidebar {
	sb := browsertest.SidebarOf(t, ctx)
	sb.Logs, sb.Timeout = run.log.String, 30*time.Second
	return sb
}

// accepts counts the console's accept requests naming the fan.
func accepts(sim *mpkftest.Server, f mpkftest.Fan) int {
	n := 0
	for _, r := range sim.Requests() {
		if r.Action == "kfcreatesession" || r.Action == "kfbatchcreatesession" {
			for _, u := range strings.Split(r.Form.Get("fansuinlist"), ",") {
				if u == fmt.Sprint(f.UIN) {
					n++
				}
			}
		}
	}
	return n
}

func TestE2EFaults(t *testing.T) {
	browsertest.Require(t)
	dir := t.TempDir()
	sim, err := mpkftest.NewServer(mpkftest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sim.Close)
	simCA, orders, data := filepath.Join(dir, "sim-ca.pem"), filepath.Join(dir, "orders.json"), filepath.Join(dir, "data")
	if err := os.WriteFile(simCA, sim.CA().CertPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(orders, mpkftest.DemoOrdersJSON, 0o600); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	if err := Run(context.Background(), []string{"orders", "import", "--data-dir", data, orders}, &out, &out); err != nil {
		t.Fatalf("orders import: %v\n%s", err, out.String())
	}
	run := &faultRun{args: []string{"--data-dir", data, "--upstream-ca", simCA}, log: &syncBuffer{}}
	for _, h := range mpkftest.Hosts {
		run.args = append(run.args, "--dial", h+":443="+sim.Addr())
	}
	run.start(t, "127.0.0.1:0")
	running := true
	t.Cleanup(func() {
		if running {
			run.stop(t)
		}
	})
	addr := run.addr
	wire := newRelay(t, addr)
	ca, _, err := certs.LoadOrCreate(data, certs.Options{Hosts: []string{console.DefaultConsoleHost}})
	if err != nil {
		t.Fatal(err)
	}
	b, err := browsertest.Start(browsertest.Options{ProxyServer: wire.ln.Addr().String(),
		SPKIList: []string{ca.SPKIHash(), sim.CA().SPKIHash()}, TimeZone: "Asia/Shanghai"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	ctx := b.Tab(t)
	if err := chromedp.Do(ctx, chromedp.Navigate(sim.URL()), chromedp.WaitVisible(chromedp.CSS(".card"))); err != nil {
		t.Fatalf("open console: %v\n%s", err, run.log)
	}
	faultSidebar(t, ctx, run).WaitReady()

	// An agent accepts a chat by hand after the page loaded: only the
	// accept response, and so only the map, knows who it is.
	f := fan(t, "王建国", 0)
	click(t, ctx, chromedp.CSS(fmt.Sprintf(`.waiting_item[data-reactid$="$%d"] .btn_accept`, f.UIN)))
	click(t, ctx, cardSel(f))
	faultSidebar(t, ctx, run).Wait("customer", f.OpenID)
	other := fan(t, "林小满", 0) // open at page load
	click(t, ctx, cardSel(other))
	faultSidebar(t, ctx, run).Wait("customer", other.OpenID)

	t.Run("kfsidebar restarted while the console is open", func(t *testing.T) {
		run.stop(t)
		running = false
		faultSidebar(t, ctx, run).Wait("connecting", "")
		run.start(t, addr)
		running = true
		if run.addr != addr {
			t.Fatalf("restarted on %s, want %s", run.addr, addr)
		}
		faultSidebar(t, ctx, run).WaitReady()
		click(t, ctx, cardSel(f))
		faultSidebar(t, ctx, run).Wait("customer", f.OpenID)
		if n := accepts(sim, f); n != 1 {
			t.Fatalf("%s accepted %d times: the map must come back from SQLite, not from a new accept", f.Nickname, n)
		}
	})
	t.Run("the network drops every connection", func(t *testing.T) {
		before := strings.Count(run.log.String(), "sidebar connected")
		if n := wire.cut(); n == 0 {
			t.Fatal("no connection to cut")
		}
		deadline := time.Now().Add(30 * time.Second)
		for strings.Count(run.log.String(), "sidebar connected") <= before {
			if time.Now().After(deadline) {
				t.Fatalf("the sidebar did not reconnect\n%s", run.log)
			}
			time.Sleep(20 * time.Millisecond)
		}
		faultSidebar(t, ctx, run).WaitReady()
		click(t, ctx, cardSel(other))
		faultSidebar(t, ctx, run).Wait("customer", other.OpenID)
		click(t, ctx, cardSel(f))
		faultSidebar(t, ctx, run).Wait("customer", f.OpenID)
	})
	t.Run("the console page reloaded", func(t *testing.T) {
		if err := chromedp.Do(ctx, chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(".card"))); err != nil {
			t.Fatal(err)
		}
		faultSidebar(t, ctx, run).WaitReady()
		click(t, ctx, cardSel(f))
		faultSidebar(t, ctx, run).Wait("customer", f.OpenID)
		if n := accepts(sim, f); n != 1 {
			t.Fatalf("%s accepted %d times after the reload", f.Nickname, n)
		}
	})
}
