package proxy

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kfsidebar/kfsidebar/certs"
	"github.com/kfsidebar/kfsidebar/internal/kftest"
	"github.com/kfsidebar/kfsidebar/proxy/console"
)

// sinkFunc is a Sink with a function field.
type sinkFunc func(recs []console.Record)

func (f sinkFunc) Add(_ context.Context, recs []console.Record) error {
	f(recs)
	return nil
}

// recorder collects what the proxy scanned.
type recorder struct {
	mu   sync.Mutex
	recs []console.Record
	ch   chan struct{}
}

func newRecorder() *recorder { return &recorder{ch: make(chan struct{}, 100)} }

func (r *recorder) Add(_ context.Context, recs []console.Record) error {
	r.mu.Lock()
	r.recs = append(r.recs, recs...)
	r.mu.Unlock()
	r.ch <- struct{}{}
	return nil
}

func (r *recorder) wait(t *testing.T) []console.Record {
	t.Helper()
	select {
	case <-r.ch:
	case <-time.After(10 * time.Second):
		t.Fatal("no records scanned")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]console.Record(nil), r.recs...)
}

// upstream is a TLS server standing in for a real host, with its own CA.
type upstream struct {
	*httptest.Server
	ca *certs.CA
}

func newUpstream(t testing.TB, host string, h http.Handler) *upstream {
	t.Helper()
	ca, err := certs.New(certs.Options{Hosts: []string{host}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(h)
	srv.TLS = certs.NewLeaves(ca, certs.LeafOptions{}).ServerTLSConfig()
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return &upstream{Server: srv, ca: ca}
}

// env is a running proxy in front of a simulated console host.
type env struct {
	proxyURL *url.URL
	ca       *certs.CA
	leaves   *certs.Leaves
	sink     *recorder
	proxy    *Proxy
}

type envOption func(*Config)

func startProxy(t testing.TB, up *upstream, opts ...envOption) *env {
	t.Helper()
	ca, err := certs.New(certs.Options{Hosts: []string{console.DefaultConsoleHost}})
	if err != nil {
		t.Fatal(err)
	}
	leaves := certs.NewLeaves(ca, certs.LeafOptions{})
	sink := newRecorder()
	cfg := Config{
		Leaves:        leaves,
		UpstreamRoots: up.ca.Pool(),
		DialOverrides: map[string]string{console.DefaultConsoleHost + ":443": up.Listener.Addr().String()},
		Local: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintf(w, "local %s", r.URL.Path)
		}),
		Sink:      sink,
		ScriptSrc: "/__kfsidebar/sidebar.js?t=TOKEN",
		Logger:    kftest.Logger(t),
	}
	for _, o := range opts {
		o(&cfg)
	}
	p, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go p.Serve(ln)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		p.Shutdown(ctx)
	})
	u, _ := url.Parse("http://" + ln.Addr().String())
	return &env{proxyURL: u, ca: ca, leaves: leaves, sink: sink, proxy: p}
}

// client is a browser stand-in: it uses the proxy and trusts roots only.
func (e *env) client(roots *x509.CertPool) *http.Client {
	return &http.Client{Transport: &http.Transport{
		Proxy:              http.ProxyURL(e.proxyURL),
		TLSClientConfig:    &tls.Config{RootCAs: roots},
		DisableCompression: true, // see the bytes as they travel
		ForceAttemptHTTP2:  false,
	}}
}

func get(t *testing.T, c *http.Client, u string, hdr ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}

const consoleURL = "https://" + console.DefaultConsoleHost

