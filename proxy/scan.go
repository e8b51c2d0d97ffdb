package proxy

import (
	"bytes"
	"errors"
	"fmt"
	"math/big"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/tidwall/gjson"
	"golang.org/x/net/html"
)

// ErrNotJSON is returned by ScanJSON for a body that is not one JSON
// document. The console labels responses loosely, so callers scan whatever
// might be JSON and treat this error as "nothing to learn here".
var ErrNotJSON = errors.New("not json")

const (
	// maxScanDepth bounds how deep the walkers descend. Console responses
	// nest four or five levels; anything deeper is not a chat user.
	maxScanDepth = 64
	// maxNesting bounds the nesting ScanJSON accepts at all. The JSON
	// validator recurses once per level, and a body of a million '['
	// must not exhaust the stack.
	maxNesting = 1000
)

var (
	fansOpenIDKey = []byte("fans_openid")
	utf8BOM       = []byte("\xEF\xBB\xBF")
)

// Endpoint classifies a console request by its path and its action query
// value, never the full URL: the token, f=json and cache-busting r/t values
// change on every call. For POST the console also puts action in the query.
//
// Any path beginning with /cgi-bin/kfsessionmgr counts as a manual accept,
// /cgi-bin/kfsessionmgrx included: the only evidence is "kfsessionmgr…", so
// the match errs on the side of scanning. The other two need their exact
// path (one trailing slash tolerated, case-sensitive) and action.
func Endpoint(u *url.URL) (source string, target bool) {
	if u == nil {
		return SourceOther, false
	}
	p := u.Path
	if len(p) > 1 {
		p = strings.TrimSuffix(p, "/")
	}
	if strings.HasPrefix(p, "/cgi-bin/kfsessionmgr") {
		return SourceManual, true
	}
	switch action := u.Query().Get("action"); {
	case p == "/cgi-bin/kfunaccepted" && action == "kfbatchcreatesession":
		return SourceAuto, true
	case p == "/cgi-bin/kftransfer" && action == "gettransferinfo":
		return SourceTransfer, true
	}
	return SourceOther, false
}

// ScanJSON learns chat users from a console JSON response. The console's
// response shapes are only partly known, so it searches the whole tree: every
// object with a non-empty string fans_openid gives a Record, whatever its
// path. An object whose base_resp.ret is non-zero reports a failure (a failed
// item of kfcreatesession_resp[]), so it and everything inside it is skipped.
//
// fans_uin and session_id are kept as their raw decimal text, so 64-bit and
// larger ids survive exactly. An openid seen twice gives one Record: later
// fields win, empty ones keep the earlier value. A UTF-8 BOM is tolerated.
func ScanJSON(body []byte, source string, now time.Time) ([]Record, error) {
	body = bytes.TrimPrefix(body, utf8BOM)
	if jsonNesting(body) > maxNesting || !gjson.ValidBytes(body) {
		return nil, ErrNotJSON
	}
	if !bytes.Contains(body, fansOpenIDKey) {
		return nil, nil
	}
	// One record per mention at most: sizing for it saves regrowing.
	c := collector{found: make([]located, 0, bytes.Count(body, fansOpenIDKey))}
	c.scanDoc(body)
	return c.result(source, now), nil
}

// jsonNesting returns the deepest bracket nesting of a JSON text, ignoring
// brackets inside strings. It is a cheap pre-check, not a validator.
func jsonNesting(b []byte) int {
	depth, deepest := 0, 0
	for i := 0; i < len(b); i++ {
		switch b[i] {
		case '"':
			if i = stringEnd(b, i) - 1; i < 0 {
				return deepest
			}
		case '{', '[':
			depth++
			deepest = max(deepest, depth)
		case '}', ']':
			depth--
		}
	}
	return deepest
}

// stringEnd returns the index just past the JSON string starting at b[i]:
// after the first quote not escaped by an odd number of backslashes; -1 if
// the string is not terminated.
func stringEnd(b []byte, i int) int {
	for {
		j := bytes.IndexByte(b[i+1:], '"')
		if j < 0 {
			return -1
		}
		i += j + 1
		k := i - 1
		for b[k] == '\\' {
			k--
		}
		if (i-1-k)%2 == 0 {
			return i + 1
		}
	}
}

