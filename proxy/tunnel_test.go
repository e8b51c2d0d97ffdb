package proxy

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kfsidebar/kfsidebar/internal/kftest"
	"github.com/kfsidebar/kfsidebar/proxy/console"
)

// The tunnel tests drive blind tunnels (CONNECTs to hosts that are not
// decrypted) through the real proxy to plain TCP servers on loopback:
// the proxy never looks inside, so no TLS is needed to test it.

// blindHost is the host the tests CONNECT to; --dial sends it to a
// loopback server.
const blindHost = "blind.example:443"

// tcpServer is a loopback TCP server running serve on every connection,
// which it closes afterwards.
type tcpServer struct {
	ln    net.Listener
	wg    sync.WaitGroup
	mu    sync.Mutex
	conns map[net.Conn]struct{}
}

func newTCPServer(t *testing.T, serve func(net.Conn)) *tcpServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &tcpServer{ln: ln, conns: map[net.Conn]struct{}{}}
	s.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.conns[c] = struct{}{}
			s.mu.Unlock()
			s.wg.Go(func() {
				serve(c)
				c.Close()
				s.mu.Lock()
				delete(s.conns, c)
				s.mu.Unlock()
			})
		}
	})
	t.Cleanup(func() {
		ln.Close()
		s.mu.Lock()
		for c := range s.conns {
			c.Close()
		}
		s.mu.Unlock()
		s.wg.Wait()
	})
	return s
}

func (s *tcpServer) addr() string { return s.ln.Addr().String() }

// echo sends back what it reads, until the client closes. It hides the
// connection's ReadFrom: io.Copy between two TCP connections would splice
// through pipes, and the descriptor test would count the test's own.
func echo(c net.Conn) {
	io.CopyBuffer(struct{ io.Writer }{c}, struct{ io.Reader }{c}, make([]byte, 32<<10))
}

// startBlind runs a proxy that dials blindHost at srv, with opts.
func startBlind(t *testing.T, srv *tcpServer, opts ...envOption) *env {
	t.Helper()
	up := newUpstream(t, console.DefaultConsoleHost, http.NotFoundHandler())
	return startProxy(t, up, append([]envOption{func(c *Config) {
		c.DialOverrides[blindHost] = srv.addr()
	}}, opts...)...)
}

