package mpkftest

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"html/template"
	"net/http"
	"path"
	"strings"
)

//go:embed assets
var assetFS embed.FS

// staticPrefix is where the page's script and style are served, under
// content-hashed names, like the real console's /mpres/ resources.
const staticPrefix = "/mpres/htmledition/"

// asset is a static file served with a long cache life and an ETag.
type asset struct {
	body  []byte
	ctype string
	etag  string
}

// assetSet holds the parsed templates and the static files by URL path.
type assetSet struct {
	page, login, control *template.Template
	static               map[string]*asset
	// js and css are the URL paths of the page's script and style.
	js, css string
}

// reactIDsLine is the line of kfindex.js that turns data-reactid on;
// loadAssets serves a copy with it off for Options.NoReactID. Changing the
// script, not the page's data, keeps MCS.cgiData what the real console
// sends and gives the sidebar nothing new to notice.
const reactIDsLine = "const REACT_IDS = true;"

// loadAssets reads the embedded assets; with noReactID the page's script
// renders no data-reactid attributes.
func loadAssets(noReactID bool) (*assetSet, error) {
	a := &assetSet{static: map[string]*asset{}}
	var err error
	for name, t := range map[string]**template.Template{
		"kfindex.html": &a.page, "kfloginpage.html": &a.login, "control.html": &a.control,
	} {
		if *t, err = template.ParseFS(assetFS, "assets/"+name); err != nil {
			return nil, fmt.Errorf("load assets: %w", err)
		}
	}
	add := func(name, ctype string, body []byte, hashed bool) string {
		sum := sha256.Sum256(body)
		tag := hex.EncodeToString(sum[:])[:10]
		p := staticPrefix + name
		if hashed {
			ext := path.Ext(name)
			p = staticPrefix + strings.TrimSuffix(name, ext) + "." + tag + ext
		}
		a.static[p] = &asset{body: body, ctype: ctype, etag: `"` + tag + `"`}
		return p
	}
	for _, f := range []struct{ name, ctype string }{
		{"kfindex.js", "application/javascript; charset=utf-8"},
		{"kfindex.css", "text/css; charset=utf-8"},
	} {
		body, err := assetFS.ReadFile("assets/" + f.name)
		if err != nil {
			return nil, fmt.Errorf("load assets: %w", err)
		}
		if f.name == "kfindex.js" {
			if n := bytes.Count(body, []byte(reactIDsLine)); n != 1 {
				return nil, fmt.Errorf("load assets: kfindex.js has %q %d times, want once", reactIDsLine, n)
			}
			if noReactID {
				body = bytes.Replace(body, []byte(reactIDsLine), []byte("const REACT_IDS = false;"), 1)
			}
		}
		p := add(f.name, f.ctype, body, true)
		if path.Ext(f.name) == ".js" {
			a.js = p
		} else {
			a.css = p
		}
	}
	add("images/avatar_default.svg", "image/svg+xml", []byte(defaultAvatarSVG), false)
	add("images/favicon.svg", "image/svg+xml", []byte(faviconSVG), false)
	return a, nil
}

// noAvatar is the image the page shows for a fan without an avatar.
const noAvatar = staticPrefix + "images/avatar_default.svg"

// favicon is the console's icon, also served at /favicon.ico.
const favicon = staticPrefix + "images/favicon.svg"

// faviconSVG is a green circle with two speech bubbles, like the header's
// logo.
const faviconSVG = `<svg xmlns="http://www.w3.org/2000/svg" width="32" height="32" viewBox="0 0 32 32">` +
	`<circle cx="16" cy="16" r="16" fill="#07c160"/>` +
	`<ellipse cx="13" cy="14" rx="7" ry="6" fill="#fff"/>` +
	`<ellipse cx="20" cy="19" rx="6" ry="5" fill="#fff" stroke="#07c160" stroke-width="1.5"/></svg>`

// static serves the page's resources with a year-long Cache-Control: their
// names change with their content.
func (s *Server) static(w http.ResponseWriter, r *http.Request) {
	a, ok := s.assets.static[r.URL.Path]
	if !ok {
		http.NotFound(w, r)
		return
	}
	h := w.Header()
	h.Set("Cache-Control", "public, max-age=31536000")
	h.Set("ETag", a.etag)
	if etagMatch(r.Header.Get("If-None-Match"), a.etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	s.reply(w, r, http.StatusOK, a.ctype, a.body)
}

// etagMatch reports whether an If-None-Match header names etag, with or
// without the "-<coding>" suffix reply adds to compressed variants.
func etagMatch(header, etag string) bool {
	base := strings.Trim(etag, `"`)
	for t := range strings.SplitSeq(header, ",") {
		t = strings.Trim(strings.TrimPrefix(strings.TrimSpace(t), "W/"), `"`)
		if t == "*" || t == base || strings.HasPrefix(t, base+"-") {
			return true
		}
	}
	return false
}
