package mpkftest

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"
)

var bootstrapRE = regexp.MustCompile(`MCS\.cgiData = (\{.*?\});</script>`)

// pageBootstrap loads the console page and decodes its MCS.cgiData.
func pageBootstrap(t *testing.T, s *Server, v any) string {
	t.Helper()
	resp, body := fetch(t, client(s), http.MethodGet, s.URL(), nil, http.Header{"Accept-Encoding": {"gzip"}})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", s.URL(), resp.Status)
	}
	m := bootstrapRE.FindSubmatch(body)
	if m == nil {
		t.Fatalf("no MCS.cgiData bootstrap in the page:\n%s", body)
	}
	if err := json.Unmarshal(m[1], v); err != nil {
		t.Fatalf("bootstrap does not parse: %v\n%s", err, m[1])
	}
	return string(body)
}

func TestPageBootstrap(t *testing.T) {
	s := newServer(t, Options{})
	var got wCGIData
	page := pageBootstrap(t, s, &got)
	if got.Token != s.opts.Token || got.KFInfo.Nickname == "" || got.Seq == 0 {
		t.Errorf("bootstrap = %+v, want token, kf_info and seq", got)
	}
	want := Roster[:2]
	if len(got.Sessions.List) != len(want) {
		t.Fatalf("bootstrap has %d sessions, want %d", len(got.Sessions.List), len(want))
	}
	for i, f := range want {
		it := got.Sessions.List[i]
		k := it.KFSession
		if k.FansUIN != f.UIN || k.Nickname != f.Nickname || k.FansOpenID != f.OpenID || k.HeadImgURL != f.AvatarJSON() || k.SessionID == 0 || k.StartTime == 0 {
			t.Errorf("session %d = %+v, want fan %+v", i, k, f)
		}
		if it.MsgSummary.Msg.MsgID == 0 || it.MsgSummary.Msg.Content == "" || it.MsgSummary.Msg.CreateTime == 0 {
			t.Errorf("session %d msgsummary = %+v, want the last message", i, it.MsgSummary)
		}
	}
	if !strings.Contains(page, `<div id="app">`) || !strings.Contains(page, staticPrefix) {
		t.Errorf("page lacks the app root or its resources")
	}
}

func TestPageOptions(t *testing.T) {
	tests := []struct {
		name     string
		opts     Options
		wantCSP  string
		wantJSON string
		wantOpen int
	}{
		{"defaults", Options{}, "", "application/json; charset=UTF-8", 2},
		{"old cgi", Options{JSONContentType: "text/html; charset=UTF-8", CSP: "script-src 'self' 'unsafe-inline'", OpenAtLoad: -1}, "script-src 'self' 'unsafe-inline'", "text/html; charset=UTF-8", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newServer(t, tt.opts)
			c := client(s)
			resp, _ := fetch(t, c, http.MethodGet, s.URL(), nil, nil)
			if got := resp.Header.Get("Content-Security-Policy"); got != tt.wantCSP {
				t.Errorf("page CSP = %q, want %q", got, tt.wantCSP)
			}
			resp, _ = fetch(t, c, http.MethodGet, cgiURL(s, "kfsettings", "getsettings", nil), nil, nil)
			if got := resp.Header.Get("Content-Type"); got != tt.wantJSON {
				t.Errorf("cgi Content-Type = %q, want %q", got, tt.wantJSON)
			}
			var boot wCGIData
			pageBootstrap(t, s, &boot)
			if len(boot.Sessions.List) != tt.wantOpen {
				t.Errorf("open at load = %d, want %d", len(boot.Sessions.List), tt.wantOpen)
			}
		})
	}
}

func TestNewServerRejects(t *testing.T) {
	if _, err := NewServer(Options{Encoding: "zstd"}); err == nil {
		t.Error("NewServer accepted Encoding zstd")
	}
}

func TestRedirects(t *testing.T) {
	s := newServer(t, Options{Token: "9876543210"})
	tests := []struct {
		path, wantLocation string
	}{
		{"/", "/cgi-bin/kfindex?token=9876543210"},
		{"/cgi-bin/kfindex", "/cgi-bin/kfloginpage"},
		{"/cgi-bin/kfindex?token=1234567890", "/cgi-bin/kfloginpage"},
	}
	for _, tt := range tests {
		resp, _ := fetch(t, client(s), http.MethodGet, "https://"+Host+tt.path, nil, nil)
		if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != tt.wantLocation {
			t.Errorf("GET %s = %d to %q, want 302 to %q", tt.path, resp.StatusCode, resp.Header.Get("Location"), tt.wantLocation)
		}
	}
	resp, body := fetch(t, client(s), http.MethodGet, "https://"+Host+"/cgi-bin/kfloginpage", nil, nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "登录") {
		t.Errorf("login page = %d %q", resp.StatusCode, body)
	}
}

