package inject

import (
	"strings"
	"testing"
)

var testInjection = Injection{
	ScriptSrc:   "/__kfsidebar/sidebar.js?v=1&t=TOKEN",
	Nonce:       "bm9uY2Ux",
	ConsoleHost: "mpkf.weixin.qq.com",
}

func TestPatchCSP(t *testing.T) {
	const (
		S = "https://mpkf.weixin.qq.com/__kfsidebar/"
		W = "wss://mpkf.weixin.qq.com/__kfsidebar/ws"
		N = "'nonce-bm9uY2Ux'"
	)
	same := "" // want: unchanged
	tests := []struct {
		name, in, want string
		inj            *Injection
	}{
		{"empty", "", same, nil},
		{"no relevant directive", "img-src 'self'; frame-ancestors 'none'; sandbox allow-scripts", same, nil},
		{"script-src self only", "script-src 'self'", same, nil},
		{"script-src self, connect-src self", "script-src 'self'; connect-src 'self'", "script-src 'self'; connect-src 'self' " + W, nil},
		{"default-src self", "default-src 'self'", "default-src 'self'; connect-src 'self' " + W, nil},
		{"default-src self trailing semicolon", "default-src 'self';", "default-src 'self'; connect-src 'self' " + W, nil},
		{"default-src only", "default-src https://res.wx.qq.com data:; img-src *",
			"default-src https://res.wx.qq.com data:; img-src *; script-src https://res.wx.qq.com data: " + S + "; connect-src https://res.wx.qq.com data: " + W, nil},
		{"default-src none", "default-src 'none'; style-src 'unsafe-inline'",
			"default-src 'none'; style-src 'unsafe-inline'; script-src " + S + "; connect-src " + W, nil},
		{"script-src host list", "script-src https://res.wx.qq.com https://mpkf.weixin.qq.com/static/; object-src 'none'",
			"script-src https://res.wx.qq.com https://mpkf.weixin.qq.com/static/ " + S + "; object-src 'none'", nil},
		{"host source allows", "script-src https://mpkf.weixin.qq.com", same, nil},
		{"scheme-less host allows", "script-src MPKF.weixin.qq.com", same, nil},
		{"wildcard host allows", "script-src *.weixin.qq.com", same, nil},
		{"wildcard needs a subdomain", "script-src *.mpkf.weixin.qq.com", "script-src *.mpkf.weixin.qq.com " + S, nil},
		{"explicit port 443 allows", "script-src https://mpkf.weixin.qq.com:443", same, nil},
		{"any port allows", "script-src https://mpkf.weixin.qq.com:*", same, nil},
		{"other port", "script-src https://mpkf.weixin.qq.com:8443", "script-src https://mpkf.weixin.qq.com:8443 " + S, nil},
		{"http scheme not relied on", "script-src http://mpkf.weixin.qq.com", "script-src http://mpkf.weixin.qq.com " + S, nil},
		{"exact file allows", "script-src https://mpkf.weixin.qq.com/__kfsidebar/sidebar.js", same, nil},
		{"directory allows", "script-src https://mpkf.weixin.qq.com/__kfsidebar/", same, nil},
		{"other file", "script-src https://mpkf.weixin.qq.com/cgi-bin/app.js", "script-src https://mpkf.weixin.qq.com/cgi-bin/app.js " + S, nil},
		{"https scheme allows", "script-src https:", same, nil},
		{"star allows", "script-src *", same, nil},
		{"strict-dynamic gets nonce", "script-src 'nonce-abc' 'strict-dynamic' https: 'unsafe-inline'",
			"script-src 'nonce-abc' 'strict-dynamic' https: 'unsafe-inline' " + N, nil},
		{"strict-dynamic with our nonce", "script-src 'strict-dynamic' " + N, same, nil},
		{"strict-dynamic keyword case", "script-src 'strict-dynamic' 'NONCE-bm9uY2Ux'", same, nil},
		{"strict-dynamic nonce case differs", "script-src 'strict-dynamic' 'nonce-BM9UY2UX'", "script-src 'strict-dynamic' 'nonce-BM9UY2UX' " + N, nil},
		{"strict-dynamic without a nonce to give", "script-src 'strict-dynamic' 'nonce-abc'", same,
			&Injection{ConsoleHost: "mpkf.weixin.qq.com"}},
		{"strict-dynamic invalid nonce", "script-src 'strict-dynamic' 'nonce-abc'", same,
			&Injection{ConsoleHost: "mpkf.weixin.qq.com", Nonce: "a' 'unsafe-inline"}},
		{"strict-dynamic in default-src", "default-src 'strict-dynamic' 'nonce-abc'",
			"default-src 'strict-dynamic' 'nonce-abc'; script-src 'strict-dynamic' 'nonce-abc' " + N + "; connect-src 'strict-dynamic' 'nonce-abc' " + W, nil},
		{"unsafe-inline gets no nonce", "script-src 'unsafe-inline' https://res.wx.qq.com",
			"script-src 'unsafe-inline' https://res.wx.qq.com " + S, nil},
		{"none replaced", "script-src 'none'; connect-src 'NONE'", "script-src " + S + "; connect-src " + W, nil},
		{"connect-src self", "connect-src 'self'", "connect-src 'self' " + W, nil},
		{"connect-src star", "connect-src *", "connect-src * " + W, nil},
		{"connect-src wss scheme", "connect-src wss:", same, nil},
		{"connect-src wss host", "connect-src wss://mpkf.weixin.qq.com", same, nil},
		{"connect-src wss dir", "connect-src wss://mpkf.weixin.qq.com/__kfsidebar/", same, nil},
		{"connect-src wss other path", "connect-src wss://mpkf.weixin.qq.com/other", "connect-src wss://mpkf.weixin.qq.com/other " + W, nil},
		{"connect-src https host", "connect-src https://mpkf.weixin.qq.com", "connect-src https://mpkf.weixin.qq.com " + W, nil},
		{"multiple policies", "script-src 'self', default-src 'none', img-src *",
			"script-src 'self', default-src 'none'; script-src " + S + "; connect-src " + W + ", img-src *", nil},
		{"odd spacing and case", "  SCRIPT-SRC\t'SELF'  ;CONNECT-SRC   'Self'  ;  img-src  x  ",
			"  SCRIPT-SRC\t'SELF'  ;CONNECT-SRC   'Self' " + W + "  ;  img-src  x  ", nil},
		{"new directive keeps trailing space", "default-src 'none' ; ",
			"default-src 'none' ; script-src " + S + "; connect-src " + W + " ", nil},
		{"script-src-elem and script-src", "script-src-elem https://res.wx.qq.com; script-src 'self'",
			"script-src-elem https://res.wx.qq.com " + S + "; script-src 'self'", nil},
		{"script-src-elem and script-src both need it", "script-src-elem https://a.example; script-src https://b.example",
			"script-src-elem https://a.example " + S + "; script-src https://b.example " + S, nil},
		{"script-src-elem and default-src", "script-src-elem 'self'; default-src 'none'",
			"script-src-elem 'self'; default-src 'none'; script-src " + S + "; connect-src " + W, nil},
		{"first duplicate wins", "script-src 'self'; script-src 'none'", same, nil},
		{"console on a port", "script-src 'none'; connect-src 'self'",
			"script-src https://127.0.0.1:8443/__kfsidebar/; connect-src 'self' wss://127.0.0.1:8443/__kfsidebar/ws",
			&Injection{ConsoleHost: "127.0.0.1:8443"}},
		{"console host with a default port", "script-src https://mpkf.weixin.qq.com", same,
			&Injection{ConsoleHost: "mpkf.weixin.qq.com:443"}},
		{"ipv6 console", "script-src 'none'", "script-src https://[::1]:8443/__kfsidebar/", &Injection{ConsoleHost: "[::1]:8443"}},
		{"console host injection refused", "script-src 'none'", same, &Injection{ConsoleHost: "x.com; script-src *"}},
		{"empty console host", "script-src 'none'", same, &Injection{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inj := testInjection
			if tt.inj != nil {
				inj = *tt.inj
			}
			want, wantChanged := tt.want, true
			if want == same {
				want, wantChanged = tt.in, false
			}
			got, changed := PatchCSP(tt.in, inj)
			if got != want || changed != wantChanged {
				t.Errorf("PatchCSP(%q)\n got %q, %v\nwant %q, %v", tt.in, got, changed, want, wantChanged)
			}
			if again, changed := PatchCSP(got, inj); again != got || changed {
				t.Errorf("PatchCSP is not idempotent: %q -> %q", got, again)
			}
		})
	}
}