func gz(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

func TestPassThroughIsByteIdentical(t *testing.T) {
	binary := bytes.Repeat([]byte{0, 1, 2, 0xff, 0xfe}, 5000)
	acceptJSON := []byte(`{"base_resp":{"ret":0},"kfcreatesession_resp":[{"base_resp":{"ret":0},"kfsession":{"fans_openid":"oAAA","nickname":"n","headimgurl":"http://wx.qlogo.cn/mmhead/X","fans_uin":1}}]}`)
	tests := []struct {
		name   string
		path   string
		header http.Header
		body   []byte
	}{
		{"binary image", "/mpres/a.png", http.Header{"Content-Type": {"image/png"}}, binary},
		{"gzip json scanned", "/cgi-bin/kfsessionmgr?action=kfcreatesession&f=json", http.Header{"Content-Type": {"application/json"}, "Content-Encoding": {"gzip"}}, gz(t, acceptJSON)},
		{"json labelled html", "/cgi-bin/kfmsg?action=getnewmsg", http.Header{"Content-Type": {"text/html; charset=UTF-8"}}, []byte(`{"base_resp":{"ret":0},"msglist":[]}`)},
		{"not json with json label", "/cgi-bin/x", http.Header{"Content-Type": {"application/json"}}, []byte("{oops")},
		{"duplicate headers", "/d", http.Header{"Set-Cookie": {"a=1", "b=2"}, "X-Dup": {"1", "2"}, "Content-Type": {"text/plain"}}, []byte("plain")},
		{"script", "/mpres/app.js", http.Header{"Content-Type": {"application/javascript"}, "Etag": {`"abc"`}}, []byte("console.log(1)")},
	}
	mux := http.NewServeMux()
	for _, tt := range tests {
		mux.HandleFunc(strings.SplitN(tt.path, "?", 2)[0], func(w http.ResponseWriter, r *http.Request) {
			for k, vs := range tt.header {
				w.Header()[k] = vs
			}
			w.Write(tt.body)
		})
	}
	up := newUpstream(t, console.DefaultConsoleHost, mux)
	e := startProxy(t, up)
	c := e.client(e.ca.Pool())
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := get(t, c, consoleURL+tt.path, "Sec-Fetch-Dest", "empty", "Accept-Encoding", "gzip")
			if !bytes.Equal(body, tt.body) {
				t.Fatalf("body differs: got %d bytes, want %d", len(body), len(tt.body))
			}
			for k, want := range tt.header {
				if got := resp.Header[k]; strings.Join(got, "|") != strings.Join(want, "|") {
					t.Errorf("header %s = %q, want %q", k, got, want)
				}
			}
		})
	}
	recs := e.sink.wait(t)
	if len(recs) != 1 || recs[0].OpenID != "oAAA" || recs[0].Source != console.SourceManual {
		t.Fatalf("scanned %+v, want one manual record for oAAA", recs)
	}
}

func TestPageInjection(t *testing.T) {
	page := []byte(`<!doctype html><html><head><title>客服</title></head><body><script>MCS.cgiData = {"sessions":{"kfsession_and_msgsummary":[{"kfsession":{"fans_openid":"oPAGE","nickname":"p","headimgurl":"http://wx.qlogo.cn/mmhead/P","fans_uin":7}}]}};</script></body></html>`)
	up := newUpstream(t, console.DefaultConsoleHost, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Content-Encoding", "gzip")
		w.Header().Set("ETag", `"v1"`)
		w.Header().Set("Last-Modified", "Mon, 02 Jan 2006 15:04:05 GMT")
		w.Header().Set("Content-Security-Policy", "default-src 'self' https://res.wx.qq.com; img-src *")
		w.Write(gz(t, page))
	}))
	e := startProxy(t, up)
	resp, body := get(t, e.client(e.ca.Pool()), consoleURL+"/cgi-bin/kfindex?token=1234567890", "Accept-Encoding", "gzip", "Sec-Fetch-Dest", "document")
	zr, err := gzip.NewReader(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("page is no longer gzip: %v", err)
	}
	doc, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(doc), `src="/__kfsidebar/sidebar.js?t=TOKEN"`); n != 1 {
		t.Fatalf("injected script tags = %d, want 1:\n%s", n, doc)
	}
	if i, j := strings.Index(string(doc), "sidebar.js"), strings.Index(string(doc), "</head>"); i > j {
		t.Errorf("script not before </head>")
	}
	if got := resp.Header.Get("Content-Length"); got != fmt.Sprint(len(body)) {
		t.Errorf("Content-Length = %s, want %d", got, len(body))
	}
	for _, h := range []string{"ETag", "Last-Modified"} {
		if v := resp.Header.Get(h); v != "" {
			t.Errorf("%s = %q, want it dropped", h, v)
		}
	}
	if got := resp.Header.Get("Cache-Control"); got != "no-store" {
		t.Errorf("Cache-Control = %q, want no-store", got)
	}
	csp := resp.Header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "default-src 'self' https://res.wx.qq.com;") || !strings.Contains(csp, "img-src *") {
		t.Errorf("CSP loosened or lost its directives: %q", csp)
	}
	if !strings.Contains(csp, "wss://"+console.DefaultConsoleHost+"/__kfsidebar/ws") {
		t.Errorf("CSP does not allow our websocket: %q", csp)
	}
	recs := e.sink.wait(t)
	if len(recs) != 1 || recs[0].OpenID != "oPAGE" || recs[0].Source != console.SourcePage {
		t.Fatalf("page scan gave %+v", recs)
	}
}

