package inject

import (
	"bytes"
	"net/url"
	"slices"
	"strings"

	"golang.org/x/net/html"

	"github.com/kfsidebar/kfsidebar/proxy/console"
)

// Injection describes the one change made to a console HTML document.
type Injection struct {
	// ScriptSrc is the sidebar script's URL, e.g.
	// "/__kfsidebar/sidebar.js?v=1&t=TOKEN". It is written HTML-escaped.
	ScriptSrc string
	// Nonce is random per response. It goes on the script tag and, when a
	// CSP needs one ('strict-dynamic'), into the CSP.
	Nonce string
	// ConsoleHost is the console's host (with a port if not 443), e.g.
	// "mpkf.weixin.qq.com", for CSP host sources and the websocket.
	ConsoleHost string
}

// LooksLikeHTML sniffs a decoded body: after an optional BOM and
// whitespace it starts with '<'. The console sends JSON labelled text/html
// too, and a JSON body must never get a script tag.
func LooksLikeHTML(body []byte) bool {
	body = bytes.TrimLeft(bytes.TrimPrefix(body, utf8BOM), " \t\r\n\f")
	return len(body) > 0 && body[0] == '<'
}

// HTML inserts the sidebar's <script src nonce defer> tag into a
// decoded HTML document, where a browser will run it whatever the page
// looks like: before the first real </head> (not one in a comment, a
// script or a string), else right after <body…>, else after <html…>, else
// after a leading doctype, else at the start. The document is tokenized
// the way a browser does, so look-alikes are never mistaken for tags.
//
// A document that already holds the sidebar script is returned unchanged
// with changed false, so a page never gets two. Every
// <meta http-equiv="Content-Security-Policy"> is patched with PatchCSP,
// since such a policy would otherwise block the script. If the page sets a
// <base href>, a root-relative ScriptSrc is made absolute on ConsoleHost so
// that it still loads from the console origin.
func HTML(doc []byte, inj Injection) (out []byte, changed bool) {
	var (
		offset, at          int
		headEnd, bodyOpen   = -1, -1
		htmlOpen, doctype   = -1, -1
		sawElement, hasBase bool
		edits               []edit
	)
	z := html.NewTokenizer(bytes.NewReader(doc))
tokens:
	for tt := z.Next(); tt != html.ErrorToken; tt = z.Next() {
		raw := z.Raw()
		pos := offset
		offset += len(raw)
		// A token cut off by the end of the document would swallow
		// whatever is inserted after it.
		complete := len(raw) > 0 && raw[len(raw)-1] == '>'
		switch tt {
		case html.DoctypeToken:
			if doctype < 0 && !sawElement && complete {
				doctype = offset
			}
		case html.StartTagToken, html.SelfClosingTagToken:
			sawElement = true
			name, _ := z.TagName()
			switch string(name) {
			case "html":
				if htmlOpen < 0 && complete {
					htmlOpen = offset
				}
			case "body":
				if bodyOpen < 0 && complete {
					bodyOpen = offset
				}
			case "base":
				if _, _, ok := findAttr(raw, "href"); ok {
					hasBase = true
				}
			case "script":
				if src, _, ok := findAttr(raw, "src"); ok && isSidebarScript(html.UnescapeString(string(src)), inj) {
					return doc, false
				}
			case "meta":
				if e, ok := patchMetaCSP(raw, inj); ok {
					e.start += pos
					e.end += pos
					edits = append(edits, e)
				}
			}
		case html.EndTagToken:
			if name, _ := z.TagName(); string(name) == "head" && headEnd < 0 {
				headEnd = pos
				if !mayMatterAfterHead(doc[offset:]) {
					break tokens // the rest cannot change the outcome: spare tokenizing the body
				}
			}
		}
	}
	switch {
	case headEnd >= 0:
		at = headEnd
	case bodyOpen >= 0:
		at = bodyOpen
	case htmlOpen >= 0:
		at = htmlOpen
	case doctype >= 0:
		at = doctype
	case bytes.HasPrefix(doc, utf8BOM):
		at = len(utf8BOM)
	}
	edits = append(edits, edit{start: at, end: at, text: scriptTag(inj, hasBase)})
	slices.SortStableFunc(edits, func(a, b edit) int { return a.start - b.start })
	return applyEdits(doc, edits), true
}

// edit replaces doc[start:end] with text.
// mayMatterAfterHead reports whether the part of a document after its
// </head> could hold a tag HTML acts on there: a <base> or <meta>
// (browsers honour a <base> anywhere, though it belongs in the head) or
// the sidebar script. A console page has none of them in its body, so its
// body, most of the page, is not tokenized; where in doubt, it is.
func mayMatterAfterHead(rest []byte) bool {
	if bytes.Contains(rest, []byte("sidebar.js")) {
		return true
	}
	for i := bytes.IndexByte(rest, '<'); i >= 0; {
		tag := rest[i+1:]
		if len(tag) >= 4 && (bytes.EqualFold(tag[:4], []byte("base")) || bytes.EqualFold(tag[:4], []byte("meta"))) {
			return true
		}
		j := bytes.IndexByte(tag, '<')
		if j < 0 {
			break
		}
		i += 1 + j
	}
	return false
}

