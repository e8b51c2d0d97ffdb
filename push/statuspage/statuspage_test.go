package statuspage

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/kfsidebar/kfsidebar/push"
)

func testHandler() http.Handler {
	now := time.Date(2026, 11, 18, 10, 0, 0, 0, time.UTC)
	return New(Options{
		Addr: "127.0.0.1:8788", Version: "v1.2.3", Store: "SQLite /var/lib/kfsidebar/gateway.db",
		PushPath: "/wechat", FeedPath: "/feed",
		Status: func(context.Context) push.Status {
			return push.Status{
				PerMinute: map[string]int{"text": 3, "event:add_express_path": 2},
				Received:  9, Transferred: 4, Success: 5, Duplicates: 1,
				Refused: map[string]int64{"signature": 2},
				Targets: []push.TargetStatus{
					{Name: "erp", Pending: 1, Delivered: 7, Healthy: true, LastSuccess: now.Add(-time.Minute)},
					{Name: "bot", Dead: 2, Failed: 48, LastFailure: now, LastError: "deliver: bot answered 502 Bad Gateway"},
				},
			}
		},
		Subscribers: func() int { return 2 },
		Started:     now.Add(-time.Hour),
		Now:         func() time.Time { return now },
	})
}

func get(h http.Handler, host, path string, header http.Header) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodGet, "http://"+host+path, nil)
	for k, v := range header {
		r.Header[k] = v
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// TestPage: the page shows the counts and each target's health.
func TestPage(t *testing.T) {
	w := get(testHandler(), "127.0.0.1:8788", "/", nil)
	if w.Code != http.StatusOK {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	body := w.Body.String()
	for _, want := range []string{"v1.2.3", "<code>event:add_express_path</code></td><td>2", "<b>9</b>", "<code>signature</code> 2",
		"<code>erp</code></td><td class=\"ok\">", "<code>bot</code></td><td class=\"bad\">", "bot answered 502",
		"有 2 条死信", "SQLite /var/lib/kfsidebar/gateway.db", "2 台在线"} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %s", want)
		}
	}
	if csp := w.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") {
		t.Errorf("CSP %q", csp)
	}
}

// TestJSON: /status.json has the same numbers, for scripts and doctor.
func TestJSON(t *testing.T) {
	w := get(testHandler(), "localhost:8788", "/status.json", nil)
	var r Report
	if err := json.Unmarshal(w.Body.Bytes(), &r); err != nil {
		t.Fatalf("%v: %s", err, w.Body)
	}
	if r.Received != 9 || r.PerMinute["text"] != 3 || len(r.Targets) != 2 || r.Targets[1].Dead != 2 || *r.FeedSubscribers != 2 || r.PushPath != "/wechat" {
		t.Errorf("report %+v", r)
	}
}

// TestOnlyOnItsOwnAddress: another Host (DNS rebinding, the public name
// through the front) or any forwarded request is refused.
func TestOnlyOnItsOwnAddress(t *testing.T) {
	h := testHandler()
	for _, tt := range []struct {
		name, host string
		header     http.Header
		want       int
	}{
		{"listen address", "127.0.0.1:8788", nil, http.StatusOK},
		{"loopback alias", "[::1]:8788", nil, http.StatusOK},
		{"public name", "shop.example", nil, http.StatusMisdirectedRequest},
		{"other port", "127.0.0.1:80", nil, http.StatusMisdirectedRequest},
		{"through nginx with its default Host", "127.0.0.1:8788", http.Header{"X-Real-Ip": {"203.0.113.9"}}, http.StatusNotFound},
		{"through caddy", "127.0.0.1:8788", http.Header{"X-Forwarded-For": {"203.0.113.9"}}, http.StatusNotFound},
		{"forwarded", "127.0.0.1:8788", http.Header{"Forwarded": {"for=203.0.113.9"}}, http.StatusNotFound},
	} {
		t.Run(tt.name, func(t *testing.T) {
			for _, path := range []string{"/", "/status.json"} {
				if w := get(h, tt.host, path, tt.header); w.Code != tt.want {
					t.Errorf("%s: status %d, want %d", path, w.Code, tt.want)
				}
			}
		})
	}
	if w := get(h, "127.0.0.1:8788", "/other", nil); w.Code != http.StatusNotFound {
		t.Errorf("/other: %d", w.Code)
	}
}
