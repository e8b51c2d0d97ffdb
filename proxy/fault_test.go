package proxy

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kfsidebar/kfsidebar/certs"
	"github.com/kfsidebar/kfsidebar/internal/kftest"
	"github.com/kfsidebar/kfsidebar/internal/sqlitedb"
	"github.com/kfsidebar/kfsidebar/internal/sqlitedb/sqlitedbtest"
	"github.com/kfsidebar/kfsidebar/proxy/chats"
	"github.com/kfsidebar/kfsidebar/proxy/console"
)

// The fault tests break what the proxy depends on (the console's server,
// the network, the SQLite file) and check that the browser is told the
// truth, that the proxy stays healthy, and that the console is not slowed.

// handleReset makes the raw upstream cut the TCP connection with a reset
// (no TLS close_notify, no FIN) once reply has been written.
func (u *rawUpstream) handleReset(uri string, reply string) {
	u.handle(uri, func(*http.Request) string { return reply + resetMarker })
}

// resetMarker at the end of a raw reply asks serve to reset the
// connection instead of closing it.
const resetMarker = "\x00kfsidebar-test-reset"

func TestUpstreamRefusingOrFailing(t *testing.T) {
	consoleHandler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	up := newUpstream(t, console.DefaultConsoleHost, consoleHandler)
	// A server with a valid certificate for the host, signed by a CA the
	// proxy does not trust: never a success.
	stranger, err := certs.New(certs.Options{Hosts: []string{console.DefaultConsoleHost}})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		bad  func(ln net.Listener) // serves the failure on ln; nil: nothing listens
	}{
		{"connection refused", nil},
		{"reset on accept", func(ln net.Listener) {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				c.(*net.TCPConn).SetLinger(0)
				c.Close()
			}
		}},
		{"closed after the request", func(ln net.Listener) {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				tc := tls.Server(c, up.TLS)
				http.ReadRequest(bufio.NewReader(tc))
				tc.Close()
			}
		}},
		{"untrusted certificate", func(ln net.Listener) {
			http.Serve(tls.NewListener(ln, certs.NewLeaves(stranger, certs.LeafOptions{}).ServerTLSConfig()), consoleHandler)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// The failure and, later, the recovered console share one
			// address, as a real console coming back would.
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			addr := ln.Addr().String()
			var wg sync.WaitGroup
			if tt.bad == nil {
				ln.Close()
			} else {
				wg.Go(func() { tt.bad(ln) })
			}
			logs := newLogCapture(t)
			e := startProxy(t, up, withLogger(logs.logger()), func(c *Config) {
				c.DialOverrides[console.DefaultConsoleHost+":443"] = addr
			})
			c := e.client(e.ca.Pool())
			for _, path := range []string{"/cgi-bin/kfindex", "/cgi-bin/kfsessionmgr?action=kfcreatesession"} {
				resp, body := get(t, c, consoleURL+path, "Sec-Fetch-Dest", "document")
				if resp.StatusCode != http.StatusBadGateway || string(body) != badGatewayText {
					t.Fatalf("%s: %d %q, want 502 %q", path, resp.StatusCode, body, badGatewayText)
				}
			}
			logs.waitFor(t, "console upstream failed")
			ln.Close()
			wg.Wait()

			// The console comes back: the same proxy and the same browser
			// connection work again.
			back, err := net.Listen("tcp", addr)
			if err != nil {
				t.Skipf("cannot listen on %s again: %v", addr, err)
			}
			srv := httptest.NewUnstartedServer(consoleHandler)
			srv.Listener.Close()
			srv.Listener = back
			srv.TLS = up.TLS
			srv.StartTLS()
			t.Cleanup(srv.Close)
			if resp, body := get(t, c, consoleURL+"/x"); resp.StatusCode != http.StatusOK || string(body) != "ok" {
				t.Fatalf("after the console came back: %d %q", resp.StatusCode, body)
			}
		})
	}
}

