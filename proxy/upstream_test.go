package proxy

import (
	"context"
	"encoding/base64"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/elazarl/goproxy"

	"github.com/kfsidebar/kfsidebar/internal/kftest"
	"github.com/kfsidebar/kfsidebar/proxy/console"
)

func TestParseUpstreamProxy(t *testing.T) {
	tests := []struct {
		in, want string
		err      bool
	}{
		{in: "http://10.0.0.1:3128", want: "http://10.0.0.1:3128"},
		{in: "10.0.0.1:3128", want: "http://10.0.0.1:3128"},
		{in: "corp-proxy", want: "http://corp-proxy:80"},
		{in: "https://proxy.corp.example", want: "https://proxy.corp.example:443"},
		{in: "http://u:p@proxy:8080/", want: "http://u:p@proxy:8080"},
		{in: " http://proxy:8080 ", want: "http://proxy:8080"},
		{in: "", err: true},
		{in: "socks5://proxy:1080", err: true},
		{in: "http://proxy:8080/path", err: true},
		{in: "http://:8080", err: true},
		{in: "http://proxy:8080/?x=1", err: true},
	}
	for _, tt := range tests {
		u, err := ParseUpstreamProxy(tt.in)
		if tt.err {
			if err == nil {
				t.Errorf("ParseUpstreamProxy(%q) = %v, want an error", tt.in, u)
			}
			continue
		}
		if err != nil || u.String() != tt.want {
			t.Errorf("ParseUpstreamProxy(%q) = %v, %v; want %s", tt.in, u, err, tt.want)
		}
	}
}

// officeProxy is a real forward proxy (goproxy) standing for the office's
// proxy: it demands Basic auth, records what it was asked for, and reaches
// the test servers through dial overrides.
type officeProxy struct {
	url  *url.URL
	mu   sync.Mutex
	seen []string
}

func (o *officeProxy) record(s string) {
	o.mu.Lock()
	o.seen = append(o.seen, s)
	o.mu.Unlock()
}

func (o *officeProxy) requests() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return slices.Clone(o.seen)
}

func startOfficeProxy(t *testing.T, routes map[string]string) *officeProxy {
	t.Helper()
	o := &officeProxy{}
	dial := func(network, addr string) (net.Conn, error) {
		if to, ok := routes[addr]; ok {
			addr = to
		}
		return net.Dial(network, addr)
	}
	want := "Basic " + base64.StdEncoding.EncodeToString([]byte("agent:s3cret"))
	gp := goproxy.NewProxyHttpServer()
	gp.Logger = slog.NewLogLogger(kftest.Logger(t).With("component", "office proxy").Handler(), slog.LevelDebug)
	gp.ConnectDial = dial
	gp.Tr = &http.Transport{DialContext: func(_ context.Context, network, addr string) (net.Conn, error) {
		return dial(network, addr)
	}}
	gp.OnRequest().HandleConnectFunc(func(host string, ctx *goproxy.ProxyCtx) (*goproxy.ConnectAction, string) {
		if ctx.Req.Header.Get("Proxy-Authorization") != want {
			o.record("REFUSED CONNECT " + host)
			return goproxy.RejectConnect, host
		}
		o.record("CONNECT " + host)
		return goproxy.OkConnect, host
	})
	gp.OnRequest().DoFunc(func(r *http.Request, ctx *goproxy.ProxyCtx) (*http.Request, *http.Response) {
		if r.Header.Get("Proxy-Authorization") != want {
			o.record("REFUSED GET " + r.URL.String())
			return r, goproxy.NewResponse(r, "text/plain", http.StatusProxyAuthRequired, "auth")
		}
		o.record("GET " + r.URL.String())
		return r, nil
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: gp}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	o.url, _ = url.Parse("http://agent:s3cret@" + ln.Addr().String())
	return o
}

// TestUpstreamProxyChaining: with an office proxy configured, the console
// (decrypted), blind tunnels and plain HTTP all leave through it, with its
// credentials, and nothing is dialed directly.
func TestUpstreamProxyChaining(t *testing.T) {
	up := newUpstream(t, console.DefaultConsoleHost, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		io.WriteString(w, "<html><head></head><body>console</body></html>")
	}))
	other := newUpstream(t, "other.example", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "other") }))
	plain := newPlainServer(t, "plain")
	office := startOfficeProxy(t, map[string]string{
		console.DefaultConsoleHost + ":443": up.Listener.Addr().String(),
		"other.example:443":                 other.Listener.Addr().String(),
		"plain.example:80":                  plain,
	})
	e := startProxy(t, up, func(c *Config) {
		c.DialOverrides = nil // only the office proxy knows the way
		c.UpstreamProxy = office.url
	})

	_, body := get(t, e.client(e.ca.Pool()), consoleURL+"/cgi-bin/kfindex")
	if !strings.Contains(string(body), "console") || !strings.Contains(string(body), "/__kfsidebar/sidebar.js") {
		t.Fatalf("console through the office proxy: %q", body)
	}
	_, body = get(t, e.client(other.ca.Pool()), "https://other.example/")
	if string(body) != "other" {
		t.Fatalf("tunnel through the office proxy: %q", body)
	}
	_, body = get(t, e.client(nil), "http://plain.example/x")
	if string(body) != "plain" {
		t.Fatalf("plain http through the office proxy: %q", body)
	}
	want := []string{"CONNECT " + console.DefaultConsoleHost + ":443", "CONNECT other.example:443", "GET http://plain.example/x"}
	if got := office.requests(); !slices.Equal(got, want) {
		t.Fatalf("office proxy saw %q, want %q", got, want)
	}
}

func TestUpstreamProxyRefusalIs502(t *testing.T) {
	up := newUpstream(t, console.DefaultConsoleHost, http.NotFoundHandler())
	office := startOfficeProxy(t, nil)
	wrong := *office.url
	wrong.User = url.UserPassword("agent", "wrong")
	e := startProxy(t, up, func(c *Config) {
		c.DialOverrides = nil
		c.UpstreamProxy = &wrong
	})
	resp, _ := get(t, e.client(e.ca.Pool()), consoleURL+"/")
	if resp.StatusCode != http.StatusBadGateway {
		t.Fatalf("console with a refusing office proxy: %s, want 502", resp.Status)
	}
	c := e.client(nil)
	if r, err := c.Get("https://other.example/"); err == nil {
		r.Body.Close()
		t.Fatal("a tunnel opened although the office proxy refused it")
	}
	if got := office.requests(); !slices.Contains(got, "REFUSED CONNECT other.example:443") {
		t.Fatalf("office proxy saw %q", got)
	}
}

func TestUpstreamDialerKeepsBytesTheProxySentEarly(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		buf := make([]byte, 4096)
		n, _ := c.Read(buf)
		if !strings.HasPrefix(string(buf[:n]), "CONNECT target.example:443 HTTP/1.1\r\n") {
			return
		}
		// The answer and the tunnel's first bytes in one write.
		io.WriteString(c, "HTTP/1.1 200 Connection established\r\n\r\nhello from the far side")
	}()
	u, _ := url.Parse("http://" + ln.Addr().String())
	d := &upstreamDialer{proxy: u, dial: (&net.Dialer{}).DialContext}
	conn, err := d.DialContext(context.Background(), "tcp", "target.example:443")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	got, _ := io.ReadAll(conn)
	if string(got) != "hello from the far side" {
		t.Fatalf("read %q", got)
	}
}

func newPlainServer(t *testing.T, body string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, body) })}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}