func TestXHRAnsweredWithHTMLIsNotInjected(t *testing.T) {
	html := []byte(`<html><head></head><body>partial</body></html>`)
	up := newUpstream(t, console.DefaultConsoleHost, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.Write(html)
	}))
	e := startProxy(t, up)
	c := e.client(e.ca.Pool())
	for _, dest := range []string{"empty", "iframe"} {
		_, body := get(t, c, consoleURL+"/cgi-bin/frag", "Sec-Fetch-Dest", dest)
		if !bytes.Equal(body, html) {
			t.Errorf("Sec-Fetch-Dest %s: body changed: %s", dest, body)
		}
	}
}

func TestReservedPrefixAnsweredLocally(t *testing.T) {
	var upstreamHits sync.Map
	up := newUpstream(t, console.DefaultConsoleHost, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		upstreamHits.Store(r.URL.Path, true)
	}))
	e := startProxy(t, up)
	_, body := get(t, e.client(e.ca.Pool()), consoleURL+console.ReservedPrefix+"sidebar.js")
	if string(body) != "local "+console.ReservedPrefix+"sidebar.js" {
		t.Fatalf("body = %q", body)
	}
	if _, hit := upstreamHits.Load(console.ReservedPrefix + "sidebar.js"); hit {
		t.Fatal("reserved path was forwarded upstream")
	}
}

func TestOtherHostsTunnelledBlind(t *testing.T) {
	other := newUpstream(t, "other.example", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "other")
	}))
	up := newUpstream(t, console.DefaultConsoleHost, http.NotFoundHandler())
	e := startProxy(t, up, func(c *Config) {
		c.DialOverrides["other.example:443"] = other.Listener.Addr().String()
	})
	// The client trusts only the other host's own CA: the TLS session can
	// only succeed if the proxy did not decrypt it.
	_, body := get(t, e.client(other.ca.Pool()), "https://other.example/")
	if string(body) != "other" {
		t.Fatalf("body = %q", body)
	}
	if n := e.leaves.Minted(); n != 0 {
		t.Fatalf("minted %d certificates for a host that must be tunnelled", n)
	}
}

func TestPlainHTTPForwardedUntouched(t *testing.T) {
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		io.WriteString(w, "<html><head></head></html>")
	}))
	t.Cleanup(plain.Close)
	up := newUpstream(t, console.DefaultConsoleHost, http.NotFoundHandler())
	e := startProxy(t, up, func(c *Config) {
		c.DialOverrides["plain.example:80"] = plain.Listener.Addr().String()
	})
	_, body := get(t, e.client(nil), "http://plain.example/")
	if string(body) != "<html><head></head></html>" {
		t.Fatalf("body = %q", body)
	}
}

func TestUpstreamFailureIs502(t *testing.T) {
	up := newUpstream(t, console.DefaultConsoleHost, http.NotFoundHandler())
	dead, _ := net.Listen("tcp", "127.0.0.1:0")
	deadAddr := dead.Addr().String()
	dead.Close()
	e := startProxy(t, up, func(c *Config) {
		c.DialOverrides[console.DefaultConsoleHost+":443"] = deadAddr
	})
	resp, body := get(t, e.client(e.ca.Pool()), consoleURL+"/cgi-bin/kfindex")
	if resp.StatusCode != http.StatusBadGateway {
		t.Fatalf("status = %d, want 502", resp.StatusCode)
	}
	if string(body) != badGatewayText || strings.Contains(string(body), "127.0.0.1") {
		t.Fatalf("body = %q: want the short message, no internals", body)
	}
}

