package admin

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func post(t *testing.T, h http.Handler, path string, header http.Header) int {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, "http://"+adminAddr+path, nil)
	req.Host = adminAddr
	for k, v := range header {
		req.Header[k] = v
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w.Code
}

// TestPause: POST /pause turns the PAC into one that sends the console
// DIRECT (or to the office proxy), status.json and the page say so, the
// hub hears of it once per change, and /resume undoes it. No web page can
// send the control requests.
func TestPause(t *testing.T) {
	sw := &Switch{}
	var heard []bool
	sw.OnChange(func(p bool) { heard = append(heard, p) })
	h := newTestAdmin(t, Options{Pause: sw, PID: 4242})
	pac := func() string { return serve(t, h, adminAddr, "/proxy.pac").Body.String() }
	status := func() Status {
		var st Status
		if err := json.Unmarshal(serve(t, h, adminAddr, "/status.json").Body.Bytes(), &st); err != nil {
			t.Fatal(err)
		}
		return st
	}
	if !strings.Contains(pac(), `if (host == "mpkf.weixin.qq.com") return "PROXY 127.0.0.1:8787; DIRECT"`) || status().Paused || status().PID != 4242 {
		t.Fatalf("before pause: %s %+v", pac(), status())
	}
	ok := http.Header{ControlHeader: {"1"}}
	for _, tt := range []struct {
		name   string
		header http.Header
	}{
		{"no header: a form", nil},
		{"a page's fetch", http.Header{ControlHeader: {"1"}, "Origin": {"https://evil.example"}}},
		{"a same-origin page", http.Header{ControlHeader: {"1"}, "Sec-Fetch-Site": {"same-origin"}}},
	} {
		if code := post(t, h, "/pause", tt.header); code != http.StatusForbidden {
			t.Errorf("%s: %d, want 403", tt.name, code)
		}
	}
	if sw.On() {
		t.Fatal("paused by a refused request")
	}
	for range 2 {
		if code := post(t, h, "/pause", ok); code != http.StatusNoContent {
			t.Fatalf("pause: %d", code)
		}
	}
	got := pac()
	if strings.Contains(got, "mpkf") || !strings.Contains(got, `return "DIRECT";`) || !strings.Contains(got, "paused") {
		t.Fatalf("paused PAC:\n%s", got)
	}
	if !status().Paused || !strings.Contains(serve(t, h, adminAddr, "/").Body.String(), `id="paused-alert"`) {
		t.Fatal("status does not say paused")
	}
	if code := post(t, h, "/resume", ok); code != http.StatusNoContent || sw.On() || strings.Contains(pac(), "paused") {
		t.Fatalf("resume: %d, paused %v", code, sw.On())
	}
	if len(heard) != 2 || !heard[0] || heard[1] {
		t.Fatalf("changes heard %v, want [true false]", heard)
	}
	if code := post(t, newTestAdmin(t, Options{}), "/pause", ok); code != http.StatusNotFound && code != http.StatusMethodNotAllowed {
		t.Fatalf("without a switch: %d", code)
	}
}

func TestPausedPACKeepsTheOfficeProxy(t *testing.T) {
	got := PausedPAC(adminAddr, mustURL(t, "http://corp:3128"), []string{"<local>"})
	for _, want := range []string{`return "PROXY 127.0.0.1:8787"`, `isPlainHostName(host)) return "DIRECT"`, `return "PROXY corp:3128";`} {
		if !strings.Contains(got, want) {
			t.Errorf("paused PAC lacks %s:\n%s", want, got)
		}
	}
}
