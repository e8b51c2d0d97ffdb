package proxy

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"database/sql"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kfsidebar/kfsidebar/certs"
	"github.com/kfsidebar/kfsidebar/internal/kftest"
	"github.com/kfsidebar/kfsidebar/proxy/chats"
	"github.com/kfsidebar/kfsidebar/proxy/console"
)

// TestLoadManyTabs runs 200 console tabs through one proxy, each on its
// own TLS connection and long-polling, while the console keeps answering
// accept requests that are scanned into a real session map. Nothing may
// fail, every accepted user must be known, and once the tabs are gone the
// proxy's goroutines and heap must be back where they were. The console
// offers HTTP/2; the proxy speaks it when Config.UpstreamHTTP2 lets it (all
// tabs on one upstream connection), HTTP/1.1 otherwise (a connection per
// poll), and both must hold.
func TestLoadManyTabs(t *testing.T) {
	if testing.Short() {
		t.Skip("200 TLS tabs")
	}
	t.Run("http2", func(t *testing.T) { testLoadManyTabs(t, true) })
	t.Run("http1", func(t *testing.T) { testLoadManyTabs(t, false) })
}

func testLoadManyTabs(t *testing.T, http2 bool) {
	const (
		tabs    = 200
		rounds  = 5  // long-poll answers per tab
		workers = 8  // agents accepting chats meanwhile
		accepts = 25 // accept responses per worker
		perResp = 20 // users per accept response
	)

	// The console: long polls answer when it has news (a round ends);
	// accept responses name perResp new users each.
	var (
		roundMu sync.Mutex
		round   = make(chan struct{})
	)
	news := func() <-chan struct{} {
		roundMu.Lock()
		defer roundMu.Unlock()
		return round
	}
	var waiting, otherProto atomic.Int32
	up := newH2Upstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if (r.ProtoMajor == 2) != http2 {
			otherProto.Add(1)
		}
		switch r.URL.Path {
		case "/cgi-bin/kfmsg":
			w.Header().Set("Content-Type", "application/json")
			ch := news()
			waiting.Add(1)
			defer waiting.Add(-1)
			select {
			case <-ch:
				fmt.Fprintf(w, `{"base_resp":{"ret":0},"msglist":[{"msg":{"msgid":%d}}]}`, time.Now().UnixNano())
			case <-r.Context().Done():
			}
		case "/cgi-bin/kfsessionmgr":
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, acceptMany(r.URL.Query().Get("p"), perResp))
		default:
			io.WriteString(w, "ok")
		}
	}))
	path := filepath.Join(t.TempDir(), "kfsidebar.db")
	// A clock the test can move past the TTL at the end, so the map's own
	// memory is released and the heap can be compared with the baseline.
	var later atomic.Int64
	clock := func() time.Time { return time.Now().Add(time.Duration(later.Load())) }
	sessions := openSessions(t, openStoreDB(t, path), chats.Options{Now: clock})
	rows := openStoreDB(t, path)
	e := startProxy(t, up, withSink(sessions), func(c *Config) { c.UpstreamHTTP2 = http2 })
	checkHealthy(t, e)
	e.proxy.upstream.CloseIdleConnections()

	base := settle(nil)
	t.Logf("baseline: %v", base)

	var (
		transports []*http.Transport
		errs       = make(chan error, tabs+workers)
		wg         sync.WaitGroup
		polls      atomic.Int64
	)
	for range tabs {
		// A browser tab: its own transport, so its own TLS connection.
		tr := &http.Transport{
			Proxy:           http.ProxyURL(e.proxyURL),
			TLSClientConfig: &tls.Config{RootCAs: e.ca.Pool()},
			MaxConnsPerHost: 1,
		}
		transports = append(transports, tr)
		c := &http.Client{Transport: tr}
		wg.Go(func() {
			for range rounds {
				resp, err := c.Get(consoleURL + "/cgi-bin/kfmsg?action=getnewmsg&f=json")
				if err != nil {
					errs <- err
					return
				}
				b, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if err != nil || resp.StatusCode != http.StatusOK || len(b) == 0 {
					errs <- fmt.Errorf("long poll: %d %q %v", resp.StatusCode, b, err)
					return
				}
				polls.Add(1)
			}
		})
	}
	for w := range workers {
		c := e.client(e.ca.Pool())
		transports = append(transports, c.Transport.(*http.Transport))
		wg.Go(func() {
			for i := range accepts {
				p := fmt.Sprintf("oLoad%d-%d-", w, i)
				resp, err := c.Get(consoleURL + "/cgi-bin/kfsessionmgr?action=kfcreatesession&p=" + p)
				if err != nil {
					errs <- err
					return
				}
				b, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if err != nil || string(b) != acceptMany(p, perResp) {
					errs <- fmt.Errorf("accept response changed: %d bytes, %v", len(b), err)
					return
				}
			}
		})
	}

	// The console has news every few milliseconds while tabs wait.
	var peakG int
	var peakHeap uint64
	var m runtime.MemStats
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	start := time.Now()
loop:
	for {
		select {
		case <-done:
			break loop
		case <-tick.C:
		}
		if time.Since(start) > 2*time.Minute {
			t.Fatalf("load did not finish: %d polls answered", polls.Load())
		}
		peakG = max(peakG, runtime.NumGoroutine())
		runtime.ReadMemStats(&m)
		peakHeap = max(peakHeap, m.HeapInuse)
		if waiting.Load() > 0 {
			roundMu.Lock()
			close(round)
			round = make(chan struct{})
			roundMu.Unlock()
		}
	}
	elapsed := time.Since(start)
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := otherProto.Load(); n != 0 && http2 {
		t.Errorf("%d upstream requests over HTTP/1: the proxy did not use the console's HTTP/2", n)
	} else if n != 0 {
		t.Errorf("%d upstream requests over HTTP/2: the proxy offered it without UpstreamHTTP2", n)
	}
	if got, want := polls.Load(), int64(tabs*rounds); got != want {
		t.Errorf("%d long polls answered, want %d", got, want)
	}
	for w := range workers {
		for i := range accepts {
			for k := range perResp {
				id := fmt.Sprintf("oLoad%d-%d-%d", w, i, k)
				kftest.Poll(t, id+" is known", func() bool { _, ok := sessions.Get(id); return ok })
			}
		}
	}
	t.Logf("%d tabs × %d long polls and %d accept responses (%d users) in %v: peak %d goroutines, peak HeapInuse %.1f MB",
		tabs, rounds, workers*accepts, workers*accepts*perResp, elapsed.Round(time.Millisecond), peakG, mb(peakHeap))

	kftest.Poll(t, "every user stored", func() bool { return countRows(t, rows) == workers*accepts*perResp })

	// The tabs close; the proxy drops its idle upstream connections; the
	// users expire and are pruned.
	later.Store(int64(chats.DefaultTTL + time.Hour))
	if err := sessions.Prune(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, tr := range transports {
		tr.CloseIdleConnections()
	}
	transports = nil // the tabs are gone, their transports with them
	e.proxy.upstream.CloseIdleConnections()
	// Slack: a few goroutines that come and go in any process; for
	// HeapInuse, the partly used spans the runtime keeps after a 45 MB
	// peak (a third of it); for the live heap, the session map's buckets,
	// which never shrink, and runtime bookkeeping for the 1 700 goroutines
	// the peak had. A leak of each tab's goroutines or connection state
	// (buffers, TLS records: 200 × 40 KB) is larger.
	ok := func(h heapState) bool { return h.within(base, 5, 16<<20, 6<<20) }
	end := settle(ok)
	t.Logf("after: %v", end)
	if !ok(end) {
		buf := make([]byte, 1<<20)
		t.Errorf("not back to the baseline (%v): leaked\n%s", base, buf[:runtime.Stack(buf, true)])
	}
}