// field names the keys the collector cares about.
type field uint8

const (
	fieldOther field = iota
	fieldOpenID
	fieldNickname
	fieldHeadImg
	fieldUIN
	fieldSession
	fieldBaseResp
	fieldRet
)

// fieldOf maps a JSON string literal used as a key to its field.
func fieldOf(raw []byte) field {
	if bytes.IndexByte(raw, '\\') >= 0 {
		raw = appendUnquoted(nil, raw)
	} else {
		raw = raw[1 : len(raw)-1]
	}
	switch string(raw) {
	case "fans_openid":
		return fieldOpenID
	case "nickname":
		return fieldNickname
	case "headimgurl":
		return fieldHeadImg
	case "fans_uin":
		return fieldUIN
	case "session_id":
		return fieldSession
	case "base_resp":
		return fieldBaseResp
	case "ret":
		return fieldRet
	}
	return fieldOther
}

// frame is one open object or array while scanning a document.
type frame struct {
	object    bool
	ignored   bool              // deeper than maxScanDepth
	expectKey bool              // object: the next string is a key
	key       field             // object: the key whose value comes next
	field     field             // the key this container is the value of
	start     int               // where the container opens, for document order
	mark      int               // len(collector.found) when it opened
	values    [numValues][]byte // object: raw JSON of the record's fields
	failed    bool              // object: its base_resp.ret is non-zero
	retFailed bool              // object: its own ret is non-zero (it is a base_resp)
}

// located is a record with the position of its object.
type located struct {
	start int
	rec   Record
}

// collector gathers records across one or more JSON documents. It reads a
// document in one pass, because walking it level by level rescans every
// byte once per level, too slow for a 1 MB accept response.
type collector struct {
	found   []located
	stack   []frame
	scratch []byte // reused to decode a record's values
	base    int    // offset of the current document among all scanned
	budget  int    // bytes ScanPage may still convert
}

// scanDoc collects the records of one JSON document, which must be valid.
// An object's record is found when it closes, after its children, and is
// dropped with theirs if its base_resp says it failed.
func (c *collector) scanDoc(doc []byte) {
	c.stack = c.stack[:0]
	defer func() { c.base += len(doc) }()
	for i := 0; i < len(doc); {
		top := len(c.stack) - 1
		switch ch := doc[i]; ch {
		case '{', '[':
			f := frame{object: ch == '{', expectKey: true, start: c.base + i, mark: len(c.found)}
			if top >= 0 {
				p := &c.stack[top]
				f.field = p.key
				f.ignored = p.ignored || top+1 >= maxScanDepth
				p.set(p.key, nil) // a container is not a usable string or id
			}
			c.stack = append(c.stack, f)
			i++
		case '}', ']':
			if top < 0 {
				return
			}
			f := c.stack[top]
			c.stack = c.stack[:top]
			if top > 0 && f.object && f.field == fieldBaseResp {
				c.stack[top-1].failed = f.retFailed
			}
			switch {
			case !f.object:
			case f.failed:
				c.found = c.found[:f.mark]
			case len(f.values[valueOpenID]) > len(`""`) && !f.ignored:
				c.found = append(c.found, located{f.start, c.record(&f.values)})
			}
			i++
		case '"':
			end := stringEnd(doc, i)
			if end < 0 {
				return
			}
			if top >= 0 && c.stack[top].object {
				f := &c.stack[top]
				if f.expectKey {
					f.key, f.expectKey = fieldOf(doc[i:end]), false
				} else {
					f.set(f.key, doc[i:end])
				}
			}
			i = end
		case ',':
			if top >= 0 && c.stack[top].object {
				c.stack[top].expectKey, c.stack[top].key = true, fieldOther
			}
			i++
		case ':', ' ', '\t', '\r', '\n':
			i++
		default: // a number, true, false or null
			j := i + 1
			for j < len(doc) && !isJSONDelim(doc[j]) {
				j++
			}
			if top >= 0 && c.stack[top].object {
				c.stack[top].set(c.stack[top].key, doc[i:j])
			}
			i = j
		}
	}
}

