package scan

import (
	"bytes"
	"slices"
	"strings"
	"time"

	"golang.org/x/net/html"

	"github.com/kfsidebar/kfsidebar/proxy/console"
)

// Page learns the chats already open when the console page loads. The
// console has carried them in an inline script, as a JavaScript object
// literal (MCS.cgiData = {…, sessions: {kfsession_and_msgsummary: […]}}), so
// the page is read the way a browser would: inline <script> bodies, their
// balanced {…} object literals converted to JSON (unquoted keys, single
// quotes, trailing commas, comments, expressions as null) and walked like
// JSON does. Only scripts mentioning fans_openid cost more than a scan.
// Garbage never errors: the result is whatever could be found.
func Page(page []byte, now time.Time) []console.Record {
	if !bytes.Contains(page, fansOpenIDKey) {
		return nil
	}
	c := getCollector()
	defer putCollector(c)
	c.budget = 8*len(page) + 1<<20
	z := html.NewTokenizer(bytes.NewReader(page))
	// No script after the last "fans_openid" can hold a chat: the tokenizer
	// stops there rather than walking the rest of the page.
	last := bytes.LastIndex(page, fansOpenIDKey)
	offset := 0
	inlineScript := false
	for offset <= last {
		tt := z.Next()
		raw := z.Raw()
		offset += len(raw)
		switch tt {
		case html.ErrorToken:
			return c.result(console.SourcePage, now)
		case html.StartTagToken, html.SelfClosingTagToken:
			// Browsers ignore the self-closing flag on <script/>, and so
			// does the tokenizer: the body that follows is still script.
			name, hasAttr := z.TagName()
			inlineScript = string(name) == "script" && !hasSrc(z, hasAttr)
		case html.TextToken:
			if inlineScript {
				c.scanScript(raw, 0)
			}
			inlineScript = false
		default:
			inlineScript = false
		}
	}
	return c.result(console.SourcePage, now)
}

// hasSrc reports whether the current start tag has a src attribute.
func hasSrc(z *html.Tokenizer, more bool) bool {
	for more {
		var key []byte
		key, _, more = z.TagAttr()
		if string(key) == "src" {
			return true
		}
	}
	return false
}

// maxStringDepth bounds how many levels of JSON-in-a-string
// (JSON.parse('{…}')) a script is searched through.
const maxStringDepth = 2

// scanScript finds object literals holding fans_openid in one script body.
// Outermost literals are tried first; when one cannot be converted without
// losing a part that mentions fans_openid, the literals inside it are tried
// instead. The bytes converted are counted against c.budget, which keeps
// the work linear in the page whatever its nesting.
func (c *collector) scanScript(js []byte, level int) {
	if !bytes.Contains(js, fansOpenIDKey) {
		return
	}
	lx := lexScript(js, level < maxStringDepth)
	covered := 0
	for _, b := range lx.objects {
		if b.start < covered || b.end < 0 {
			continue
		}
		if !lx.mentions(b.start, b.end) {
			covered = b.end
			continue
		}
		if c.budget -= b.end - b.start; c.budget < 0 {
			return
		}
		out, ok := convertObject(js, b.start, b.end, lx)
		if !ok || !c.scanDoc(out) {
			continue
		}
		covered = b.end
	}
	for _, s := range lx.strings {
		if c.budget -= s.end - s.start; c.budget < 0 {
			return
		}
		if text, ok := jsStringValue(js[s.start:s.end]); ok && strings.Contains(text, "{") {
			c.scanScript([]byte(text), level+1)
		}
	}
}

// span is the byte range [start, end).
type span struct{ start, end int }

// scriptLexicon is what one pass over a script learns: its object literals
// in source order (from { to just past its matching }, end -1 if unmatched),
// the string literals that mention fans_openid, and where fans_openid
// occurs.
type scriptLexicon struct {
	objects []span
	strings []span
	occurs  []int
}

// mentions reports whether fans_openid occurs entirely inside js[from:to].
func (lx *scriptLexicon) mentions(from, to int) bool {
	i, _ := slices.BinarySearch(lx.occurs, from)
	return i < len(lx.occurs) && lx.occurs[i]+len(fansOpenIDKey) <= to
}

// lexScript makes one pass over a script, skipping strings, template
// literals, comments and regular expressions so that braces inside them do
// not count. Brackets are matched only against the innermost open one; a
// stray closer is ignored, as the script is assumed to be mostly valid.
func lexScript(js []byte, wantStrings bool) *scriptLexicon {
	lx := &scriptLexicon{}
	for i := 0; ; {
		j := bytes.Index(js[i:], fansOpenIDKey)
		if j < 0 {
			break
		}
		lx.occurs = append(lx.occurs, i+j)
		i += j + 1
	}
	type open struct {
		c   byte
		obj int // index into lx.objects for '{'
	}
	var stack []open
	prev := -1 // index of the last significant byte
	for i := 0; i < len(js); {
		if next, kind := skipOpaque(js, i, prev); kind != opaqueNone {
			if kind == opaqueString && wantStrings && next-i > len(fansOpenIDKey)+2 && lx.mentions(i, next) {
				lx.strings = append(lx.strings, span{i, next})
			}
			if kind != opaqueComment {
				prev = next - 1
			}
			i = next
			continue
		}
		switch c := js[i]; c {
		case '{', '[', '(':
			o := open{c: c, obj: -1}
			if c == '{' {
				o.obj = len(lx.objects)
				lx.objects = append(lx.objects, span{i, -1})
			}
			stack = append(stack, o)
		case '}', ']', ')':
			if n := len(stack); n > 0 && stack[n-1].c == opener(c) {
				if o := stack[n-1]; o.obj >= 0 {
					lx.objects[o.obj].end = i + 1
				}
				stack = stack[:n-1]
			}
		}
		if !isJSSpace(js[i]) {
			prev = i
		}
		i++
	}
	return lx
}

func opener(closer byte) byte {
	switch closer {
	case '}':
		return '{'
	case ']':
		return '['
	}
	return '('
}