func TestUpstreamResetMidBody(t *testing.T) {
	up := newRawUpstream(t)
	page := `<html><head></head><body>` + strings.Repeat("客服", 5000) + `</body></html>`
	json := acceptJSON("oRESET") + strings.Repeat(" ", 20000)
	tests := []struct {
		name, uri, dest string
		resp            string // sent before the reset
		sent            string // the body bytes in resp
	}{
		{"accept response with a length", "/cgi-bin/kfsessionmgr?action=kfcreatesession&case=length", "empty",
			fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", len(json), json[:len(json)/2]),
			json[:len(json)/2]},
		{"chunked accept response", "/cgi-bin/kfsessionmgr?action=kfcreatesession&case=chunked", "empty",
			"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n" +
				strings.TrimSuffix(chunked(json[:len(json)/2], nil), "0\r\n\r\n"),
			json[:len(json)/2]},
		{"page with a length", "/cgi-bin/kfindex?case=length", "document",
			fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: %d\r\n\r\n%s", len(page), page[:len(page)/2]),
			page[:len(page)/2]},
		{"chunked page", "/cgi-bin/kfindex?case=chunked", "document",
			"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nTransfer-Encoding: chunked\r\n\r\n" +
				strings.TrimSuffix(chunked(page[:len(page)/2], nil), "0\r\n\r\n"),
			page[:len(page)/2]},
		{"close-delimited page", "/cgi-bin/kfindex?case=close", "document",
			"HTTP/1.0 200 OK\r\nContent-Type: text/html\r\n\r\n" + page[:len(page)/2],
			page[:len(page)/2]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sink := newIDSink()
			e := startProxy(t, up.upstream(), withSink(sink))
			up.handleReset(tt.uri, tt.resp)
			req, _ := http.NewRequest(http.MethodGet, consoleURL+tt.uri, nil)
			req.Header.Set("Sec-Fetch-Dest", tt.dest)
			resp, err := e.client(e.ca.Pool()).Do(req)
			if err != nil {
				// Failing before the headers is a truthful answer too.
				t.Logf("request failed: %v", err)
			} else {
				body, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if err == nil {
					t.Fatalf("the browser saw a complete %d-byte response; the upstream sent %d bytes and reset", len(body), len(tt.sent))
				}
				if !strings.HasPrefix(tt.sent, string(body)) {
					t.Fatalf("the browser got bytes the upstream never sent (%d bytes)", len(body))
				}
			}
			if n := sink.len(); n != 0 {
				t.Errorf("scanned %d users from a cut-off body", n)
			}
			checkHealthy(t, e)
		})
	}
}

// TestUpstreamStalls holds console requests open, as the console's long
// polls do: they are not cut short, they do not hold up other requests,
// and a browser that gives up frees the upstream request.
func TestUpstreamStalls(t *testing.T) {
	release := make(chan struct{})
	var mu sync.Mutex
	cancelled := map[string]chan struct{}{}
	up := newUpstream(t, console.DefaultConsoleHost, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.URL.Query().Get("id")
		if id == "" {
			io.WriteString(w, "ok")
			return
		}
		done := make(chan struct{})
		mu.Lock()
		cancelled[id] = done
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Query().Get("headers") == "first" {
			w.WriteHeader(http.StatusOK)
			io.WriteString(w, `{"msglist":[`)
			w.(http.Flusher).Flush()
		}
		select {
		case <-release:
			if r.URL.Query().Get("headers") != "first" {
				io.WriteString(w, `{"msglist":[`)
			}
			io.WriteString(w, `]}`)
		case <-r.Context().Done():
			close(done)
		}
	}))
	e := startProxy(t, up)
	wasCancelled := func(id string) bool {
		mu.Lock()
		defer mu.Unlock()
		ch := cancelled[id]
		if ch == nil {
			return false
		}
		select {
		case <-ch:
			return true
		default:
			return false
		}
	}
	started := func(id string) bool {
		mu.Lock()
		defer mu.Unlock()
		return cancelled[id] != nil
	}

	// Long polls in both shapes: nothing yet, and headers then silence.
	type result struct {
		body string
		err  error
	}
	results := map[string]chan result{}
	for _, id := range []string{"quiet", "first"} {
		ch := make(chan result, 1)
		results[id] = ch
		u := consoleURL + "/cgi-bin/kfmsg?action=getnewmsg&id=" + id
		if id == "first" {
			u += "&headers=first"
		}
		go func() {
			resp, err := e.client(e.ca.Pool()).Get(u)
			if err != nil {
				ch <- result{err: err}
				return
			}
			defer resp.Body.Close()
			b, err := io.ReadAll(resp.Body)
			ch <- result{string(b), err}
		}()
	}
	// And two that the browser abandons.
	ctx, cancel := context.WithCancel(context.Background())
	abandoned := make(chan error, 2)
	for _, id := range []string{"gone-quiet", "gone-first"} {
		u := consoleURL + "/cgi-bin/kfmsg?action=getnewmsg&id=" + id
		if id == "gone-first" {
			u += "&headers=first"
		}
		go func() {
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
			resp, err := e.client(e.ca.Pool()).Do(req)
			if err == nil {
				_, err = io.ReadAll(resp.Body)
				resp.Body.Close()
			}
			abandoned <- err
		}()
	}
	kftest.Poll(t, "all four polls reach the upstream", func() bool {
		return started("quiet") && started("first") && started("gone-quiet") && started("gone-first")
	})
	// The stalled polls hold nothing else up.
	checkHealthy(t, e)
	cancel()
	for range 2 {
		if err := <-abandoned; !errors.Is(err, context.Canceled) {
			t.Errorf("abandoned poll ended with %v, want context.Canceled", err)
		}
	}
	kftest.Poll(t, "the upstream sees the browser's cancel", func() bool {
		return wasCancelled("gone-quiet") && wasCancelled("gone-first")
	})
	if wasCancelled("quiet") || wasCancelled("first") {
		t.Fatal("a long poll the browser still waits for was cut short")
	}
	close(release)
	for id, ch := range results {
		if r := <-ch; r.err != nil || r.body != `{"msglist":[]}` {
			t.Errorf("long poll %s: %q, %v", id, r.body, r.err)
		}
	}
}