// newH2Upstream is a console host that speaks HTTP/2, as the real one may:
// the proxy then carries every tab's long poll on one upstream connection
// instead of opening (and handshaking) one per tab at once.
func newH2Upstream(t testing.TB, h http.Handler) *upstream {
	t.Helper()
	ca, err := certs.New(certs.Options{Hosts: []string{console.DefaultConsoleHost}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(h)
	srv.TLS = certs.NewLeaves(ca, certs.LeafOptions{}).ServerTLSConfig()
	srv.TLS.NextProtos = nil // StartTLS offers h2
	srv.EnableHTTP2 = true
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return &upstream{Server: srv, ca: ca}
}

// heapState is what the leak check compares.
type heapState struct {
	goroutines int
	inuse      uint64 // HeapInuse: spans holding objects
	live       uint64 // HeapAlloc right after a collection: live objects
}

func (h heapState) String() string {
	return fmt.Sprintf("%d goroutines, HeapInuse %.1f MB, live heap %.1f MB", h.goroutines, mb(h.inuse), mb(h.live))
}

// within reports whether h is no more than the slack above base.
func (h heapState) within(base heapState, goroutines int, inuse, live uint64) bool {
	return h.goroutines <= base.goroutines+goroutines && h.inuse <= base.inuse+inuse && h.live <= base.live+live
}

// settle collects garbage until ok holds for the heap state (nil: just
// once) or a deadline passes, and returns the state.
func settle(ok func(heapState) bool) heapState {
	deadline := time.Now().Add(10 * time.Second)
	for {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		h := heapState{runtime.NumGoroutine(), m.HeapInuse, m.HeapAlloc}
		if ok == nil || ok(h) || time.Now().After(deadline) {
			return h
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func mb(n uint64) float64 { return float64(n) / (1 << 20) }

// acceptMany is an accept response naming n users prefix0…prefix(n-1).
func acceptMany(prefix string, n int) string {
	b := []byte(`{"base_resp":{"ret":0},"kfcreatesession_resp":[`)
	for i := range n {
		if i > 0 {
			b = append(b, ',')
		}
		b = fmt.Appendf(b, `{"base_resp":{"ret":0},"kfsession":{"fans_uin":%d,"nickname":"用户%d","fans_openid":"%s%d","headimgurl":"http://wx.qlogo.cn/mmhead/%s%d"}}`,
			i, i, prefix, i, prefix, i)
	}
	return string(append(b, `]}`...))
}

// countRows counts the session rows in db, a connection of the test's own.
func countRows(t *testing.T, db *sql.DB) int {
	t.Helper()
	var n int
	if err := db.QueryRow("SELECT count(*) FROM kf_sessions").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// patternReader yields n bytes of a fixed pseudo-random pattern, so a
// large body needs no memory on either side and can be compared by hash.
type patternReader struct {
	n, off int64
	block  []byte
}

func newPattern(n int64) *patternReader {
	block := make([]byte, 64<<10)
	x := uint32(2463534242)
	for i := range block {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		block[i] = byte(x)
	}
	return &patternReader{n: n, block: block}
}

func (p *patternReader) Read(b []byte) (int, error) {
	if p.off >= p.n {
		return 0, io.EOF
	}
	i := p.off % int64(len(p.block))
	n := copy(b, p.block[i:min(int64(len(p.block)), i+p.n-p.off)])
	p.off += int64(n)
	return n, nil
}

func patternSum(n int64) [sha256.Size]byte {
	h := sha256.New()
	io.Copy(h, newPattern(n))
	return [sha256.Size]byte(h.Sum(nil))
}

// memUse runs f and reports how far HeapInuse rose above where it was
// (sampled while f runs) and how many bytes were allocated meanwhile. The
// collector runs often meanwhile, so HeapInuse follows what is live rather
// than how much garbage the pacer lets pile up.
func memUse(f func()) (peakRise, allocated uint64) {
	defer debug.SetGCPercent(debug.SetGCPercent(10))
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	stop := make(chan struct{})
	var peak uint64
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		var m runtime.MemStats
		for {
			runtime.ReadMemStats(&m)
			peak = max(peak, m.HeapInuse)
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	})
	f()
	close(stop)
	wg.Wait()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	peak = max(peak, after.HeapInuse)
	return peak - min(peak, before.HeapInuse), after.TotalAlloc - before.TotalAlloc
}

// TestLargeBodiesStreamInFlatMemory sends bodies far larger than the scan
// cap. They must reach the browser whole while the proxy holds at most
// the cap: memory stays flat however large the response.
func TestLargeBodiesStreamInFlatMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("moves 250 MB through two TLS hops")
	}
	const limit = 8 << 20 // the default MaxBodyBytes
	tests := []struct {
		name  string
		path  string
		ctype string
		size  int64
		// The bounds are far below the body size: a proxy that buffered
		// the body, or kept teeing past the cap, would exceed them.
		maxRise, maxAlloc uint64
	}{
		{"200 MB image, not scanned", "/mpres/huge.png", "image/png", 200 << 20, 32 << 20, 48 << 20},
		// Content-Length above the cap: nothing is copied at all.
		{"50 MB on an accept endpoint", "/cgi-bin/kfsessionmgr", "application/json", 50 << 20, 16 << 20, 16 << 20},
		// Unknown length: copied until the cap, then dropped. The copy
		// grows by doubling but never past the cap.
		{"50 MB chunked on an accept endpoint", "/cgi-bin/kfsessionmgr?chunked", "application/json", 50 << 20, 2*limit + 8<<20, 2*limit + 8<<20},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			up := newUpstream(t, console.DefaultConsoleHost, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", tt.ctype)
				if r.URL.RawQuery != "chunked" {
					w.Header().Set("Content-Length", strconv.FormatInt(tt.size, 10))
				}
				io.Copy(w, newPattern(tt.size))
			}))
			logs := newLogCapture(t)
			e := startProxy(t, up, withLogger(logs.logger()))
			c := e.client(e.ca.Pool())
			var got [sha256.Size]byte
			var n int64
			rise, alloc := memUse(func() {
				resp, err := c.Get(consoleURL + tt.path)
				if err != nil {
					t.Error(err)
					return
				}
				defer resp.Body.Close()
				h := sha256.New()
				n, err = io.Copy(h, resp.Body)
				if err != nil {
					t.Error(err)
				}
				got = [sha256.Size]byte(h.Sum(nil))
			})
			t.Logf("%d MB through the proxy: HeapInuse rose %.1f MB at most, %.1f MB allocated",
				tt.size>>20, float64(rise)/(1<<20), float64(alloc)/(1<<20))
			if n != tt.size || got != patternSum(tt.size) {
				t.Fatalf("got %d bytes, want %d identical bytes", n, tt.size)
			}
			if rise > tt.maxRise {
				t.Errorf("HeapInuse rose %d bytes (max %d): the body was buffered", rise, tt.maxRise)
			}
			// The race detector makes sync.Pool drop buffers at random, so
			// the allocation count only means something without it.
			if alloc > tt.maxAlloc && !raceEnabled() {
				t.Errorf("%d bytes allocated (max %d): the body was copied", alloc, tt.maxAlloc)
			}
			if tt.ctype == "application/json" {
				logs.waitFor(t, "too large to scan", "limit="+strconv.Itoa(limit))
			}
		})
	}
}

