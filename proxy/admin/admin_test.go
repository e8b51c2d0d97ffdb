package admin

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/kfsidebar/kfsidebar/internal/sqlitedb/sqlitedbtest"
	"github.com/kfsidebar/kfsidebar/proxy/chats"
	"github.com/kfsidebar/kfsidebar/proxy/console"
)

const adminAddr = "127.0.0.1:8787"

func newTestAdmin(t *testing.T, opts Options) http.Handler {
	t.Helper()
	if opts.Addr == "" {
		opts.Addr = adminAddr
	}
	if opts.CAPEM == nil {
		opts.CAPEM = []byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
	}
	return New(opts)
}

func serve(t *testing.T, h http.Handler, host, path string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, "http://"+host+path, nil)
	req.Host = host
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w
}

// TestAdminAnswersOnlyItsOwnHost is the DNS-rebinding defence: a page
// on evil.example that makes evil.example resolve to 127.0.0.1 sends
// Host: evil.example:8787, and gets nothing.
func TestAdminAnswersOnlyItsOwnHost(t *testing.T) {
	h := newTestAdmin(t, Options{
		Pages: map[string]http.Handler{"/extra/": http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "extra") })},
	})
	paths := []string{"/", "/status.json", "/status.js", "/proxy.pac", "/ca.pem", "/extra/"}
	tests := []struct {
		host string
		want int
	}{
		{"127.0.0.1:8787", http.StatusOK},
		{"localhost:8787", http.StatusOK},
		{"LOCALHOST:8787", http.StatusOK},
		{"[::1]:8787", http.StatusOK},
		{"evil.example:8787", http.StatusMisdirectedRequest},
		{"evil.example", http.StatusMisdirectedRequest},
		{"127.0.0.1:9999", http.StatusMisdirectedRequest},
		{"127.0.0.1", http.StatusMisdirectedRequest},
		{"mpkf.weixin.qq.com", http.StatusMisdirectedRequest},
		{"", http.StatusMisdirectedRequest},
	}
	for _, tt := range tests {
		for _, p := range paths {
			if got := serve(t, h, tt.host, p).Code; got != tt.want {
				t.Errorf("Host %q %s: status %d, want %d", tt.host, p, got, tt.want)
			}
		}
	}
}

func TestPAC(t *testing.T) {
	corp := mustURL(t, "http://user:secret@corp-proxy:3128")
	tests := []struct {
		name     string
		upstream *url.URL
		bypass   []string
		want     []string
		not      []string
	}{
		{
			name: "direct office",
			want: []string{
				`if (host == "mpkf.weixin.qq.com") return "PROXY 127.0.0.1:8787; DIRECT";`,
				`if (host == "` + console.PACProbeHost + `") return "PROXY 127.0.0.1:8787";`,
				`return "DIRECT";`,
			},
			not: []string{"corp-proxy"},
		},
		{
			name:     "office proxy kept for every other site",
			upstream: corp,
			bypass:   []string{"<local>", "*.corp.example", "10.*", "10.0.0.0/8", ".intra", `bad"quote`},
			want: []string{
				`if (host == "mpkf.weixin.qq.com") return "PROXY 127.0.0.1:8787; PROXY corp-proxy:3128";`,
				`if (isPlainHostName(host)) return "DIRECT";`,
				`if (shExpMatch(host, "*.corp.example")) return "DIRECT";`,
				`if (shExpMatch(host, "10.*")) return "DIRECT";`,
				`if (isInNet(host, "10.0.0.0", "255.0.0.0")) return "DIRECT";`,
				`if (shExpMatch(host, "*.intra")) return "DIRECT";`,
				`return "PROXY corp-proxy:3128";`,
			},
			not: []string{"secret", "user", `bad`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := PAC(adminAddr, []string{console.DefaultConsoleHost}, tt.upstream, tt.bypass)
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("PAC lacks %s\n%s", w, got)
				}
			}
			for _, n := range tt.not {
				if strings.Contains(got, n) {
					t.Errorf("PAC contains %q\n%s", n, got)
				}
			}
		})
	}
}