// connect opens a CONNECT tunnel to host through the proxy and returns the
// connection and the proxy's answer (the body read when it is not 200).
func (e *env) connect(t *testing.T, host string) (net.Conn, int, string) {
	t.Helper()
	c, err := net.DialTimeout("tcp", e.proxyURL.Host, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, "CONNECT "+host+" HTTP/1.1\r\nHost: "+host+"\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, &http.Request{Method: http.MethodConnect})
	if err != nil {
		t.Fatalf("CONNECT %s: %v", host, err)
	}
	var body []byte
	if resp.StatusCode != http.StatusOK {
		body, _ = io.ReadAll(resp.Body)
	}
	c.SetDeadline(time.Time{})
	if br.Buffered() > 0 { // the site spoke first, right after the answer
		return &bufferedConn{Conn: c, r: br}, resp.StatusCode, string(body)
	}
	return c, resp.StatusCode, string(body)
}

func withTunnels(idle time.Duration, max int) envOption {
	return func(c *Config) { c.TunnelIdleTimeout, c.MaxTunnels = idle, max }
}

// waitClosed waits until the proxy closes c, at most within, and returns
// how long that took.
func waitClosed(t *testing.T, c net.Conn, within time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	c.SetReadDeadline(start.Add(within))
	_, err := io.Copy(io.Discard, c)
	if isTimeout(err) {
		t.Fatalf("the tunnel is still open after %v", within)
	}
	return time.Since(start)
}

// TestTunnelIdleTimeout: a blind tunnel that carries nothing is closed
// after the idle timeout; one that carries a byte in either direction more
// often stays open, however long it lives, and is closed once it stops.
func TestTunnelIdleTimeout(t *testing.T) {
	// A tick a tenth of the idle timeout: a loaded machine may stall the
	// test for a few ticks without the tunnel looking idle.
	const (
		idle   = time.Second
		tick   = 100 * time.Millisecond
		ticks  = 25 // 2.5 s: two and a half idle timeouts
		within = 10 * time.Second
	)
	// talker sends one byte per tick for ticks ticks, and notes when it
	// sent the last.
	var last atomic.Int64
	talker := func(c net.Conn) error {
		for i := range ticks {
			if i > 0 {
				time.Sleep(tick)
			}
			if _, err := c.Write([]byte{'.'}); err != nil {
				return err
			}
			last.Store(time.Now().UnixNano())
		}
		return nil
	}
	tests := []struct {
		name   string
		client bool // the browser sends a byte every tick
		server bool // the site sends a byte every tick
	}{
		{"idle both ways", false, false},
		{"browser sends", true, false},
		{"site sends", false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got atomic.Int64 // bytes the site received
			srv := newTCPServer(t, func(c net.Conn) {
				if tt.server {
					go func() {
						n, _ := io.Copy(io.Discard, c)
						got.Add(n)
					}()
					talker(c)
					io.Copy(io.Discard, c) // then stay, silent, until closed
					return
				}
				n, _ := io.Copy(io.Discard, c)
				got.Add(n)
			})
			e := startBlind(t, srv, withTunnels(idle, 0))
			c, status, _ := e.connect(t, blindHost)
			if status != http.StatusOK {
				t.Fatalf("CONNECT: %d", status)
			}
			start := time.Now()
			if !tt.client && !tt.server {
				d := waitClosed(t, c, within)
				if d < idle-idle/10 {
					t.Fatalf("closed after %v, before the idle timeout %v", d, idle)
				}
				t.Logf("an idle tunnel closed after %v (idle timeout %v)", d, idle)
				return
			}
			var received atomic.Int64 // bytes the browser received
			closed := make(chan time.Time, 1)
			go func() {
				b := make([]byte, 64)
				for {
					n, err := c.Read(b)
					received.Add(int64(n))
					if err != nil {
						closed <- time.Now()
						return
					}
				}
			}()
			if tt.client {
				if err := talker(c); err != nil {
					t.Fatalf("the browser's bytes stopped after %v: %v", time.Since(start), err)
				}
			} else {
				kftest.Poll(t, "the site's bytes", func() bool { return received.Load() == ticks })
			}
			talked := time.Unix(0, last.Load())
			select {
			case at := <-closed:
				t.Fatalf("a busy tunnel was closed after %v", at.Sub(start))
			default:
			}
			if tt.client {
				kftest.Poll(t, "the browser's bytes at the site", func() bool { return got.Load() == ticks })
			}
			select {
			case at := <-closed:
				if d := at.Sub(talked); d < idle-idle/10 {
					t.Fatalf("closed %v after the last byte, before the idle timeout %v", d, idle)
				}
				t.Logf("busy for %v (idle timeout %v), then closed %v after the last byte", talked.Sub(start), idle, at.Sub(talked))
			case <-time.After(within):
				t.Fatalf("the tunnel is still open %v after its last byte", within)
			}
		})
	}
}

// TestTunnelCap: CONNECTs beyond the cap get 503 with a reason, and one
// WARN line says so (with a count, not a line each); a tunnel that closes
// makes room again.
func TestTunnelCap(t *testing.T) {
	const max = 3
	srv := newTCPServer(t, echo)
	logs := newLogCapture(t)
	e := startBlind(t, srv, withTunnels(0, max), withLogger(logs.logger()))
	var open []net.Conn
	for range max {
		c, status, _ := e.connect(t, blindHost)
		if status != http.StatusOK {
			t.Fatalf("CONNECT under the cap: %d", status)
		}
		open = append(open, c)
	}
	for range 2 {
		c, status, body := e.connect(t, blindHost)
		if status != http.StatusServiceUnavailable || body != tunnelRefusedText {
			t.Fatalf("CONNECT over the cap: %d %q, want 503 %q", status, body, tunnelRefusedText)
		}
		if d := waitClosed(t, c, 5*time.Second); d > time.Second {
			t.Errorf("the refused connection stayed open %v", d)
		}
	}
	logs.waitFor(t, "level=WARN", "blind tunnel refused", "count=1", "open=3", "max=3")
	if n := logs.count("level=WARN", "blind tunnel refused"); n != 1 {
		t.Errorf("%d log lines for two refused tunnels within a minute, want 1", n)
	}
	if line, ok := logs.find("blind.example"); ok && !strings.Contains(line, "level=DEBUG") {
		t.Errorf("a host name logged above Debug: %s", line)
	}
	h := e.proxy.Health()
	if h.Tunnels != max || h.MaxTunnels != max || h.TunnelsRefused != 2 || !h.Refusing || h.Short {
		t.Errorf("Health = %+v, want %d of %d tunnels, 2 refused just now, descriptors not short", h, max, max)
	}
	// The tunnels work, and closing one makes room.
	for _, c := range open {
		roundTrip(t, c)
	}
	open[0].Close()
	kftest.Poll(t, "room for a new tunnel", func() bool { return e.proxy.Health().Tunnels < max })
	c, status, _ := e.connect(t, blindHost)
	if status != http.StatusOK {
		t.Fatalf("CONNECT after one closed: %d", status)
	}
	roundTrip(t, c)
}