// TestDecompressionBomb sends a small gzip body that inflates far beyond
// the scan cap: the browser gets it unchanged, the proxy decodes no more
// than the cap and says so in the log.
func TestDecompressionBomb(t *testing.T) {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
	io.Copy(zw, io.LimitReader(zeroReader{}, 64<<20))
	zw.Close()
	bomb := buf.Bytes()
	const limit = 1 << 20
	tests := []struct {
		name, path, ctype, dest string
		log                     []string
	}{
		{"accept response", "/cgi-bin/kfsessionmgr?action=kfcreatesession", "application/json", "empty",
			[]string{"console response not scanned", "path=/cgi-bin/kfsessionmgr", "decoded body too large"}},
		{"console page", "/cgi-bin/kfindex?token=1", "text/html", "document",
			[]string{"console page passed through unchanged", "reason=\"cannot decode\"", "decoded body too large"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			up := newUpstream(t, console.DefaultConsoleHost, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", tt.ctype)
				w.Header().Set("Content-Encoding", "gzip")
				w.Write(bomb)
			}))
			logs := newLogCapture(t)
			sink := newIDSink()
			e := startProxy(t, up, withLogger(logs.logger()), withSink(sink), func(c *Config) { c.MaxBodyBytes = limit })
			var body []byte
			_, alloc := memUse(func() {
				_, body = get(t, e.client(e.ca.Pool()), consoleURL+tt.path, "Accept-Encoding", "gzip", "Sec-Fetch-Dest", tt.dest)
				logs.waitFor(t, tt.log...)
			})
			t.Logf("%d-byte gzip of 64 MB: %.1f MB allocated", len(bomb), float64(alloc)/(1<<20))
			if !bytes.Equal(body, bomb) {
				t.Fatalf("bomb changed on the way: %d bytes, want %d", len(body), len(bomb))
			}
			if alloc > 16*limit && !raceEnabled() {
				t.Errorf("allocated %d bytes with a %d-byte cap: the bomb was inflated", alloc, limit)
			}
			if n := sink.len(); n != 0 {
				t.Errorf("scanned %d users from a bomb", n)
			}
		})
	}
}

type zeroReader struct{}

func (zeroReader) Read(b []byte) (int, error) {
	clear(b)
	return len(b), nil
}

// raceEnabled reports whether the test binary was built with -race.
func raceEnabled() bool {
	bi, ok := debug.ReadBuildInfo()
	return ok && slices.ContainsFunc(bi.Settings, func(s debug.BuildSetting) bool { return s.Key == "-race" && s.Value == "true" })
}