// The values a record is made of, in the order of valueFields.
const (
	valueOpenID = iota
	valueNickname
	valueHeadImg
	valueUIN
	valueSession
	numValues
)

// valueFields maps a field to its value slot; -1 for fields that are not
// record values.
var valueFields = [...]int{fieldOther: -1, fieldOpenID: valueOpenID, fieldNickname: valueNickname,
	fieldHeadImg: valueHeadImg, fieldUIN: valueUIN, fieldSession: valueSession, fieldBaseResp: -1, fieldRet: -1}

// set records the value of key in f: raw is a JSON string, a number or
// literal, or nil for a container. Values stay raw until the object turns
// out to be a record; only ret is judged at once.
func (f *frame) set(key field, raw []byte) {
	isString := len(raw) > 0 && raw[0] == '"'
	isNumber := len(raw) > 0 && (raw[0] == '-' || isDigit(raw[0]))
	if key == fieldRet {
		// A ret that is not a number or a string is not a failure.
		switch {
		case isNumber:
			v, err := strconv.ParseFloat(string(raw), 64)
			f.retFailed = err != nil || v != 0
		case isString:
			t := bytes.TrimSpace(appendUnquoted(nil, raw))
			f.retFailed = len(t) > 0 && string(t) != "0"
		default:
			f.retFailed = false
		}
		return
	}
	slot := valueFields[key]
	if slot < 0 || f.ignored {
		return
	}
	// Only strings count as openid, nickname and avatar; ids may also be
	// numbers, whose raw text keeps every digit.
	if !isString && !(isNumber && (slot == valueUIN || slot == valueSession)) {
		raw = nil
	}
	f.values[slot] = raw
}

// record decodes raw values into a Record. All its strings share one new
// allocation, which does not keep the document alive.
func (c *collector) record(values *[numValues][]byte) Record {
	buf := c.scratch[:0]
	var bounds [numValues][2]int
	for i, raw := range values {
		start := len(buf)
		if len(raw) > 0 && raw[0] == '"' {
			buf = appendUnquoted(buf, raw)
		} else {
			buf = append(buf, raw...)
		}
		end := len(buf)
		if i == valueUIN || i == valueSession {
			for start < end && isJSSpace(buf[start]) {
				start++
			}
			for end > start && isJSSpace(buf[end-1]) {
				end--
			}
		}
		bounds[i] = [2]int{start, end}
	}
	c.scratch = buf
	all := string(buf)
	value := func(i int) string { return all[bounds[i][0]:bounds[i][1]] }
	return Record{OpenID: value(valueOpenID), Nickname: value(valueNickname), HeadImgURL: value(valueHeadImg),
		FansUIN: value(valueUIN), SessionID: value(valueSession)}
}

// appendUnquoted appends the decoded content of a JSON string literal. A bad
// escape is kept as written and a lone surrogate becomes U+FFFD, as in
// encoding/json.
func appendUnquoted(dst, raw []byte) []byte {
	s := raw[1 : len(raw)-1]
	for i := bytes.IndexByte(s, '\\'); i >= 0; i = bytes.IndexByte(s, '\\') {
		dst = append(dst, s[:i]...)
		s = s[i:]
		var n int
		dst, n = appendEscape(dst, s)
		s = s[n:]
	}
	return append(dst, s...)
}

// simpleEscapes maps the letter of a one-letter JSON escape to its byte.
var simpleEscapes = [256]byte{'"': '"', '\\': '\\', '/': '/', 'b': '\b', 'f': '\f', 'n': '\n', 'r': '\r', 't': '\t'}

// appendEscape decodes the escape sequence at the start of s (s[0] is the
// backslash) and returns its length.
func appendEscape(dst, s []byte) ([]byte, int) {
	if len(s) < 2 {
		return append(dst, s...), len(s)
	}
	if c := simpleEscapes[s[1]]; c != 0 {
		return append(dst, c), 2
	}
	r, ok := hex4(s[1:])
	if !ok {
		return append(dst, s[:2]...), 2
	}
	if !utf16.IsSurrogate(r) {
		return utf8.AppendRune(dst, r), 6
	}
	if len(s) >= 12 && s[6] == '\\' {
		if r2, ok := hex4(s[7:]); ok {
			if d := utf16.DecodeRune(r, r2); d != utf8.RuneError {
				return utf8.AppendRune(dst, d), 12
			}
		}
	}
	return utf8.AppendRune(dst, utf8.RuneError), 6
}