type edit struct {
	start, end int
	text       string
}

func applyEdits(doc []byte, edits []edit) []byte {
	n := len(doc)
	for _, e := range edits {
		n += len(e.text) - (e.end - e.start)
	}
	out := make([]byte, 0, n)
	last := 0
	for _, e := range edits {
		out = append(out, doc[last:e.start]...)
		out = append(out, e.text...)
		last = e.end
	}
	return append(out, doc[last:]...)
}

// attrEscaper escapes a value for a double-quoted attribute; it leaves
// CSP's single quotes readable.
var attrEscaper = strings.NewReplacer("&", "&amp;", `"`, "&quot;")

func scriptTag(inj Injection, hasBase bool) string {
	src := inj.ScriptSrc
	if hasBase && inj.ConsoleHost != "" && strings.HasPrefix(src, "/") && !strings.HasPrefix(src, "//") {
		src = "https://" + inj.ConsoleHost + src
	}
	var b strings.Builder
	b.WriteString(`<script src="`)
	b.WriteString(attrEscaper.Replace(src))
	if inj.Nonce != "" {
		b.WriteString(`" nonce="`)
		b.WriteString(attrEscaper.Replace(inj.Nonce))
	}
	b.WriteString(`" defer></script>`)
	return b.String()
}

// isSidebarScript reports whether a script src is the sidebar's, whether
// kfsidebar wrote it root-relative or absolute.
func isSidebarScript(src string, inj Injection) bool {
	src = strings.TrimSpace(src)
	if src == "" {
		return false
	}
	if src == inj.ScriptSrc {
		return true
	}
	u, err := url.Parse(src)
	return err == nil && strings.HasPrefix(u.Path, console.ReservedPrefix+"sidebar.js")
}

// patchMetaCSP returns the edit, relative to the tag, that patches a
// <meta http-equiv="Content-Security-Policy" content="…"> tag's policy.
func patchMetaCSP(tag []byte, inj Injection) (edit, bool) {
	equiv, _, ok := findAttr(tag, "http-equiv")
	if !ok || !strings.EqualFold(strings.TrimSpace(html.UnescapeString(string(equiv))), "content-security-policy") {
		return edit{}, false
	}
	content, sp, ok := findAttr(tag, "content")
	if !ok {
		return edit{}, false
	}
	patched, changed := PatchCSP(html.UnescapeString(string(content)), inj)
	if !changed {
		return edit{}, false
	}
	return edit{start: sp.start, end: sp.end, text: `"` + attrEscaper.Replace(patched) + `"`}, true
}

// span is the byte range [start, end).
type span struct{ start, end int }

// utf8BOM starts a document saved with a byte order mark.
var utf8BOM = []byte("\xEF\xBB\xBF")

// findAttr finds the first attribute called name (ASCII case-insensitive)
// in a raw start tag, as the HTML tokenizer reads attributes. It returns the
// raw value and the span of the value including its quotes.
func findAttr(tag []byte, name string) (value []byte, sp span, ok bool) {
	i := 1
	for i < len(tag) && !isHTMLSpace(tag[i]) && tag[i] != '/' && tag[i] != '>' {
		i++ // the tag name
	}
	for i < len(tag) {
		for i < len(tag) && (isHTMLSpace(tag[i]) || tag[i] == '/') {
			i++
		}
		if i >= len(tag) || tag[i] == '>' {
			break
		}
		keyStart := i
		for i++; i < len(tag) && !isHTMLSpace(tag[i]) && tag[i] != '/' && tag[i] != '>' && tag[i] != '='; i++ {
		}
		key := tag[keyStart:i]
		for i < len(tag) && isHTMLSpace(tag[i]) {
			i++
		}
		var val []byte
		vs := span{i, i}
		if i < len(tag) && tag[i] == '=' {
			i++
			for i < len(tag) && isHTMLSpace(tag[i]) {
				i++
			}
			vs.start = i
			if i < len(tag) && (tag[i] == '"' || tag[i] == '\'') {
				q := tag[i]
				end := bytes.IndexByte(tag[i+1:], q)
				if end < 0 {
					break // unterminated: the tag is cut off
				}
				val = tag[i+1 : i+1+end]
				i += end + 2
			} else {
				for i < len(tag) && !isHTMLSpace(tag[i]) && tag[i] != '>' {
					i++
				}
				val = tag[vs.start:i]
			}
			vs.end = i
		}
		if strings.EqualFold(string(key), name) {
			return val, vs, true
		}
	}
	return nil, span{}, false
}

func isHTMLSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r'
}