func TestStaticAssets(t *testing.T) {
	s := newServer(t, Options{})
	c := client(s)
	for _, p := range []string{s.assets.js, s.assets.css} {
		resp, body := fetch(t, c, http.MethodGet, "https://"+Host+p, nil, http.Header{"Accept-Encoding": {"gzip"}})
		if resp.StatusCode != http.StatusOK || len(body) == 0 {
			t.Fatalf("GET %s = %s", p, resp.Status)
		}
		if cc := resp.Header.Get("Cache-Control"); !strings.Contains(cc, "max-age=31536000") {
			t.Errorf("GET %s Cache-Control = %q, want a year", p, cc)
		}
		etag := resp.Header.Get("ETag")
		if etag == "" || resp.Header.Get("Content-Encoding") != "gzip" {
			t.Fatalf("GET %s: ETag %q, Content-Encoding %q", p, etag, resp.Header.Get("Content-Encoding"))
		}
		resp, _ = fetch(t, c, http.MethodGet, "https://"+Host+p, nil, http.Header{"If-None-Match": {etag}})
		if resp.StatusCode != http.StatusNotModified {
			t.Errorf("GET %s If-None-Match %s = %d, want 304", p, etag, resp.StatusCode)
		}
	}
}

func TestAvatars(t *testing.T) {
	s := newServer(t, Options{})
	c := client(s)
	fanByNick := func(n string) Fan {
		for _, f := range Roster {
			if f.Nickname == n {
				return f
			}
		}
		t.Fatalf("no fan %s", n)
		return Fan{}
	}
	tests := []struct {
		name, url, want string
	}{
		{"page form", fanByNick("林小满").AvatarPage(), ">林<"},
		{"json form", fanByNick("林小满").AvatarJSON(), ">林<"},
		{"thirdwx mmopen", fanByNick("🌸小桃子").AvatarPage(), ">小<"},
		{"thirdwx alias of wx", strings.Replace(fanByNick("王建国").AvatarPage(), "//wx.", "//thirdwx.", 1), ">王<"},
		{"default avatar", fanByNick("周周").AvatarPage(), "<circle"},
		{"unknown id", "https://wx.qlogo.cn/mmhead/abcdef/0", ">A<"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := strings.Replace(tt.url, "http://", "https://", 1)
			resp, body := fetch(t, c, http.MethodGet, u, nil, nil)
			if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "image/svg+xml" {
				t.Fatalf("GET %s = %s %s", u, resp.Status, resp.Header.Get("Content-Type"))
			}
			if !strings.Contains(string(body), tt.want) {
				t.Errorf("GET %s = %s, want it to contain %s", u, body, tt.want)
			}
		})
	}
	resp, _ := fetch(t, c, http.MethodGet, "https://wx.qlogo.cn/", nil, nil)
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET wx.qlogo.cn/ = %d, want 404", resp.StatusCode)
	}
}

func TestRosterAvatarForms(t *testing.T) {
	tests := []struct {
		fan            Fan
		wantJSON, page string
	}{
		{Fan{AvatarID: "abc"}, "http://wx.qlogo.cn/mmhead/abc", "https://wx.qlogo.cn/mmhead/abc/132"},
		{Fan{AvatarID: "abc", AvatarHost: "thirdwx.qlogo.cn", AvatarPath: "mmopen/vi_32/abc"}, "http://thirdwx.qlogo.cn/mmopen/vi_32/abc", "https://thirdwx.qlogo.cn/mmopen/vi_32/abc/132"},
		{Fan{}, "", ""},
	}
	for _, tt := range tests {
		if got := tt.fan.AvatarJSON(); got != tt.wantJSON {
			t.Errorf("%+v.AvatarJSON() = %q, want %q", tt.fan, got, tt.wantJSON)
		}
		if got := tt.fan.AvatarPage(); got != tt.page {
			t.Errorf("%+v.AvatarPage() = %q, want %q", tt.fan, got, tt.page)
		}
	}
}
