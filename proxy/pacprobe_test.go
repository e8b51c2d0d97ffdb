package proxy

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/kfsidebar/kfsidebar/proxy/console"
)

// TestPACProbeAnsweredByTheProxy: the probe name is answered by the proxy
// itself, never forwarded, and readable from the status page's origin.
func TestPACProbeAnsweredByTheProxy(t *testing.T) {
	up := newUpstream(t, console.DefaultConsoleHost, http.NotFoundHandler())
	e := startProxy(t, up)
	resp, body := get(t, e.client(nil), "http://"+console.PACProbeHost+"/")
	if resp.StatusCode != http.StatusOK || string(body) != `{"kfsidebar":true}` || resp.Header.Get("Access-Control-Allow-Origin") != "*" {
		t.Fatalf("probe: %s %q %v", resp.Status, body, resp.Header)
	}
	// Asked directly (no proxy), the admin does not know the name.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+e.proxyURL.Host+"/", nil)
	req.Host = console.PACProbeHost
	r, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if r.StatusCode == http.StatusOK {
		t.Fatalf("a request with Host %s reached something directly: %s", console.PACProbeHost, r.Status)
	}
}
