package sidebar

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

func TestServeScript(t *testing.T) {
	th := newTestHub(t, HubOptions{Resolver: standardResolver(), Backend: standardBackend()})
	get := func(method, path string, header http.Header) (*http.Response, string) {
		t.Helper()
		req, err := http.NewRequest(method, th.srv.URL+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range header {
			req.Header[k] = v
		}
		resp, err := th.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp, string(body)
	}

	resp, body := get("GET", "/__kfsidebar/sidebar.js", nil)
	etag := resp.Header.Get("ETag")
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(etag, `"`) || len(etag) < 10 {
		t.Fatalf("GET sidebar.js: %d, ETag %q; want 200 and a strong ETag", resp.StatusCode, etag)
	}
	for h, want := range map[string]string{
		"Cache-Control":          "no-cache",
		"Content-Type":           "text/javascript; charset=utf-8",
		"X-Content-Type-Options": "nosniff",
	} {
		if got := resp.Header.Get(h); got != want {
			t.Errorf("%s = %q, want %q", h, got, want)
		}
	}
	if !strings.Contains(body, "customElements.define") || !strings.Contains(body, "--accent: #07c160") ||
		strings.Contains(body, cssPlaceholder) {
		t.Error("sidebar.js does not carry the element with its stylesheet")
	}
	if strings.Contains(body, testToken) {
		t.Error("sidebar.js contains the token; it must read it from its URL")
	}

	tests := []struct {
		method, path string
		header       http.Header
		want         int
	}{
		{"GET", "/__kfsidebar/sidebar.js?t=" + testToken, http.Header{"If-None-Match": {etag}}, http.StatusNotModified},
		{"GET", "/__kfsidebar/sidebar.js", http.Header{"If-None-Match": {`"other", ` + etag}}, http.StatusNotModified},
		{"GET", "/__kfsidebar/sidebar.js", http.Header{"If-None-Match": {`"other"`}}, http.StatusOK},
		{"HEAD", "/__kfsidebar/sidebar.js", nil, http.StatusOK},
		{"POST", "/__kfsidebar/sidebar.js", nil, http.StatusMethodNotAllowed},
		{"GET", "/__kfsidebar/sidebar.css", nil, http.StatusNotFound},
		{"GET", "/__kfsidebar/", nil, http.StatusNotFound},
		{"GET", "/__kfsidebar/assets/sidebar.js", nil, http.StatusNotFound},
		{"GET", "/sidebar.js", nil, http.StatusNotFound},
		{"GET", "/__kfsidebar/ws", nil, http.StatusForbidden},
	}
	for _, tt := range tests {
		resp, _ := get(tt.method, tt.path, tt.header)
		if resp.StatusCode != tt.want {
			t.Errorf("%s %s %v: %d, want %d", tt.method, tt.path, tt.header, resp.StatusCode, tt.want)
		}
	}
}

func TestBuildScript(t *testing.T) {
	tests := []struct {
		name, js, css string
		want          string // "" means an error
	}{
		{"embeds", `const CSS = "/*kfsidebar:css*/";`, `a{color:red}`, `const CSS = "a{color:red}";`},
		{"escapes", `x("/*kfsidebar:css*/")`, "</style>\u2028\"q\"", `x("\u003c/style\u003e\u2028\"q\"")`},
		{"no placeholder", `const CSS = "";`, `a{}`, ""},
		{"two placeholders", `"/*kfsidebar:css*/" + "/*kfsidebar:css*/"`, `a{}`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := buildScript([]byte(tt.js), []byte(tt.css))
			if tt.want == "" {
				if err == nil {
					t.Fatalf("buildScript = %q, want an error", s.body)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := string(s.body); got != tt.want {
				t.Errorf("got %s\nwant %s", got, tt.want)
			}
		})
	}
}