// hex4 decodes "uXXXX" at the start of b.
func hex4(b []byte) (rune, bool) {
	if len(b) < 5 || b[0] != 'u' {
		return 0, false
	}
	v, err := strconv.ParseUint(string(b[1:5]), 16, 32)
	return rune(v), err == nil
}

func isJSONDelim(ch byte) bool {
	return ch == ',' || ch == '}' || ch == ']' || ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n'
}

// result returns one Record per openid, in the order their objects open;
// for an openid seen twice, later non-empty fields win.
func (c *collector) result(source string, now time.Time) []Record {
	if len(c.found) == 0 {
		return nil
	}
	slices.SortStableFunc(c.found, func(a, b located) int { return a.start - b.start })
	recs := make([]Record, 0, len(c.found))
	byID := make(map[string]int, len(c.found))
	for _, l := range c.found {
		r := l.rec
		i, ok := byID[r.OpenID]
		if !ok {
			byID[r.OpenID] = len(recs)
			r.Source, r.SeenAt = source, now
			recs = append(recs, r)
			continue
		}
		old := &recs[i]
		keep(&old.Nickname, r.Nickname)
		keep(&old.HeadImgURL, r.HeadImgURL)
		keep(&old.FansUIN, r.FansUIN)
		keep(&old.SessionID, r.SessionID)
	}
	return recs
}

// keep overwrites *dst with a non-empty src.
func keep(dst *string, src string) {
	if src != "" {
		*dst = src
	}
}

