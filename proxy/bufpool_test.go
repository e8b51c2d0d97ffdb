package proxy

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/kfsidebar/kfsidebar/internal/kftest"
	"github.com/kfsidebar/kfsidebar/proxy/console"
)

func TestBodyBuffers(t *testing.T) {
	for _, tt := range []struct{ n, wantCap int }{
		{0, 4 << 10}, {1, 4 << 10}, {4 << 10, 4 << 10}, {4<<10 + 1, 8 << 10}, {10 << 10, 16 << 10},
		{1 << 20, 1 << 20}, {1<<20 + 1, 1<<20 + 1}, {5 << 20, 5 << 20},
	} {
		p := getBody(tt.n)
		if len(*p) != 0 || cap(*p) != tt.wantCap {
			t.Errorf("getBody(%d): len %d cap %d; want 0, %d", tt.n, len(*p), cap(*p), tt.wantCap)
		}
		putBody(p)
	}
	p := getBody(100)
	*p = append(*p, "hello"...)
	growBody(p, 64<<10)
	if string(*p) != "hello" || cap(*p) < 64<<10 {
		t.Errorf("growBody: %q, cap %d", *p, cap(*p))
	}
	putBody(p)
	putBody(nil)
	odd := make([]byte, 0, 5000) // of no class: left to the GC
	putBody(&odd)
}

// TestDecodePooled: the scan's decoder gives what Decode gives, for every
// coding, whether gzip's trailer tells the truth or not, and keeps to the
// limit.
func TestDecodePooled(t *testing.T) {
	gzipped, _ := Encode("gzip", samplePage)
	lying := bytes.Clone(gzipped)
	binary.LittleEndian.PutUint32(lying[len(lying)-4:], 7) // a wrong ISIZE: the CRC check still fails
	bigLie := bytes.Clone(gzipped)
	binary.LittleEndian.PutUint32(bigLie[len(bigLie)-4:], 1<<31)
	for _, coding := range fuzzCodings {
		enc, err := Encode(coding, samplePage)
		if err != nil {
			t.Fatal(err)
		}
		checkDecodePooled(t, coding, enc, 1<<20)
		checkDecodePooled(t, coding, enc, int64(len(samplePage)))
		checkDecodePooled(t, coding, enc, int64(len(samplePage)-1))
	}
	checkDecodePooled(t, "gzip", lying, 1<<20)
	checkDecodePooled(t, "gzip", bigLie, 1<<20)
	checkDecodePooled(t, "gzip", []byte{}, 1<<20)
	checkDecodePooled(t, "zstd", gzipped, 1<<20)
}

func checkDecodePooled(t *testing.T, coding string, body []byte, limit int64) {
	t.Helper()
	want, wantErr := Decode(coding, body, limit)
	got, buf, err := decodePooled(coding, body, limit)
	defer putBody(buf)
	if !bytes.Equal(got, want) || (err == nil) != (wantErr == nil) || errors.Is(err, ErrTooLarge) != errors.Is(wantErr, ErrTooLarge) {
		t.Errorf("%q, limit %d: decodePooled = %d bytes, %v; Decode = %d bytes, %v", coding, limit, len(got), err, len(want), wantErr)
	}
	if int64(len(got)) > limit {
		t.Errorf("%q: %d bytes over the %d limit", coding, len(got), limit)
	}
}

func FuzzDecodePooled(f *testing.F) {
	gz, _ := Encode("gzip", []byte(`{"fans_openid":"o1"}`))
	f.Add(uint8(1), gz)
	f.Fuzz(func(t *testing.T, which uint8, body []byte) {
		checkDecodePooled(t, fuzzCodings[int(which)%len(fuzzCodings)], body, 1<<16)
	})
}

// TestScanBuffersReused: many scanned responses at once, of every size
// and framing (gzip or not, with a length or chunked), share the pooled
// buffers; each still reaches the browser byte for byte and gives exactly
// its own chats.
func TestScanBuffersReused(t *testing.T) {
	type resp struct {
		body    []byte
		gzipped bool
		chunked bool
		ids     []string
	}
	var resps []resp
	for i, n := range []int{1, 5, 40, 200, 1500} { // about 0.2 KB to 300 KB
		for _, gzipped := range []bool{false, true} {
			for _, chunked := range []bool{false, true} {
				prefix := fmt.Sprintf("oR%d-%v-%v-", i, gzipped, chunked)
				r := resp{body: []byte(acceptMany(prefix, n)), gzipped: gzipped, chunked: chunked}
				for k := range n {
					r.ids = append(r.ids, prefix+strconv.Itoa(k))
				}
				if gzipped {
					r.body = gz(t, r.body)
				}
				resps = append(resps, r)
			}
		}
	}
	up := newUpstream(t, console.DefaultConsoleHost, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		i, _ := strconv.Atoi(r.URL.Query().Get("i"))
		rr := resps[i]
		w.Header().Set("Content-Type", "application/json")
		if rr.gzipped {
			w.Header().Set("Content-Encoding", "gzip")
		}
		if !rr.chunked {
			w.Header().Set("Content-Length", strconv.Itoa(len(rr.body)))
			w.Write(rr.body)
			return
		}
		for b := rr.body; len(b) > 0; {
			n := min(len(b), 3000)
			w.Write(b[:n])
			w.(http.Flusher).Flush()
			b = b[n:]
		}
	}))
	var mu sync.Mutex
	got := map[string][]string{} // by response
	sink := sinkFunc(func(recs []console.Record) {
		mu.Lock()
		defer mu.Unlock()
		for _, r := range recs {
			key, _, _ := strings.Cut(strings.TrimPrefix(r.OpenID, "oR"), "-")
			got[key] = append(got[key], r.OpenID)
		}
	})
	e := startProxy(t, up, withSink(sink))
	var wg sync.WaitGroup
	const rounds = 3
	for range 8 {
		c := e.client(e.ca.Pool())
		wg.Go(func() {
			for range rounds {
				for i, rr := range resps {
					req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet,
						consoleURL+"/cgi-bin/kfsessionmgr?action=kfcreatesession&i="+strconv.Itoa(i), nil)
					req.Header.Set("Accept-Encoding", "gzip")
					res, err := c.Do(req)
					if err != nil {
						t.Error(err)
						return
					}
					b, err := io.ReadAll(res.Body)
					res.Body.Close()
					if err != nil || !bytes.Equal(b, rr.body) {
						t.Errorf("response %d changed: %d bytes, want %d (%v)", i, len(b), len(rr.body), err)
						return
					}
				}
			}
		})
	}
	wg.Wait()
	want := map[string][]string{}
	for range 8 * rounds {
		for _, rr := range resps {
			key, _, _ := strings.Cut(strings.TrimPrefix(rr.ids[0], "oR"), "-")
			want[key] = append(want[key], rr.ids...)
		}
	}
	kftest.Poll(t, "every response scanned", func() bool {
		mu.Lock()
		defer mu.Unlock()
		for k, ids := range want {
			if len(got[k]) < len(ids) {
				return false
			}
		}
		return true
	})
	mu.Lock()
	defer mu.Unlock()
	for k, ids := range want {
		g := slices.Clone(got[k])
		slices.Sort(g)
		slices.Sort(ids)
		if !slices.Equal(g, ids) {
			t.Errorf("responses %s: scanned %d chats, want %d (a buffer shared by two responses?)", k, len(g), len(ids))
		}
	}
}