// openStoreDB opens the session database the way kfsidebar run does, so
// a lock is ridden out exactly as in production.
func openStoreDB(t *testing.T, path string) *sql.DB {
	t.Helper()
	return sqlitedbtest.Open(t, path)
}

// openReadOnlyDB opens the session database read-only: every write fails.
func openReadOnlyDB(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sqlitedb.OpenReadOnly(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// median times n requests and returns the median duration.
func median(t *testing.T, n int, f func(i int)) time.Duration {
	t.Helper()
	var ds []time.Duration
	for i := range n {
		start := time.Now()
		f(i)
		ds = append(ds, time.Since(start))
	}
	slices.Sort(ds)
	return ds[n/2]
}

// TestStoreFailures breaks the SQLite file under the session map while
// the console keeps accepting chats: every response still reaches the
// browser as fast as before, the users are still known from memory, the
// failure is logged, and the rows are written once the file recovers.
func TestStoreFailures(t *testing.T) {
	tests := []struct {
		name string
		// breakStore breaks the store and returns how to repair it
		// (nil when the break lasts until the test ends).
		breakStore func(t *testing.T, path string, db *sql.DB) (repair func())
		// open opens the database the chats.Sessions use (after the table
		// exists).
		open func(t *testing.T, path string) *sql.DB
		log  string
	}{
		{
			name: "locked by another connection",
			breakStore: func(t *testing.T, path string, _ *sql.DB) func() {
				other := openStoreDB(t, path)
				conn, err := other.Conn(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				if _, err := conn.ExecContext(context.Background(), "BEGIN EXCLUSIVE"); err != nil {
					t.Fatal(err)
				}
				return func() {
					conn.ExecContext(context.Background(), "ROLLBACK")
					conn.Close()
				}
			},
			log: "locked",
		},
		{
			name: "read-only",
			open: func(t *testing.T, path string) *sql.DB { return openReadOnlyDB(t, path) },
			log:  "readonly",
		},
		{
			name: "disk full",
			breakStore: func(t *testing.T, path string, db *sql.DB) func() {
				// One connection, so the page limit applies to every write.
				db.SetMaxOpenConns(1)
				var pages int
				if err := db.QueryRow("PRAGMA page_count").Scan(&pages); err != nil {
					t.Fatal(err)
				}
				if _, err := db.Exec(fmt.Sprintf("PRAGMA max_page_count = %d", pages)); err != nil {
					t.Fatal(err)
				}
				return func() {
					if _, err := db.Exec("PRAGMA max_page_count = 1073741823"); err != nil {
						t.Error(err)
					}
				}
			},
			log: "full",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "kfsidebar.db")
			openSessions(t, openStoreDB(t, path), chats.Options{}) // creates the table
			db := openStoreDB(t, path)
			if tt.open != nil {
				db = tt.open(t, path)
			}
			logs := newLogCapture(t)
			sessions := openSessions(t, db, chats.Options{Logger: logs.logger()})
			// Many users per response, so a write needs new pages.
			accept := func(prefix string) string {
				var items []string
				for i := range 40 {
					items = append(items, fmt.Sprintf(`{"base_resp":{"ret":0},"kfsession":{"fans_uin":%d,"nickname":"%s","fans_openid":"%s%d","headimgurl":"http://wx.qlogo.cn/mmhead/%s%d"}}`,
						i, strings.Repeat("昵称", 20), prefix, i, prefix, i))
				}
				return `{"base_resp":{"ret":0},"kfcreatesession_resp":[` + strings.Join(items, ",") + `]}`
			}
			up := newUpstream(t, console.DefaultConsoleHost, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				// Chunked: the browser has the response only when the
				// proxy's handler is done with it.
				io.WriteString(w, accept(r.URL.Query().Get("p")))
				w.(http.Flusher).Flush()
			}))
			sink := &countingSink{Sink: sessions}
			e := startProxy(t, up, withSink(sink), withLogger(logs.logger()))
			c := e.client(e.ca.Pool())
			fetch := func(prefix string) {
				t.Helper()
				resp, body := get(t, c, consoleURL+"/cgi-bin/kfsessionmgr?action=kfcreatesession&p="+prefix, "Sec-Fetch-Dest", "empty")
				if resp.StatusCode != http.StatusOK || string(body) != accept(prefix) {
					t.Fatalf("accept response changed: %d, %d bytes", resp.StatusCode, len(body))
				}
			}
			const n = 9
			baseline := median(t, n, func(i int) { fetch(fmt.Sprintf("oBase%d-", i)) })
			var repair func()
			if tt.breakStore != nil {
				repair = tt.breakStore(t, path, db)
			}
			broken := median(t, n, func(i int) { fetch(fmt.Sprintf("oBroken%d-", i)) })
			t.Logf("accept responses through the proxy: median %v with a healthy store, %v with the store %s", baseline, broken, tt.name)
			// A ratio of medians from one run, and a generous one: a proxy
			// waiting on the store would be slower by the busy timeout
			// (5 s), thousands of times.
			if broken > 20*baseline {
				t.Errorf("console slowed from %v to %v while the store is %s", baseline, broken, tt.name)
			}
			// One Add waits on the store at most; the others leave their
			// rows to it rather than queueing a goroutine each.
			kftest.Poll(t, "at most one Add waits on the store", func() bool { return sink.inFlight.Load() <= 1 })
			logs.waitFor(t, "store write failed; kept in memory", tt.log)
			// The map learns a response's users right after the browser
			// has it (see Proxy.add).
			for i := range n {
				id := fmt.Sprintf("oBroken%d-7", i)
				kftest.Poll(t, id+" known from memory while the store is "+tt.name, func() bool {
					_, ok := sessions.Get(id)
					return ok
				})
			}
			if repair == nil {
				return
			}
			repair()
			// The next accept writes what the failed ones could not.
			fetch("oAfter-")
			check := openStoreDB(t, path)
			kftest.Poll(t, "the rows are written after the store recovered", func() bool { return countRows(t, check) == (2*n+1)*40 })
		})
	}
}