// roundTrip sends a few bytes through a tunnel to the echo server.
func roundTrip(t *testing.T, c net.Conn) {
	t.Helper()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	defer c.SetDeadline(time.Time{})
	if _, err := io.WriteString(c, "ping"); err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 4)
	if _, err := io.ReadFull(c, b); err != nil || string(b) != "ping" {
		t.Fatalf("echo through the tunnel: %q %v", b, err)
	}
}

// TestDefaultMaxTunnelsLeavesAQuarter: whatever the descriptor limit, the
// tunnels' descriptors at the cap leave at least a quarter of it free.
func TestDefaultMaxTunnelsLeavesAQuarter(t *testing.T) {
	for _, limit := range []int{256, 1024, 4096, 20000, 1 << 20} {
		n := defaultMaxTunnels(limit)
		free := limit - n*tunnelDescriptors
		if n < 1 || n > maxTunnelsCeiling || free < limit/4+reservedDescriptors {
			t.Errorf("limit %d: cap %d leaves %d descriptors free, want at least %d", limit, n, free, limit/4+reservedDescriptors)
		}
	}
	if n := defaultMaxTunnels(1024); n != 352 {
		t.Errorf("cap for 1,024 descriptors = %d, want 352 (the figure the docs give)", n)
	}
}

// TestTunnelsLeaveNoDescriptors: after a burst of busy tunnels closes, the
// process's descriptors are back at their baseline at once, without a
// garbage collection. io.Copy between two TCP connections splices through
// a pipe pair per direction, which the runtime pools until a collection:
// thousands of descriptors stayed open for minutes after a burst.
func TestTunnelsLeaveNoDescriptors(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("counts descriptors in /proc/self/fd: Linux only")
	}
	const tunnels = 200
	// No collection during the test: an idle proxy collects every two
	// minutes, and the pipes of io.Copy would stay that long.
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	srv := newTCPServer(t, echo)
	e := startBlind(t, srv)
	roundTrip(t, mustConnect(t, e)) // warm up: the proxy's listener, poller and first goroutines
	base := openDescriptors()
	payload := bytes.Repeat([]byte("0123456789abcdef"), 4<<10) // 64 KB each way
	var wg sync.WaitGroup
	conns := make(chan net.Conn, tunnels)
	for range tunnels {
		c := mustConnect(t, e)
		conns <- c
		wg.Go(func() {
			go c.Write(payload)
			c.SetReadDeadline(time.Now().Add(30 * time.Second))
			io.ReadFull(c, make([]byte, len(payload)))
		})
	}
	wg.Wait()
	peak := openDescriptors()
	// Each tunnel: the test's two ends and the proxy's two sockets, no pipes.
	if perTunnel := float64(peak-base) / tunnels; perTunnel > 4.1 {
		t.Errorf("%.1f descriptors per open tunnel, want 4: the test's client and server, the proxy's two sockets", perTunnel)
	}
	close(conns)
	for c := range conns {
		c.Close()
	}
	start := time.Now()
	deadline := start.Add(5 * time.Second)
	for {
		n := openDescriptors()
		if n <= base+10 {
			t.Logf("%d tunnels: descriptors %d before, %d with them open, %d %v after they closed", tunnels, base, peak, n, time.Since(start).Round(time.Millisecond))
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d descriptors open %v after %d tunnels closed; %d before them, %d with them open", n, time.Since(start), tunnels, base, peak)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func mustConnect(t *testing.T, e *env) net.Conn {
	t.Helper()
	c, status, body := e.connect(t, blindHost)
	if status != http.StatusOK {
		t.Fatalf("CONNECT: %d %s", status, body)
	}
	return c
}

// TestShutdownClosesTunnels: tunnels are hijacked connections, which
// http.Server.Shutdown does not know; Shutdown closes them and waits for
// their goroutines, and refuses new ones meanwhile.
func TestShutdownClosesTunnels(t *testing.T) {
	srv := newTCPServer(t, echo)
	e := startBlind(t, srv)
	c := mustConnect(t, e)
	roundTrip(t, c)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	start := time.Now()
	if err := e.proxy.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown with a tunnel open: %v", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Shutdown took %v with a tunnel open", d)
	}
	waitClosed(t, c, 5*time.Second)
	if n := e.proxy.Health().Tunnels; n != 0 {
		t.Errorf("%d tunnels open after Shutdown", n)
	}
}