// ScanPage learns the chats already open when the console page loads. The
// console has carried them in an inline script, as a JavaScript object
// literal (MCS.cgiData = {…, sessions: {kfsession_and_msgsummary: […]}}), so
// the page is read the way a browser would: inline <script> bodies, their
// balanced {…} object literals converted to JSON (unquoted keys, single
// quotes, trailing commas, comments, expressions as null) and walked like
// ScanJSON does. Only scripts mentioning fans_openid cost more than a scan.
// Garbage never errors: the result is whatever could be found.
func ScanPage(page []byte, now time.Time) []Record {
	if !bytes.Contains(page, fansOpenIDKey) {
		return nil
	}
	c := collector{budget: 8*len(page) + 1<<20}
	z := html.NewTokenizer(bytes.NewReader(page))
	inlineScript := false
	for {
		switch z.Next() {
		case html.ErrorToken:
			return c.result(SourcePage, now)
		case html.StartTagToken, html.SelfClosingTagToken:
			// Browsers ignore the self-closing flag on <script/>, and so
			// does the tokenizer: the body that follows is still script.
			name, hasAttr := z.TagName()
			inlineScript = string(name) == "script" && !hasSrc(z, hasAttr)
		case html.TextToken:
			if inlineScript {
				c.scanScript(z.Raw(), 0)
			}
			inlineScript = false
		default:
			inlineScript = false
		}
	}
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
		if !ok || !gjson.ValidBytes(out) {
			continue
		}
		c.scanDoc(out)
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

// literalConv converts one JavaScript object literal to JSON. Parts it
// cannot express (calls, references, operators, functions) become null; if
// such a part mentions fans_openid the conversion fails instead, so that
// the caller tries the object literals inside it.
type literalConv struct {
	js     []byte // the script, cut at the end of the literal
	i      int
	out    []byte
	lx     *scriptLexicon
	failed bool
}

// convertObject converts the object literal js[start:end] (end just past
// its closing brace) to JSON.
func convertObject(js []byte, start, end int, lx *scriptLexicon) ([]byte, bool) {
	c := &literalConv{js: js[:end], i: start, out: make([]byte, 0, end-start+64), lx: lx}
	if !c.object(1) || c.i != end {
		return nil, false
	}
	return c.out, true
}

func (c *literalConv) object(depth int) bool {
	c.i++
	c.out = append(c.out, '{')
	for n := 0; ; {
		c.skipSpace()
		if c.failed || c.i >= len(c.js) {
			return false
		}
		switch c.js[c.i] {
		case '}':
			c.i++
			c.out = append(c.out, '}')
			return true
		case ']':
			return false
		case ',':
			c.i++
			continue
		}
		entry, mark := c.i, len(c.out)
		if n > 0 {
			c.out = append(c.out, ',')
		}
		if !c.key() {
			// Spread, computed key, method, getter: nothing to learn.
			c.out, c.i = c.out[:mark], entry
			if !c.skipExpr() {
				return false
			}
			continue
		}
		c.skipSpace()
		switch {
		case c.i < len(c.js) && c.js[c.i] == ':':
			c.i++
			c.out = append(c.out, ':')
			if !c.value(depth) {
				return false
			}
		case c.i < len(c.js) && (c.js[c.i] == ',' || c.js[c.i] == '}'):
			c.out = append(c.out, ":null"...) // shorthand {a, b}
		default:
			c.out, c.i = c.out[:mark], entry
			if !c.skipExpr() {
				return false
			}
			continue
		}
		n++
	}
}

func (c *literalConv) array(depth int) bool {
	c.i++
	c.out = append(c.out, '[')
	for n := 0; ; n++ {
		c.skipSpace()
		if c.failed || c.i >= len(c.js) {
			return false
		}
		ch := c.js[c.i]
		switch ch {
		case ']':
			c.i++
			c.out = append(c.out, ']')
			return true
		case '}':
			return false
		}
		if n > 0 {
			c.out = append(c.out, ',')
		}
		if ch == ',' { // a hole: [1,,2]
			c.i++
			c.out = append(c.out, "null"...)
			continue
		}
		if !c.value(depth) {
			return false
		}
		if c.skipSpace(); c.i < len(c.js) && c.js[c.i] == ',' {
			c.i++
		}
	}
}

// key converts a property name (quoted, identifier or number) to a JSON
// string.
func (c *literalConv) key() bool {
	ch := c.js[c.i]
	switch {
	case ch == '"' || ch == '\'':
		return c.str()
	case isIdentByte(ch) || ch == '.':
		if ch == '.' && !(c.i+1 < len(c.js) && isDigit(c.js[c.i+1])) {
			return false // spread: ...rest
		}
		from := c.i
		for c.i < len(c.js) && (isIdentByte(c.js[c.i]) || c.js[c.i] == '.') {
			c.i++
		}
		c.out = appendJSONText(c.out, c.js[from:c.i])
		return true
	}
	return false
}

// value converts one property value or array element. Anything that is
// not a plain literal is skipped as an expression and becomes null.
func (c *literalConv) value(depth int) bool {
	c.skipSpace()
	if c.failed || c.i >= len(c.js) {
		return false
	}
	mark, from := len(c.out), c.i
	ok := false
	switch ch := c.js[c.i]; {
	case ch == '{' && depth < maxScanDepth:
		ok = c.object(depth + 1)
	case ch == '[' && depth < maxScanDepth:
		ok = c.array(depth + 1)
	case ch == '"' || ch == '\'' || ch == '`':
		ok = c.str()
	case isDigit(ch) || ch == '-' || ch == '+' || ch == '.':
		ok = c.number()
	case isIdentByte(ch):
		ok = c.ident()
	}
	if c.failed {
		return false
	}
	if ok {
		if c.skipSpace(); c.i >= len(c.js) || isValueEnd(c.js[c.i]) {
			return true
		}
	}
	c.out, c.i = c.out[:mark], from
	if !c.skipExpr() {
		return false
	}
	c.out = append(c.out, "null"...)
	return true
}

func (c *literalConv) str() bool {
	out, next, ok := appendJSString(c.out, c.js, c.i)
	if ok {
		c.out, c.i = out, next
	}
	return ok
}

// number converts a JavaScript numeric literal to JSON, keeping decimal
// digits exactly (fans_uin may exceed 2^53).
func (c *literalConv) number() bool {
	from := c.i
	if ch := c.js[c.i]; ch == '-' || ch == '+' {
		c.i++
	}
	for c.i < len(c.js) {
		ch := c.js[c.i]
		if isIdentByte(ch) || ch == '.' ||
			((ch == '+' || ch == '-') && (c.js[c.i-1] == 'e' || c.js[c.i-1] == 'E')) {
			c.i++
			continue
		}
		break
	}
	tok := strings.ReplaceAll(string(c.js[from:c.i]), "_", "")
	neg := strings.HasPrefix(tok, "-")
	tok = strings.TrimLeft(tok, "+-")
	tok = strings.TrimSuffix(tok, "n") // BigInt
	if len(tok) > 2 && tok[0] == '0' && strings.ContainsRune("xXoObB", rune(tok[1])) {
		v, ok := new(big.Int).SetString(tok, 0)
		if !ok {
			return false
		}
		tok = v.String()
	}
	if strings.HasPrefix(tok, ".") {
		tok = "0" + tok
	}
	tok = strings.Replace(tok, ".e", "e", 1)
	tok = strings.Replace(tok, ".E", "E", 1)
	tok = strings.TrimSuffix(tok, ".")
	if neg {
		tok = "-" + tok
	}
	if !isJSONNumber(tok) {
		return false
	}
	c.out = append(c.out, tok...)
	return true
}

func (c *literalConv) ident() bool {
	from := c.i
	for c.i < len(c.js) && isIdentByte(c.js[c.i]) {
		c.i++
	}
	switch string(c.js[from:c.i]) {
	case "true", "false", "null":
		c.out = append(c.out, c.js[from:c.i]...)
	case "undefined", "NaN", "Infinity":
		c.out = append(c.out, "null"...)
	default:
		return false
	}
	return true
}

// skipExpr skips to the ',' '}' or ']' that ends the current expression.
// Skipping anything that mentions fans_openid fails the conversion.
func (c *literalConv) skipExpr() bool {
	from, depth := c.i, 0
	prev := from - 1
	for prev >= 0 && isJSSpace(c.js[prev]) {
		prev--
	}
scan:
	for c.i < len(c.js) {
		if next, kind := skipOpaque(c.js, c.i, prev); kind != opaqueNone {
			if kind != opaqueComment {
				prev = next - 1
			}
			c.i = next
			continue
		}
		switch ch := c.js[c.i]; ch {
		case '{', '[', '(':
			depth++
		case '}', ']', ')':
			if depth > 0 {
				depth--
			} else if ch != ')' {
				break scan
			}
		case ',':
			if depth == 0 {
				break scan
			}
		}
		if !isJSSpace(c.js[c.i]) {
			prev = c.i
		}
		c.i++
	}
	if c.lx.mentions(from, c.i) {
		c.failed = true
		return false
	}
	return true
}

// skipSpace skips whitespace, including the Unicode spaces JavaScript
// allows, and comments.
func (c *literalConv) skipSpace() {
	for c.i < len(c.js) {
		ch := c.js[c.i]
		if isJSSpace(ch) {
			c.i++
			continue
		}
		if ch >= utf8.RuneSelf {
			r, size := utf8.DecodeRune(c.js[c.i:])
			if unicode.IsSpace(r) || r == '\uFEFF' {
				c.i += size
				continue
			}
			return
		}
		next, kind := skipOpaque(c.js, c.i, -1)
		if kind != opaqueComment {
			return
		}
		c.i = next
	}
}

type opaqueKind int

const (
	opaqueNone opaqueKind = iota
	opaqueString
	opaqueComment
	opaqueRegex
)

// skipOpaque skips a string, template literal, comment or regular
// expression starting at js[i], whose braces and quotes are not code.
// prev is the index of the last significant byte before i (-1 if none); it
// tells a regular expression from a division.
func skipOpaque(js []byte, i, prev int) (int, opaqueKind) {
	switch js[i] {
	case '"', '\'', '`':
		return skipQuoted(js, i), opaqueString
	case '/':
		if i+1 < len(js) && js[i+1] == '/' {
			return lineEnd(js, i), opaqueComment
		}
		if i+1 < len(js) && js[i+1] == '*' {
			if j := bytes.Index(js[i+2:], []byte("*/")); j >= 0 {
				return i + 2 + j + 2, opaqueComment
			}
			return len(js), opaqueComment
		}
		if regexAllowed(js, prev) {
			return skipRegex(js, i), opaqueRegex
		}
	case '<':
		// An HTML-like comment, which old pages wrap scripts in.
		if bytes.HasPrefix(js[i:], []byte("<!--")) {
			return lineEnd(js, i), opaqueComment
		}
	}
	return i, opaqueNone
}

func lineEnd(js []byte, i int) int {
	if j := bytes.IndexByte(js[i:], '\n'); j >= 0 {
		return i + j
	}
	return len(js)
}

// skipQuoted skips a string or template literal. An unterminated string
// ends at the end of its line, as a browser's error recovery would not
// help anyway; template literals are treated as opaque, ${…} included.
func skipQuoted(js []byte, i int) int {
	q := js[i]
	for i++; i < len(js); i++ {
		switch js[i] {
		case '\\':
			i++
		case q:
			return i + 1
		case '\n', '\r':
			if q != '`' {
				return i
			}
		}
	}
	return len(js)
}

func skipRegex(js []byte, i int) int {
	inClass := false
	for i++; i < len(js); i++ {
		switch js[i] {
		case '\\':
			i++
		case '[':
			inClass = true
		case ']':
			inClass = false
		case '/':
			if !inClass {
				return i + 1
			}
		case '\n', '\r':
			return i
		}
	}
	return len(js)
}

// keywordsBeforeRegex are the keywords after which '/' starts a regular
// expression rather than a division.
var keywordsBeforeRegex = map[string]bool{
	"return": true, "typeof": true, "instanceof": true, "in": true, "of": true,
	"new": true, "delete": true, "void": true, "throw": true, "case": true,
	"do": true, "else": true, "yield": true, "await": true,
}

func regexAllowed(js []byte, prev int) bool {
	if prev < 0 {
		return true
	}
	ch := js[prev]
	if strings.IndexByte("(,=:[!&|?{};+-*%<>~^", ch) >= 0 {
		return true
	}
	if !isIdentByte(ch) {
		return false
	}
	start := prev
	for start > 0 && prev-start < 10 && isIdentByte(js[start-1]) {
		start--
	}
	if start > 0 && isIdentByte(js[start-1]) {
		return false
	}
	return keywordsBeforeRegex[string(js[start:prev+1])]
}

// appendJSString transcodes the JavaScript string or template literal at
// js[i] into a JSON string. It fails for an unterminated string, a bad
// escape or a template with substitutions.
func appendJSString(out, js []byte, i int) ([]byte, int, bool) {
	q := js[i]
	out = append(out, '"')
	for i++; i < len(js); {
		ch := js[i]
		switch {
		case ch == q:
			return append(out, '"'), i + 1, true
		case ch == '\\':
			var ok bool
			if out, i, ok = appendJSEscape(out, js, i+1); !ok {
				return out, i, false
			}
			continue
		case q == '`' && ch == '$' && i+1 < len(js) && js[i+1] == '{':
			return out, i, false
		case ch == '\r' || ch == '\n':
			if q != '`' {
				return out, i, false
			}
			if ch == '\r' && i+1 < len(js) && js[i+1] == '\n' {
				i++
			}
			out = append(out, `\n`...)
		case ch == '"':
			out = append(out, `\"`...)
		case ch < 0x20 || ch == 0x7f:
			out = fmt.Appendf(out, `\u%04x`, ch)
		default:
			out = append(out, ch)
		}
		i++
	}
	return out, i, false
}

// appendJSEscape transcodes the escape sequence whose letter is at js[i].
func appendJSEscape(out, js []byte, i int) ([]byte, int, bool) {
	if i >= len(js) {
		return out, i, false
	}
	switch e := js[i]; e {
	case 'n', 'r', 't', 'b', 'f', '"', '\\', '/':
		return append(out, '\\', e), i + 1, true
	case 'v':
		return append(out, `\u000b`...), i + 1, true
	case '\n':
		return out, i + 1, true // line continuation
	case '\r':
		if i+1 < len(js) && js[i+1] == '\n' {
			i++
		}
		return out, i + 1, true
	case 'x':
		if i+2 < len(js) && isHex(js[i+1]) && isHex(js[i+2]) {
			return append(append(out, `\u00`...), js[i+1:i+3]...), i + 3, true
		}
		return out, i, false
	case 'u':
		if i+1 < len(js) && js[i+1] == '{' {
			end := bytes.IndexByte(js[i+2:min(len(js), i+10)], '}')
			if end < 0 {
				return out, i, false
			}
			cp, err := strconv.ParseUint(string(js[i+2:i+2+end]), 16, 32)
			if err != nil || cp > unicode.MaxRune {
				return out, i, false
			}
			if cp <= 0xFFFF {
				out = fmt.Appendf(out, `\u%04x`, cp)
			} else {
				out = utf8.AppendRune(out, rune(cp))
			}
			return out, i + 3 + end, true
		}
		if i+4 < len(js) && isHex(js[i+1]) && isHex(js[i+2]) && isHex(js[i+3]) && isHex(js[i+4]) {
			return append(append(out, `\u`...), js[i+1:i+5]...), i + 5, true
		}
		return out, i, false
	}
	if e := js[i]; e >= '0' && e <= '7' {
		// \0 and legacy octal escapes: up to three digits, at most \377.
		v, j := 0, i
		for j < len(js) && j < i+3 && js[j] >= '0' && js[j] <= '7' && v*8+int(js[j]-'0') <= 0xFF {
			v = v*8 + int(js[j]-'0')
			j++
		}
		return fmt.Appendf(out, `\u%04x`, v), j, true
	}
	r, size := utf8.DecodeRune(js[i:])
	switch {
	case r == '\u2028' || r == '\u2029':
		return out, i + size, true // line continuation
	case r < 0x20 || r == 0x7f:
		return fmt.Appendf(out, `\u%04x`, r), i + size, true
	}
	return append(out, js[i:i+size]...), i + size, true
}

// jsStringValue decodes a JavaScript string literal, for JSON carried in a
// string (JSON.parse('{…}')).
func jsStringValue(lit []byte) (string, bool) {
	out, next, ok := appendJSString(nil, lit, 0)
	if !ok || next != len(lit) {
		return "", false
	}
	return string(appendUnquoted(nil, out)), true
}

// appendJSONText appends s as a JSON string; s holds no quote, backslash or
// control byte (an identifier or a number).
func appendJSONText(out, s []byte) []byte {
	out = append(out, '"')
	out = append(out, s...)
	return append(out, '"')
}

// isJSONNumber reports whether s is a number in JSON's grammar.
func isJSONNumber(s string) bool {
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case i < len(s) && s[i] >= '1' && s[i] <= '9':
		for i < len(s) && isDigit(s[i]) {
			i++
		}
	default:
		return false
	}
	if i < len(s) && s[i] == '.' {
		i++
		if i >= len(s) || !isDigit(s[i]) {
			return false
		}
		for i < len(s) && isDigit(s[i]) {
			i++
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if i >= len(s) || !isDigit(s[i]) {
			return false
		}
		for i < len(s) && isDigit(s[i]) {
			i++
		}
	}
	return i == len(s)
}

func isValueEnd(ch byte) bool { return ch == ',' || ch == '}' || ch == ']' }

func isDigit(ch byte) bool { return '0' <= ch && ch <= '9' }

func isHex(ch byte) bool {
	return isDigit(ch) || ('a' <= ch && ch <= 'f') || ('A' <= ch && ch <= 'F')
}

// isIdentByte reports whether ch may be part of an identifier; bytes of
// non-ASCII characters count, as identifiers may use any letter.
func isIdentByte(ch byte) bool {
	return isDigit(ch) || ('a' <= ch && ch <= 'z') || ('A' <= ch && ch <= 'Z') ||
		ch == '_' || ch == '$' || ch >= utf8.RuneSelf
}

func isJSSpace(ch byte) bool {
	return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\v' || ch == '\f'
}
