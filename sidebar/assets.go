package sidebar

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"time"
)

//go:embed assets/sidebar.js assets/sidebar.css
var assets embed.FS

// cssPlaceholder is the string literal in sidebar.js that is replaced by
// the stylesheet, so the page needs one request only and the styles go in
// through a constructable stylesheet, which the page's CSP style-src does
// not govern.
const cssPlaceholder = `"/*kfsidebar:css*/"`

// script is the served sidebar.js with its strong validator.
type script struct {
	body []byte
	etag string
}

// sidebarScript is built once: the assets are part of the binary.
var sidebarScript = mustBuildScript()

func mustBuildScript() script {
	js, err := assets.ReadFile("assets/sidebar.js")
	if err != nil {
		panic(err)
	}
	css, err := assets.ReadFile("assets/sidebar.css")
	if err != nil {
		panic(err)
	}
	s, err := buildScript(js, css)
	if err != nil {
		panic(err)
	}
	return s
}

// buildScript puts css into js as a JSON string (JSON escapes <, > and
// the line separators, so the result is a valid JS string literal).
func buildScript(js, css []byte) (script, error) {
	if n := bytes.Count(js, []byte(cssPlaceholder)); n != 1 {
		return script{}, fmt.Errorf("build sidebar.js: %d css placeholders, want 1", n)
	}
	lit, err := json.Marshal(string(css))
	if err != nil {
		return script{}, fmt.Errorf("build sidebar.js: %w", err)
	}
	body := bytes.Replace(js, []byte(cssPlaceholder), lit, 1)
	sum := sha256.Sum256(body)
	return script{body: body, etag: `"` + hex.EncodeToString(sum[:16]) + `"`}, nil
}

// serveScript serves sidebar.js. no-cache with a strong ETag: the browser
// revalidates on every page load (a 304 costs nothing) and never runs a
// script older than the proxy it talks to.
func serveScript(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/javascript; charset=utf-8")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("ETag", sidebarScript.etag)
	http.ServeContent(w, r, "sidebar.js", time.Time{}, bytes.NewReader(sidebarScript.body))
}
