package proxy

import (
	"bytes"
	"net/http"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/kfsidebar/kfsidebar/proxy/console"
)

// TestUpstreamProtocols: against a console that offers HTTP/2, the proxy
// speaks HTTP/1.1 by default and HTTP/2 with Config.UpstreamHTTP2; either
// way a response passes through byte for byte, an accept response is
// scanned and the page gets its script.
func TestUpstreamProtocols(t *testing.T) {
	binary := bytes.Repeat([]byte{0, 1, 2, 0xff, 0xfe}, 30000) // 150 KB: several frames and copies
	accept := []byte(acceptMany("oProto", 200))
	acceptGz := gz(t, accept)
	const page = `<!doctype html><html><head><title>客服</title></head><body></body></html>`
	for _, http2 := range []bool{false, true} {
		t.Run("UpstreamHTTP2="+strconv.FormatBool(http2), func(t *testing.T) {
			var h1, h2 atomic.Int32
			up := newH2Upstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.ProtoMajor == 2 {
					h2.Add(1)
				} else {
					h1.Add(1)
				}
				switch r.URL.Path {
				case "/mpres/a.bin":
					w.Header().Set("Content-Type", "application/octet-stream")
					w.Write(binary)
				case "/cgi-bin/kfsessionmgr":
					w.Header().Set("Content-Type", "application/json")
					w.Header().Set("Content-Encoding", "gzip")
					w.Write(acceptGz)
				case "/cgi-bin/kfindex":
					w.Header().Set("Content-Type", "text/html; charset=utf-8")
					w.Write([]byte(page))
				}
			}))
			e := startProxy(t, up, func(c *Config) { c.UpstreamHTTP2 = http2 })
			c := e.client(e.ca.Pool())
			if _, body := get(t, c, consoleURL+"/mpres/a.bin"); !bytes.Equal(body, binary) {
				t.Errorf("binary body changed: %d bytes, want %d", len(body), len(binary))
			}
			if _, body := get(t, c, consoleURL+"/cgi-bin/kfsessionmgr?action=kfcreatesession", "Accept-Encoding", "gzip"); !bytes.Equal(body, acceptGz) {
				t.Errorf("accept response changed: %d bytes, want %d", len(body), len(acceptGz))
			}
			if recs := e.sink.wait(t); len(recs) != 200 || recs[0].OpenID != "oProto0" || recs[0].Source != console.SourceManual {
				t.Errorf("scanned %d records (first %+v), want 200 manual ones from oProto0", len(recs), recs[0])
			}
			_, body := get(t, c, consoleURL+"/cgi-bin/kfindex", "Sec-Fetch-Dest", "document")
			checkInjected(t, body, []byte(page))
			want, other := &h1, &h2
			if http2 {
				want, other = &h2, &h1
			}
			if want.Load() != 3 || other.Load() != 0 {
				t.Errorf("upstream saw %d HTTP/1 and %d HTTP/2 requests; want all 3 over HTTP/%d", h1.Load(), h2.Load(), map[bool]int{false: 1, true: 2}[http2])
			}
		})
	}
}
