package sidebar

import (
	"context"
	"crypto/tls"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/kfsidebar/kfsidebar/certs"
	"github.com/kfsidebar/kfsidebar/internal/kftest"
	"github.com/kfsidebar/kfsidebar/internal/sqlitedb"
	"github.com/kfsidebar/kfsidebar/internal/sqlitedb/sqlitedbtest"
	"github.com/kfsidebar/kfsidebar/proxy"
	"github.com/kfsidebar/kfsidebar/proxy/chats"
	"github.com/kfsidebar/kfsidebar/proxy/console"
	"github.com/kfsidebar/kfsidebar/sidebar/shop"
	"github.com/kfsidebar/kfsidebar/sidebar/shop/embedded"
)

// The fault tests put the hub behind the real proxy, with the real session
// map, as kfsidebar runs it, and break the order backend: the sidebar must
// say what is wrong, and the console's own traffic must not notice.

const faultToken = "fault-token-0123456789"

// faultWorld is a console upstream, the proxy and the hub.
type faultWorld struct {
	proxyURL *url.URL
	ca       *certs.CA
	sessions *chats.Sessions
}

// faultAvatar is the avatar of a user in the console; the user's nickname
// is their openid.
func faultAvatar(openid string) string { return "https://wx.qlogo.cn/mmhead/" + openid + "/132" }