// TestPACRunsInJavaScript evaluates the PAC file the way a browser does
// (with the standard PAC helper functions) and checks where each URL goes.
func TestPACRunsInJavaScript(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node not found; the PAC file is also run by Chromium in the cmd/kfsidebar tests")
	}
	corp := mustURL(t, "http://corp-proxy:3128")
	pac := PAC(adminAddr, []string{console.DefaultConsoleHost, "staging.example"}, corp, []string{"<local>", "*.corp.example"})
	harness := pac + `
function isPlainHostName(h) { return h.indexOf('.') < 0; }
function shExpMatch(s, p) { return new RegExp('^' + p.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.') + '$').test(s); }
function isInNet() { return false; }
const cases = JSON.parse(process.argv[2]);
console.log(JSON.stringify(cases.map(([u, h]) => FindProxyForURL(u, h))));
`
	file := filepath.Join(t.TempDir(), "pac.js")
	if err := os.WriteFile(file, []byte(harness), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct{ url, host, want string }{
		{"https://mpkf.weixin.qq.com/cgi-bin/kfindex", "mpkf.weixin.qq.com", "PROXY 127.0.0.1:8787; PROXY corp-proxy:3128"},
		{"https://MPKF.weixin.qq.com/", "MPKF.weixin.qq.com", "PROXY 127.0.0.1:8787; PROXY corp-proxy:3128"},
		{"https://staging.example/", "staging.example", "PROXY 127.0.0.1:8787; PROXY corp-proxy:3128"},
		{"http://" + console.PACProbeHost + "/", console.PACProbeHost, "PROXY 127.0.0.1:8787"},
		{"https://weixin.qq.com/", "weixin.qq.com", "PROXY corp-proxy:3128"},
		{"https://evilmpkf.weixin.qq.com/", "evilmpkf.weixin.qq.com", "PROXY corp-proxy:3128"},
		{"http://intranet/", "intranet", "DIRECT"},
		{"https://wiki.corp.example/", "wiki.corp.example", "DIRECT"},
	}
	var in [][2]string
	for _, c := range cases {
		in = append(in, [2]string{c.url, c.host})
	}
	arg, _ := json.Marshal(in)
	out, err := exec.Command(node, file, string(arg)).CombinedOutput()
	if err != nil {
		t.Fatalf("node: %v\n%s", err, out)
	}
	var got []string
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("node printed %s", out)
	}
	for i, c := range cases {
		if got[i] != c.want {
			t.Errorf("FindProxyForURL(%s) = %q, want %q", c.url, got[i], c.want)
		}
	}
}

func TestStatusPage(t *testing.T) {
	now := time.Date(2026, 11, 23, 15, 0, 0, 0, time.Local)
	counts := map[string]map[string]int{
		"2026-11-17": {}, "2026-11-18": {console.SourceManual: 2}, "2026-11-19": {}, "2026-11-20": {console.SourceAuto: 9},
		"2026-11-21": {}, "2026-11-22": {console.SourceTransfer: 1},
		"2026-11-23": {console.SourceManual: 3, console.SourceAuto: 4, console.SourceTransfer: 1, console.SourcePage: 2, console.SourceOther: 1},
	}
	var askedDays int
	h := newTestAdmin(t, Options{
		Version:      "v1.2.3",
		ConsoleHosts: []string{console.DefaultConsoleHost},
		Chats:        func() int { return 42 },
		Counts:       func(days int) map[string]map[string]int { askedDays = days; return counts },
		LastScan:     func() time.Time { return now.Add(-5 * time.Minute) },
		Backend: func() BackendHealth {
			return BackendHealth{State: "open", LastError: "dial tcp: connection refused", LastErrorAt: now.Add(-time.Minute), RetryAt: now.Add(30 * time.Second)}
		},
		Now: func() time.Time { return now },
	})
	w := serve(t, h, adminAddr, "/")
	page := w.Body.String()
	if w.Code != http.StatusOK {
		t.Fatalf("status %d", w.Code)
	}
	if askedDays != 7 {
		t.Errorf("asked Counts for %d days, want 7", askedDays)
	}
	for _, want := range []string{
		"v1.2.3", "<b>11</b>", "手动接入 manual 3", "自动接入 auto 4", "转接 transfer 1", "其它 other 3",
		"42", "5 分钟前", "暂停调用", "connection refused",
		`data-console-host="mpkf.weixin.qq.com"`, `data-probe-host="` + console.PACProbeHost + `"`,
		`<script src="/status.js"></script>`, "/ca.pem", "kfsidebar ca install", "kfsidebar proxy on", "kfsidebar open",
		"Windows", "macOS", "Linux",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("status page lacks %q", want)
		}
	}
	if strings.Contains(page, "ZgotmplZ") {
		t.Error("the template refused a value (ZgotmplZ)")
	}
	// The chart: one bar group per day, bars only for non-zero sources.
	if got := strings.Count(page, "<g>"); got != 7 {
		t.Errorf("chart has %d day groups, want 7", got)
	}
	if got := strings.Count(page, "<rect"); got != 7 {
		t.Errorf("chart has %d bars, want 7 (4 today, one on each of 3 other days)", got)
	}
	// CSP: no inline script, no event handler attributes, nothing loaded
	// from elsewhere.
	csp := w.Header().Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'none'", "script-src 'self'", "connect-src http://" + console.PACProbeHost + " https://mpkf.weixin.qq.com"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	if regexp.MustCompile(`<script(?:\s[^>]*)?>[^<]`).MatchString(page) || regexp.MustCompile(`\son[a-z]+=`).MatchString(page) {
		t.Error("status page has inline script, which its CSP would block")
	}
}