// TestPatchCSPKeepsOtherDirectives checks that every directive PatchCSP has
// no reason to touch is still there byte for byte.
func TestPatchCSPKeepsOtherDirectives(t *testing.T) {
	in := "default-src 'self' https://res.wx.qq.com; img-src * data: blob:;  style-src 'self' 'unsafe-inline' ;" +
		"frame-ancestors 'none'; report-uri /csp;upgrade-insecure-requests; script-src 'self' 'unsafe-eval' https://res.wx.qq.com"
	got, changed := PatchCSP(in, testInjection)
	if !changed {
		t.Fatal("not changed")
	}
	for _, d := range strings.Split(in, ";") {
		if strings.Contains(d, "connect-src") {
			continue
		}
		if !strings.Contains(got, d) {
			t.Errorf("directive %q changed:\n%s", d, got)
		}
	}
}

func FuzzPatchCSP(f *testing.F) {
	f.Add("default-src 'self'; script-src 'strict-dynamic' 'nonce-x'; connect-src 'none', img-src *")
	f.Fuzz(func(t *testing.T, policy string) {
		got, changed := PatchCSP(policy, testInjection)
		if !changed && got != policy {
			t.Fatalf("changed = false but %q -> %q", policy, got)
		}
		if again, changed := PatchCSP(got, testInjection); changed || again != got {
			t.Fatalf("not idempotent: %q -> %q -> %q", policy, got, again)
		}
		inParts, outParts := strings.Split(policy, ","), strings.Split(got, ",")
		if len(inParts) != len(outParts) {
			t.Fatalf("policy count changed: %q -> %q", policy, got)
		}
		for i, part := range inParts {
			for _, d := range strings.Split(part, ";") {
				f := strings.FieldsFunc(d, isCSPSpace)
				if len(f) > 0 && strings.Contains(",script-src,script-src-elem,connect-src,", ","+strings.ToLower(f[0])+",") {
					continue
				}
				// Whitespace after the last directive may move behind
				// the added ones; the directive itself must not change.
				if !strings.Contains(outParts[i], strings.Trim(d, cspSpace)) {
					t.Errorf("directive %q lost: %q -> %q", d, policy, got)
				}
			}
		}
	})
}