// startFaultWorld starts a console, the proxy with a session map on db
// (nil: a file of its own) and a hub with backend, runs beforeAccept (if
// any), and has the agent accept the given users.
func startFaultWorld(t *testing.T, backend shop.Backend, db *sql.DB, lookupTimeout time.Duration, beforeAccept func(), users ...string) *faultWorld {
	t.Helper()
	upCA, err := certs.New(certs.Options{Hosts: []string{console.DefaultConsoleHost}})
	if err != nil {
		t.Fatal(err)
	}
	upstream := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Path != "/cgi-bin/kfsessionmgr" {
			io.WriteString(w, `{"base_resp":{"ret":0},"msglist":[]}`)
			return
		}
		var items []string
		for i, id := range users {
			items = append(items, fmt.Sprintf(`{"base_resp":{"ret":0},"kfsession":{"fans_uin":%d,"nickname":%q,"fans_openid":%q,"headimgurl":"http://wx.qlogo.cn/mmhead/%s"}}`,
				1000+i, id, id, id))
		}
		io.WriteString(w, `{"base_resp":{"ret":0},"kfcreatesession_resp":[`+strings.Join(items, ",")+`]}`)
	}))
	upstream.TLS = certs.NewLeaves(upCA, certs.LeafOptions{}).ServerTLSConfig()
	upstream.StartTLS()
	t.Cleanup(upstream.Close)

	if db == nil {
		db = sqlitedbtest.New(t)
	}
	sessions, err := chats.Open(context.Background(), db, chats.Options{Logger: kftest.Logger(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sessions.Close(context.Background()) })
	hub, err := NewHub(HubOptions{Resolver: sessions, Backend: backend, Token: faultToken,
		AllowedOrigins: []string{"https://" + console.DefaultConsoleHost}, LookupTimeout: lookupTimeout, Logger: kftest.Logger(t)})
	if err != nil {
		t.Fatal(err)
	}
	ca, err := certs.New(certs.Options{Hosts: []string{console.DefaultConsoleHost}})
	if err != nil {
		t.Fatal(err)
	}
	p, err := proxy.New(proxy.Config{
		Leaves:        certs.NewLeaves(ca, certs.LeafOptions{}),
		UpstreamRoots: upCA.Pool(),
		DialOverrides: map[string]string{console.DefaultConsoleHost + ":443": upstream.Listener.Addr().String()},
		Local:         hub,
		Sink:          sessions,
		ScriptSrc:     console.ReservedPrefix + "sidebar.js?t=" + faultToken,
		Logger:        kftest.Logger(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go p.Serve(ln)
	t.Cleanup(func() {
		hub.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		p.Shutdown(ctx)
	})
	w := &faultWorld{proxyURL: &url.URL{Scheme: "http", Host: ln.Addr().String()}, ca: ca, sessions: sessions}
	if beforeAccept != nil {
		beforeAccept()
	}
	// The agent accepts the chats: the proxy learns who they are.
	if status, _ := w.get(t, "/cgi-bin/kfsessionmgr?action=kfcreatesession&f=json"); status != http.StatusOK {
		t.Fatalf("accept: %d", status)
	}
	kftest.Poll(t, "the accepted users are known", func() bool {
		for _, id := range users {
			if _, ok := sessions.Get(id); !ok {
				return false
			}
		}
		return true
	})
	return w
}

// client is a browser tab's HTTP side: its own connection to the proxy.
func (w *faultWorld) client() *http.Client {
	return &http.Client{Transport: &http.Transport{
		Proxy:           http.ProxyURL(w.proxyURL),
		TLSClientConfig: &tls.Config{RootCAs: w.ca.Pool()},
	}}
}

func (w *faultWorld) get(t *testing.T, path string) (int, string) {
	t.Helper()
	resp, err := w.client().Get("https://" + console.DefaultConsoleHost + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// dial opens a sidebar websocket through the proxy, as the page does.
func (w *faultWorld) dial(t *testing.T) *websocket.Conn {
	t.Helper()
	d := websocket.Dialer{Proxy: http.ProxyURL(w.proxyURL), TLSClientConfig: &tls.Config{RootCAs: w.ca.Pool()}, HandshakeTimeout: 10 * time.Second}
	conn, resp, err := d.Dial("wss://"+console.DefaultConsoleHost+console.ReservedPrefix+"ws?t="+faultToken,
		http.Header{"Origin": {"https://" + console.DefaultConsoleHost}})
	if err != nil {
		t.Fatalf("websocket through the proxy: %v", err)
	}
	resp.Body.Close()
	t.Cleanup(func() { conn.Close() })
	return conn
}

// faultMessage is the part of a hub message these tests read.
type faultMessage struct {
	Type     string `json:"type"`
	Seq      int64  `json:"seq"`
	OpenID   string `json:"openid"`
	Message  string `json:"message"`
	Customer *struct {
		Name string `json:"name"`
	} `json:"customer"`
}

// selectChat asks for the user behind an avatar and returns the first
// answer that is not "loading" (skipping unrelated pushes).
func selectChat(t *testing.T, conn *websocket.Conn, seq int64, openid string) faultMessage {
	t.Helper()
	if err := conn.WriteJSON(map[string]any{"type": "select", "seq": seq, "avatar": faultAvatar(openid), "nickname": openid}); err != nil {
		t.Fatal(err)
	}
	conn.SetReadDeadline(time.Now().Add(20 * time.Second))
	for {
		var m faultMessage
		if err := conn.ReadJSON(&m); err != nil {
			t.Fatalf("waiting for the answer to %s: %v", openid, err)
		}
		if m.Seq == seq && m.Type != "loading" {
			return m
		}
	}
}

// medianDuration times n calls of f and returns the median.
func medianDuration(n int, f func()) time.Duration {
	var ds []time.Duration
	for range n {
		start := time.Now()
		f()
		ds = append(ds, time.Since(start))
	}
	slices.Sort(ds)
	return ds[n/2]
}

// hangingBackend answers "oDown" with an error and hangs on every other
// openid until the lookup is cancelled.
type hangingBackend struct{}

var errShopDown = errors.New("shop api: dial tcp 10.0.0.8:443: connect: connection refused")

func (hangingBackend) Lookup(ctx context.Context, openid string) (*shop.Customer, error) {
	if openid == "oDown" {
		return nil, errShopDown
	}
	<-ctx.Done()
	return nil, ctx.Err()
}

func (b hangingBackend) Customer(ctx context.Context, id string) (*shop.Customer, error) {
	return b.Lookup(ctx, id)
}

func (hangingBackend) Search(context.Context, string, int) ([]shop.Customer, error) {
	return nil, errShopDown
}

// TestFaultBackendDownOrSlow: a shop backend that hangs or refuses shows
// an error in every sidebar, and the console, going through the same
// proxy, is exactly as fast as before.
func TestFaultBackendDownOrSlow(t *testing.T) {
	const tabs = 10
	w := startFaultWorld(t, hangingBackend{}, nil, 2*time.Second, nil, "oSlow", "oDown")
	browser := w.client()
	fetch := func() {
		resp, err := browser.Get("https://" + console.DefaultConsoleHost + "/cgi-bin/kfmsg?action=getnewmsg&f=json")
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	const n = 15
	baseline := medianDuration(n, fetch)

	conns := make([]*websocket.Conn, tabs)
	for i := range conns {
		conns[i] = w.dial(t)
		if err := conns[i].WriteJSON(map[string]any{"type": "select", "seq": 1, "avatar": faultAvatar("oSlow"), "nickname": "oSlow"}); err != nil {
			t.Fatal(err)
		}
		var m faultMessage
		conns[i].SetReadDeadline(time.Now().Add(10 * time.Second))
		for m.Type != "loading" {
			if err := conns[i].ReadJSON(&m); err != nil {
				t.Fatal(err)
			}
		}
	}
	// Every sidebar now waits on the hanging backend.
	hanging := medianDuration(n, fetch)
	t.Logf("console requests through the proxy: median %v before, %v while %d lookups hang", baseline, hanging, tabs)
	// A ratio of medians from one run: a console that waited on the
	// backend would be slower by the lookup timeout, thousands of times.
	if hanging > 20*baseline {
		t.Errorf("console slowed from %v to %v while the backend hangs", baseline, hanging)
	}
	for i, conn := range conns {
		var m faultMessage
		conn.SetReadDeadline(time.Now().Add(20 * time.Second))
		for m.Type == "" || m.Type == "loading" {
			if err := conn.ReadJSON(&m); err != nil {
				t.Fatalf("tab %d: %v", i, err)
			}
		}
		if m.Type != "error" || m.Message != msgTimeout {
			t.Errorf("tab %d after the lookup timeout: %+v, want error %q", i, m, msgTimeout)
		}
	}
	m := selectChat(t, conns[0], 2, "oDown")
	if m.Type != "error" || (m.Message != msgLookupFailed && m.Message != msgUnavailable) {
		t.Errorf("backend down: %+v, want an error saying the lookup failed", m)
	}
	if strings.Contains(m.Message, "10.0.0.8") || strings.Contains(m.Message, "oDown") {
		t.Errorf("error shows internals to the agent: %q", m.Message)
	}
}

// TestFaultOrderDatabase breaks the one SQLite file that holds, as in
// kfsidebar run, both the session map and the embedded orders, before the
// agent accepts a chat: with a file another program holds a write lock
// on, a read-only file or a full disk, the accepted user is kept in memory
// and the lookup (a read) still shows the customer. A corrupted file makes
// the sidebar say the lookup failed. The console never notices.
func TestFaultOrderDatabase(t *testing.T) {
	const who = "oA1bC2dE3fG4hI5jK6lM7nO8pQ9r" // 张三 in good.json
	good, err := os.ReadFile(filepath.Join("shop", "embedded", "testdata", "import", "good.json"))
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name string
		// breakDB breaks the order database at path once the backend
		// is open on db.
		breakDB func(t *testing.T, path string, db *sql.DB)
		ro      bool   // open the backend's database read-only
		own     bool   // the session map has a file of its own
		want    string // "customer", or the error message
	}{
		{"locked by another writer", func(t *testing.T, path string, _ *sql.DB) {
			conn, err := sqlitedbtest.Open(t, path).Conn(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { conn.Close() })
			if _, err := conn.ExecContext(context.Background(), "BEGIN EXCLUSIVE"); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { conn.ExecContext(context.Background(), "ROLLBACK") })
		}, false, false, "customer"},
		{"read-only", nil, true, false, "customer"},
		{"disk full", func(t *testing.T, _ string, db *sql.DB) {
			db.SetMaxOpenConns(1)
			var pages int
			if err := db.QueryRow("PRAGMA page_count").Scan(&pages); err != nil {
				t.Fatal(err)
			}
			if _, err := db.Exec(fmt.Sprintf("PRAGMA max_page_count = %d", pages)); err != nil {
				t.Fatal(err)
			}
		}, false, false, "customer"},
		{"corrupted", func(t *testing.T, path string, db *sql.DB) {
			// The whole file overwritten, as a failing disk or a careless
			// copy would leave it; no connection may read from a cache.
			db.SetMaxIdleConns(0)
			for _, name := range []string{path, path + "-wal", path + "-shm"} {
				if fi, err := os.Stat(name); err == nil {
					if err := os.WriteFile(name, []byte(strings.Repeat("garbage!", int(fi.Size()/8)+1)), 0o600); err != nil {
						t.Fatal(err)
					}
				}
			}
		}, false, true, msgLookupFailed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "orders.db")
			setup := sqlitedbtest.Open(t, path)
			b, err := embedded.New(context.Background(), setup)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := b.Import(context.Background(), strings.NewReader(string(good))); err != nil {
				t.Fatal(err)
			}
			b.Close()
			created, err := chats.Open(context.Background(), setup, chats.Options{})
			if err != nil {
				t.Fatal(err) // the map's table exists before the file breaks
			}
			created.Close(context.Background())
			if _, err := setup.Exec("PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
				t.Fatal(err)
			}
			db := setup
			if tt.ro {
				if db, err = sqlitedb.OpenReadOnly(context.Background(), path); err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { db.Close() })
			}
			backend, err := embedded.New(context.Background(), db)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { backend.Close() })
			mapDB := db
			if tt.own {
				mapDB = nil
			}
			w := startFaultWorld(t, backend, mapDB, 2*time.Second, func() {
				if tt.breakDB != nil {
					tt.breakDB(t, path, db)
				}
			}, who)
			conn := w.dial(t)
			m := selectChat(t, conn, 1, who)
			switch {
			case tt.want == "customer":
				if m.Type != "customer" || m.Customer == nil || m.Customer.Name != "张三" {
					t.Errorf("lookup with the file %s: %+v, want the customer", tt.name, m)
				}
			case m.Type != "error" || (m.Message != tt.want && m.Message != msgUnavailable):
				t.Errorf("lookup with the file %s: %+v, want error %q", tt.name, m, tt.want)
			}
			if status, body := w.get(t, "/cgi-bin/kfmsg?action=getnewmsg"); status != http.StatusOK || !strings.Contains(body, "msglist") {
				t.Errorf("console request with the order file %s: %d %q", tt.name, status, body)
			}
		})
	}
}