func TestStatusPageWithoutData(t *testing.T) {
	h := newTestAdmin(t, Options{})
	page := serve(t, h, adminAddr, "/").Body.String()
	if !strings.Contains(page, "还没有") || strings.Contains(page, "<svg") || strings.Contains(page, "订单后台") {
		t.Errorf("page without data sources shows rows it has no data for:\n%s", page)
	}
}

// TestStatusShowsNoCustomerData fills a real session map and checks that
// neither the page nor /status.json carries an openid, a nickname or an
// avatar.
func TestStatusShowsNoCustomerData(t *testing.T) {
	now := time.Date(2024, 5, 10, 10, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	db := sqlitedbtest.New(t)
	s, err := chats.Open(context.Background(), db, chats.Options{Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close(context.Background()) })
	fixture := []console.Record{
		{OpenID: "oAlice42", Nickname: "Alice", HeadImgURL: "http://wx.qlogo.cn/mmhead/AAAA", FansUIN: "1001", Source: console.SourceManual, SeenAt: now},
		{OpenID: "oBob42", Nickname: "小明", HeadImgURL: "http://wx.qlogo.cn/mmhead/DEFAULT", Source: console.SourceAuto, SeenAt: now.Add(-26 * time.Hour)},
		{OpenID: "oCarol42", Nickname: "Carol", Source: console.SourceTransfer, SeenAt: now.Add(-time.Hour)},
	}
	if err := s.Add(context.Background(), fixture); err != nil {
		t.Fatal(err)
	}
	upstream := mustURL(t, "http://user:secret@corp:3128")
	h := newTestAdmin(t, Options{Chats: s.Len, Counts: s.Counts, Upstream: upstream, Now: clock})
	page := serve(t, h, adminAddr, "/").Body.String()
	js := serve(t, h, adminAddr, "/status.json").Body.String()
	if !strings.Contains(page, "<rect") {
		t.Fatal("the chart is empty: the test would prove nothing")
	}
	for _, r := range fixture {
		for _, secret := range []string{r.OpenID, r.Nickname, r.HeadImgURL} {
			if secret != "" && (strings.Contains(page, secret) || strings.Contains(js, secret)) {
				t.Errorf("status shows customer data %q", secret)
			}
		}
	}
	if strings.Contains(page+js, "secret") {
		t.Error("status shows the upstream proxy's password")
	}
}

func TestStatusJSON(t *testing.T) {
	now := time.Date(2026, 11, 23, 15, 0, 0, 0, time.UTC)
	h := newTestAdmin(t, Options{
		Version: "v9",
		Chats:   func() int { return 3 },
		Counts: func(int) map[string]map[string]int {
			return map[string]map[string]int{"2026-11-23": {console.SourceAuto: 2}, "2026-11-22": {}}
		},
		LastScan: func() time.Time { return now },
		Backend:  func() BackendHealth { return BackendHealth{State: "ok"} },
		Now:      func() time.Time { return now },
	})
	var st Status
	if err := json.Unmarshal(serve(t, h, adminAddr, "/status.json").Body.Bytes(), &st); err != nil {
		t.Fatal(err)
	}
	if st.Version != "v9" || st.Chats == nil || *st.Chats != 3 || len(st.Days) != 2 || st.Days[1].Auto != 2 ||
		st.LastScan == nil || !st.LastScan.Equal(now) || st.Backend == nil || st.Backend.State != "ok" || st.Addr != adminAddr {
		t.Fatalf("status.json = %+v", st)
	}
}

// mustURL parses an office proxy's URL, as kfsidebar's flag does.
func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
