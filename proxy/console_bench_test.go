package proxy

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/kfsidebar/kfsidebar/proxy/console"
)

// BenchmarkConsole is the console path in one process: one keep-alive
// client connection through the proxy to a TLS upstream speaking HTTP/1.1
// or HTTP/2, for a scanned 10 KB accept response (plain and gzip) and a
// 100 KB script passed through. The client and the upstream count too, so
// the figures are for comparing kfsidebar with itself (profiles,
// allocations per request); bench/cmd/proxybench compares it with bare
// goproxy, each in its own process.
func BenchmarkConsole(b *testing.B) {
	accept := []byte(acceptMany("oBench", 60))
	script := bytes.Repeat([]byte("e.exports.card=function(p){return p.nick};\n"), 100<<10/44)
	workloads := []struct {
		name, path, ctype string
		body              []byte
		gzip              bool
	}{
		{"scanned10KB", "/cgi-bin/kfsessionmgr?action=kfcreatesession&f=json", "application/json", accept, false},
		{"scanned10KB-gzip", "/cgi-bin/kfsessionmgr?action=kfcreatesession&f=json", "application/json", gz(b, accept), true},
		{"passthrough100KB", "/mpres/app.js", "application/javascript", script, false},
	}
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for _, wl := range workloads {
			if r.URL.Path == strings.SplitN(wl.path, "?", 2)[0] && (r.URL.Query().Get("gz") == "1") == wl.gzip {
				w.Header().Set("Content-Type", wl.ctype)
				if wl.gzip {
					w.Header().Set("Content-Encoding", "gzip")
				}
				w.Header().Set("Content-Length", strconv.Itoa(len(wl.body)))
				w.Write(wl.body)
				return
			}
		}
		http.NotFound(w, r)
	})
	for _, proto := range []string{"h1", "h2"} {
		for _, wl := range workloads {
			b.Run(proto+"/"+wl.name, func(b *testing.B) {
				var up *upstream
				var opts []envOption
				if proto == "h2" {
					up = newH2Upstream(b, handler)
					opts = append(opts, func(c *Config) { c.UpstreamHTTP2 = true })
				} else {
					up = newUpstream(b, console.DefaultConsoleHost, handler)
				}
				opts = append(opts, withSink(sinkFunc(func([]console.Record) {})), withLogger(slog.New(slog.DiscardHandler)))
				e := startProxy(b, up, opts...)
				c := e.client(e.ca.Pool())
				u := consoleURL + wl.path
				if wl.gzip {
					u += "&gz=1"
				}
				req, err := http.NewRequest(http.MethodGet, u, nil)
				if err != nil {
					b.Fatal(err)
				}
				req.Header.Set("Accept-Encoding", "gzip, deflate, br, zstd")
				b.SetBytes(int64(len(wl.body)))
				b.ReportAllocs()
				for b.Loop() {
					resp, err := c.Do(req)
					if err != nil {
						b.Fatal(err)
					}
					n, err := io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if err != nil || n != int64(len(wl.body)) || resp.StatusCode != http.StatusOK {
						b.Fatalf("%s: %d bytes, %v", resp.Status, n, err)
					}
				}
			})
		}
	}
}
