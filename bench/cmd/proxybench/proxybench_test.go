//go:build linux

package main

import (
	"github.com/kfsidebar/kfsidebar/proxy/scan"

	"bytes"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kfsidebar/kfsidebar/proxy/console"
)

// These are smoke tests of the harness's pieces; the benchmark itself
// runs only by hand (see bench/README.md).

func TestLoadGenCounts(t *testing.T) {
	var served atomic.Int64
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		served.Add(1)
		w.Write([]byte("hello"))
	}))
	defer srv.Close()
	roots := srv.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs
	g := newLoadGen(route{Direct: srv.Listener.Addr().String(), Roots: roots}, 3)
	defer g.close()
	res := g.run(t.Context(), "https://example.com/", http.Header{}, 200*time.Millisecond)
	if res.FirstErr != nil {
		t.Fatal(res.FirstErr)
	}
	if res.Requests == 0 || res.Requests != served.Load() {
		t.Errorf("load generator counted %d requests; server served %d", res.Requests, served.Load())
	}
	if got := int64(len(res.latencies)); got != res.Requests {
		t.Errorf("%d latencies for %d requests", got, res.Requests)
	}
	if got, want := res.Bytes, 5*res.Requests; got != want {
		t.Errorf("bytes = %d; want %d", got, want)
	}
	if got := g.handshakes.Load(); got != 3 {
		t.Errorf("handshakes = %d; want 3 (one per keep-alive connection)", got)
	}
	if res.Quantile(0.5) <= 0 || res.Quantile(0.99) < res.Quantile(0.5) {
		t.Errorf("p50 %v, p99 %v", res.Quantile(0.5), res.Quantile(0.99))
	}
}

func TestQuantile(t *testing.T) {
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	var r loadResult
	for i := 1; i <= 100; i++ {
		r.latencies = append(r.latencies, ms(i))
	}
	for _, tc := range []struct {
		q    float64
		want time.Duration
	}{{0.5, ms(50)}, {0.99, ms(99)}, {1, ms(100)}, {0, ms(1)}} {
		if got := r.Quantile(tc.q); got != tc.want {
			t.Errorf("Quantile(%v) = %v; want %v", tc.q, got, tc.want)
		}
	}
}

func TestTreeUsage(t *testing.T) {
	u, err := treeUsage(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if u.Procs < 1 || u.PeakRSS <= 0 || u.CPU < 0 {
		t.Errorf("treeUsage(self) = %+v", u)
	}
}

// TestContent checks that the upstream's bodies are what kfsidebar's
// scanner and injector expect, so that the benchmark measures real work.
func TestContent(t *testing.T) {
	page := consolePage(100 << 10)
	if n := len(page); n < 95<<10 || n > 105<<10 {
		t.Errorf("page is %d bytes; want about 100 KB", n)
	}
	if got := bytes.Count(page, []byte("</head>")); got != 1 {
		t.Errorf("page has %d </head>; want 1", got)
	}
	if got := len(scan.Page(page, time.Now())); got != 40 {
		t.Errorf("ScanPage found %d chats; want 40", got)
	}
	for _, size := range []int{10 << 10, 1 << 20} {
		body := acceptResponse(size)
		if len(body) < size || len(body) > size+1024 {
			t.Errorf("acceptResponse(%d) is %d bytes", size, len(body))
		}
		recs, err := scan.JSON(body, console.SourceAuto, time.Now())
		if err != nil || len(recs) < size/1024 {
			t.Errorf("acceptResponse(%d): %d records, %v", size, len(recs), err)
		}
	}
}

func TestPageChange(t *testing.T) {
	orig := []byte("<html><head></head><body></body></html>")
	for _, tc := range []struct {
		got, want string
	}{
		{string(orig), "unchanged"},
		{`<html><head><script src="/__kfsidebar/sidebar.js?t=x" nonce="n" defer></script></head><body></body></html>`, "script added, nothing else"},
		{`<html><head><script src="/__kfsidebar/sidebar.js"></script></head><body class="x"></body></html>`, "script added, and other changes"},
		{"<html></html>", "changed, no script"},
	} {
		if got := pageChange([]byte(tc.got), orig); got != tc.want {
			t.Errorf("pageChange(%q) = %q; want %q", tc.got, got, tc.want)
		}
	}
}

func TestWorkloadBody(t *testing.T) {
	for _, tc := range []struct {
		path, want string
	}{{pagePath, "page"}, {accept10KB, "10kb"}, {accept1MB, "1mb"}, {longPollPath, "tabs"}, {assetPath, "asset"}, {"/favicon.ico", "other"}} {
		path, query, _ := strings.Cut(tc.path, "?")
		q, err := url.ParseQuery(query)
		if err != nil {
			t.Fatal(err)
		}
		if got := workloadBody(path, q.Get("action"), q.Get("size")); got != tc.want {
			t.Errorf("workloadBody(%s) = %q; want %q", tc.path, got, tc.want)
		}
	}
}

func TestMemBetween(t *testing.T) {
	before := map[string]any{"alloc_bytes": 1000.0, "mallocs": 10.0, "gcs": 1.0}
	after := map[string]any{"alloc_bytes": 5000.0, "mallocs": 50.0, "gcs": 3.0}
	d := memBetween(before, after)
	if want := (memDelta{OK: true, Bytes: 4000, Objects: 40, GC: 2}); d != want {
		t.Errorf("memBetween = %+v; want %+v", d, want)
	}
	if got := d.perRequest(d.Bytes, 4); got != 1000 {
		t.Errorf("bytes per request = %v; want 1000", got)
	}
	if d := memBetween(before, map[string]any{"minted": 1.0}); d.OK {
		t.Errorf("a proxy without runtime counters gave %+v", d)
	}
}

func TestWorkloadsFlag(t *testing.T) {
	c, err := parseFlags([]string{"-workloads", "10kb-plain,asset-plain"})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Workloads) != 2 || c.Workloads[0].Name != "10kb-plain" || !c.Workloads[0].Plain || c.Workloads[1].Body != "asset" {
		t.Errorf("workloads = %+v", c.Workloads)
	}
	if _, err := parseFlags([]string{"-workloads", "10kb,nope"}); err == nil {
		t.Error("an unknown workload was accepted")
	}
	for _, w := range workloads {
		if got := workloadBody(strings.SplitN(w.Path, "?", 2)[0], actionOf(w.Path), sizeOf(w.Path)); got != w.Body {
			t.Errorf("%s: the upstream serves %q, want %q", w.Name, got, w.Body)
		}
	}
}

func actionOf(path string) string { u, _ := url.Parse(path); return u.Query().Get("action") }
func sizeOf(path string) string   { u, _ := url.Parse(path); return u.Query().Get("size") }
