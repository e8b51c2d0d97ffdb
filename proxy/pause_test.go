package proxy

import (
	"bytes"
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/kfsidebar/kfsidebar/proxy/console"
)

// TestPausedPagesPassThrough: while paused, a console page that still
// comes through the proxy (a browser holding the old PAC) reaches the
// browser exactly as the console sent it; resumed, it gets the script.
func TestPausedPagesPassThrough(t *testing.T) {
	page := []byte(`<!doctype html><html><head><title>客服</title></head><body>console</body></html>`)
	up := newUpstream(t, console.DefaultConsoleHost, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write(page)
	}))
	var paused atomic.Bool
	paused.Store(true)
	e := startProxy(t, up, func(c *Config) { c.Paused = paused.Load })
	c := e.client(e.ca.Pool())
	_, body := get(t, c, consoleURL+"/cgi-bin/kfindex?token=1", "Sec-Fetch-Dest", "document")
	if !bytes.Equal(body, page) {
		t.Fatalf("paused: page changed:\n%s", body)
	}
	paused.Store(false)
	_, body = get(t, c, consoleURL+"/cgi-bin/kfindex?token=1", "Sec-Fetch-Dest", "document")
	if !bytes.Contains(body, []byte("sidebar.js")) {
		t.Fatalf("resumed: no script:\n%s", body)
	}
}
