package proxy

import (
	"bytes"
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/kfsidebar/kfsidebar/proxy/console"
	"github.com/kfsidebar/kfsidebar/proxy/mpkftest"
)

// fastReplySink collects what the proxy hands to Config.FastReplies.
type fastReplySink chan []string

func (s fastReplySink) wait(t *testing.T) []string {
	t.Helper()
	select {
	case got := <-s:
		return got
	case <-time.After(10 * time.Second):
		t.Fatal("Config.FastReplies was not called")
		return nil
	}
}

// TestFastRepliesThroughProxy fetches the simulated console's settings
// through the proxy: the browser gets the upstream's bytes exactly, and
// Config.FastReplies gets the console's six replies, whatever the
// compression and even when only the accept endpoints are scanned.
func TestFastRepliesThroughProxy(t *testing.T) {
	want := []string{
		"您好，请问有什么可以帮您？", "好的，我这边帮您查一下，请稍等～", "感谢您的耐心等待，还有其他问题随时联系我们哦",
		"亲，下单后48小时内发货，顺丰/中通随机发出", "收到商品有任何问题，7天内可申请无理由退换", "工作时间：周一至周日 9:00-22:00",
	}
	tests := []struct {
		encoding        string
		scanTargetsOnly bool
	}{
		{"gzip", false},
		{"br", true},
		{"deflate", false},
		{"none", true},
	}
	for _, tt := range tests {
		t.Run(tt.encoding, func(t *testing.T) {
			sim, err := mpkftest.NewServer(mpkftest.Options{Encoding: tt.encoding, JSONContentType: "text/html; charset=UTF-8"})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(sim.Close)
			up := newUpstream(t, console.DefaultConsoleHost, sim.Handler())
			got := make(fastReplySink, 10)
			e := startProxy(t, up, func(c *Config) {
				c.ScanTargetsOnly = tt.scanTargetsOnly
				c.FastReplies = func(r []string) { got <- r }
			})
			path := "/cgi-bin/kfsettings?action=getsettings&token=1234567890&lang=zh_CN&f=json&ajax=1&r=0.5"
			hdr := []string{"Sec-Fetch-Dest", "empty", "Accept-Encoding", "gzip, deflate, br"}
			resp, body := get(t, e.client(e.ca.Pool()), consoleURL+path, hdr...)
			direct := &http.Client{Transport: &http.Transport{
				DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
					return (&net.Dialer{}).DialContext(ctx, network, up.Listener.Addr().String())
				},
				TLSClientConfig:    &tls.Config{RootCAs: up.ca.Pool()},
				DisableCompression: true,
			}}
			wantResp, wantBody := get(t, direct, consoleURL+path, hdr...)
			if !bytes.Equal(body, wantBody) || len(body) == 0 {
				t.Errorf("body through the proxy differs from the console's: %d bytes, want %d", len(body), len(wantBody))
			}
			for _, k := range []string{"Content-Encoding", "Content-Type", "Content-Length"} {
				if resp.Header.Get(k) != wantResp.Header.Get(k) {
					t.Errorf("%s = %q, want %q", k, resp.Header.Get(k), wantResp.Header.Get(k))
				}
			}
			if r := got.wait(t); !slices.Equal(r, want) {
				t.Errorf("FastReplies got %q, want %q", r, want)
			}
		})
	}
}

// A settings answer that failed (an expired session) holds no replies, so
// FastReplies is not called and the known replies stay.
func TestFastRepliesNotCalledForFailedSettings(t *testing.T) {
	sim, err := mpkftest.NewServer(mpkftest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sim.Close)
	up := newUpstream(t, console.DefaultConsoleHost, sim.Handler())
	got := make(fastReplySink, 10)
	e := startProxy(t, up, func(c *Config) { c.FastReplies = func(r []string) { got <- r } })
	c := e.client(e.ca.Pool())
	resp, body := get(t, c, consoleURL+"/cgi-bin/kfsettings?action=getsettings&token=0000000000&f=json", "Sec-Fetch-Dest", "empty")
	if resp.StatusCode != http.StatusOK || !bytes.Contains(body, []byte(`"ret"`)) {
		t.Fatalf("expired session answer: %d %s", resp.StatusCode, body)
	}
	// The next good answer is the first call: the failed one made none.
	get(t, c, consoleURL+"/cgi-bin/kfsettings?action=getsettings&token=1234567890&f=json", "Sec-Fetch-Dest", "empty")
	if r := got.wait(t); len(r) != 6 {
		t.Errorf("first FastReplies call got %q, want the six replies of the good answer", r)
	}
}