// TestStoreFailuresKeepScanning checks the in-memory map directly for a
// scanned response, with a store that always fails.
func TestStoreFailuresKeepScanning(t *testing.T) {
	path := filepath.Join(t.TempDir(), "kfsidebar.db")
	openSessions(t, openStoreDB(t, path), chats.Options{}) // creates the table
	sessions := openSessions(t, openReadOnlyDB(t, path), chats.Options{})
	var body bytes.Buffer
	body.WriteString(acceptJSON("oRO"))
	up := newUpstream(t, console.DefaultConsoleHost, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write(body.Bytes())
	}))
	e := startProxy(t, up, withSink(sessions))
	get(t, e.client(e.ca.Pool()), consoleURL+"/cgi-bin/kftransfer?action=gettransferinfo")
	kftest.Poll(t, "the transferred user is known", func() bool {
		r, ok := sessions.Get("oRO")
		return ok && r.Source == console.SourceTransfer
	})
}

// countingSink counts the Add calls under way.
type countingSink struct {
	Sink
	inFlight atomic.Int32
}

func (c *countingSink) Add(ctx context.Context, recs []console.Record) error {
	c.inFlight.Add(1)
	defer c.inFlight.Add(-1)
	return c.Sink.Add(ctx, recs)
}

// openSessions opens the session map and closes it (stopping its writer)
// when the test ends.
func openSessions(t *testing.T, db *sql.DB, opts chats.Options) *chats.Sessions {
	t.Helper()
	s, err := chats.Open(context.Background(), db, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close(context.Background()) })
	return s
}

// TestShutdownIsQuiet: a normal stop, with a browser connection open, logs
// no error; an error line at every Ctrl+C would hide the real ones.
func TestShutdownIsQuiet(t *testing.T) {
	up := newUpstream(t, console.DefaultConsoleHost, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok")
	}))
	logs := newLogCapture(t)
	e := startProxy(t, up, withLogger(logs.logger()))
	checkHealthy(t, e)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.proxy.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if line, ok := logs.find("level=ERROR"); ok {
		t.Errorf("a normal shutdown logged an error: %s", line)
	}
}