// TestUpstreamFailurePage: with the console's server unreachable (the
// internet down), loading the console page shows a page in Chinese and
// English that says it is the console that cannot be reached, not
// kfsidebar, and retries by itself; the page's own requests still get the
// short text, and neither names our internals.
func TestUpstreamFailurePage(t *testing.T) {
	up := newUpstream(t, console.DefaultConsoleHost, http.NotFoundHandler())
	dead, _ := net.Listen("tcp", "127.0.0.1:0")
	deadAddr := dead.Addr().String()
	dead.Close()
	e := startProxy(t, up, func(c *Config) {
		c.DialOverrides[console.DefaultConsoleHost+":443"] = deadAddr
	})
	c := e.client(e.ca.Pool())
	for _, tt := range []struct {
		name string
		hdr  []string
	}{
		{"a navigation", []string{"Sec-Fetch-Mode", "navigate", "Accept", "text/html"}},
		{"a browser without Sec-Fetch", []string{"Accept", "text/html,application/xhtml+xml,*/*;q=0.8"}},
	} {
		resp, body := get(t, c, consoleURL+"/cgi-bin/kfindex", tt.hdr...)
		page := string(body)
		if resp.StatusCode != http.StatusBadGateway || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
			t.Fatalf("%s: %d %s, want a 502 page", tt.name, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		for _, want := range []string{"无法连接到微信客服服务器", "问题不在 kfsidebar", "连接被拒绝", "Cannot reach the WeChat customer-service console", "the problem is not kfsidebar", console.DefaultConsoleHost, `http-equiv="refresh"`} {
			if !strings.Contains(page, want) {
				t.Errorf("%s: the page lacks %q", tt.name, want)
			}
		}
		if strings.Contains(page, "127.0.0.1") {
			t.Errorf("%s: the page names an internal address", tt.name)
		}
	}
	resp, body := get(t, c, consoleURL+"/cgi-bin/kfmsg?action=poll", "Sec-Fetch-Mode", "cors", "Accept", "*/*")
	if resp.StatusCode != http.StatusBadGateway || string(body) != badGatewayText {
		t.Fatalf("a script's request: %d %q, want 502 %q", resp.StatusCode, body, badGatewayText)
	}
}

func TestStreamingAndLongPoll(t *testing.T) {
	release := make(chan struct{})
	up := newUpstream(t, console.DefaultConsoleHost, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"part":1`)
		w.(http.Flusher).Flush()
		<-release // a long poll: the answer comes when the console has news
		io.WriteString(w, `,"part2":2}`)
	}))
	e := startProxy(t, up)
	resp, err := e.client(e.ca.Pool()).Get(consoleURL + "/cgi-bin/kfmsg?action=getnewmsg")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	first := make([]byte, len(`{"part":1`))
	if _, err := io.ReadFull(br, first); err != nil {
		t.Fatalf("first chunk did not arrive before the upstream finished: %v", err)
	}
	close(release)
	rest, err := io.ReadAll(br)
	if err != nil || string(first)+string(rest) != `{"part":1,"part2":2}` {
		t.Fatalf("got %q%q, %v", first, rest, err)
	}
}

func TestPanicInOurCodePassesOriginalThrough(t *testing.T) {
	acceptJSON := `{"kfcreatesession_resp":[{"kfsession":{"fans_openid":"oX","headimgurl":"h"}}]}`
	up := newUpstream(t, console.DefaultConsoleHost, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, acceptJSON)
	}))
	e := startProxy(t, up, func(c *Config) {
		c.Sink = sinkFunc(func([]console.Record) { panic("sink exploded") })
	})
	_, body := get(t, e.client(e.ca.Pool()), consoleURL+"/cgi-bin/kfsessionmgr?action=kfcreatesession")
	if string(body) != acceptJSON {
		t.Fatalf("body = %q", body)
	}
}

func TestNewRejectsIncompleteConfig(t *testing.T) {
	ca, _ := certs.New(certs.Options{Hosts: []string{console.DefaultConsoleHost}})
	full := Config{Leaves: certs.NewLeaves(ca, certs.LeafOptions{}), Local: http.NotFoundHandler(), Sink: newRecorder(), ScriptSrc: "/x"}
	for _, tt := range []struct {
		name  string
		unset func(*Config)
	}{
		{"Leaves", func(c *Config) { c.Leaves = nil }},
		{"Local", func(c *Config) { c.Local = nil }},
		{"Sink", func(c *Config) { c.Sink = nil }},
		{"ScriptSrc", func(c *Config) { c.ScriptSrc = "" }},
	} {
		c := full
		tt.unset(&c)
		_, err := New(c)
		if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), tt.name) {
			t.Errorf("missing %s: err = %v", tt.name, err)
		}
	}
}

func TestDecodableEncodings(t *testing.T) {
	tests := []struct {
		in   []string
		want string
	}{
		{[]string{"gzip, deflate, br, zstd"}, "gzip, deflate, br"},
		{[]string{"zstd"}, "identity"},
		{[]string{"br;q=1.0, gzip;q=0.8, *;q=0.1"}, "br;q=1.0, gzip;q=0.8, identity;q=0.1"},
		{[]string{"gzip", "compress"}, "gzip"},
		{[]string{"identity"}, "identity"},
	}
	for _, tt := range tests {
		if got := decodableEncodings(tt.in); got != tt.want {
			t.Errorf("decodableEncodings(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestOnlyDecodableEncodingsAskedUpstream(t *testing.T) {
	got := make(chan string, 1)
	up := newUpstream(t, console.DefaultConsoleHost, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- r.Header.Get("Accept-Encoding")
	}))
	e := startProxy(t, up)
	get(t, e.client(e.ca.Pool()), consoleURL+"/cgi-bin/kfindex", "Accept-Encoding", "gzip, deflate, br, zstd")
	if ae := <-got; ae != "gzip, deflate, br" {
		t.Fatalf("upstream was asked for %q, want gzip, deflate, br", ae)
	}
}
