package scan

import (
	"bytes"
	"errors"
	"slices"
	"strconv"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/tidwall/gjson"

	"github.com/kfsidebar/kfsidebar/proxy/console"
)

// ErrNotJSON is returned by JSON for a body that is not one JSON
// document. The console labels responses loosely, so callers scan whatever
// might be JSON and treat this error as "nothing to learn here".
var ErrNotJSON = errors.New("not json")

const (
	// maxScanDepth bounds how deep the walkers descend. Console responses
	// nest four or five levels; anything deeper is not a chat user.
	maxScanDepth = 64
	// maxNesting bounds the nesting JSON accepts at all. The JSON
	// validator recurses once per level, and a body of a million '['
	// must not exhaust the stack.
	maxNesting = 1000
)

var (
	fansOpenIDKey = []byte("fans_openid")
	utf8BOM       = []byte("\xEF\xBB\xBF")
)

// JSON learns chat users from a console JSON response. The console's
// response shapes are only partly known, so it searches the whole tree: every
// object with a non-empty string fans_openid gives a console.Record, whatever its
// path. An object whose base_resp.ret is non-zero reports a failure (a failed
// item of kfcreatesession_resp[]), so it and everything inside it is skipped.
//
// fans_uin and session_id are kept as their raw decimal text, so 64-bit and
// larger ids survive exactly. An openid seen twice gives one console.Record: later
// fields win, empty ones keep the earlier value. A UTF-8 BOM is tolerated.
func JSON(body []byte, source string, now time.Time) ([]console.Record, error) {
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
	case "fans_uin", "fansuin", "useruin":
		// The console's other names for the same id (its history request's
		// fansuin=, the waiting list's useruin): an object that has both
		// it and fans_openid ties the two together.
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
	rec   console.Record
}

// collector gathers records across one or more JSON documents. It reads a
// document in one pass, because walking it level by level rescans every
// byte once per level, too slow for a 1 MB accept response.
type collector struct {
	found   []located
	stack   []frame
	scratch []byte // reused to decode a record's values
	base    int    // offset of the current document among all scanned
	budget  int    // bytes Page may still convert
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

// record decodes raw values into a console.Record. All its strings share one new
// allocation, which does not keep the document alive.
func (c *collector) record(values *[numValues][]byte) console.Record {
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
	return console.Record{OpenID: value(valueOpenID), Nickname: value(valueNickname), HeadImgURL: value(valueHeadImg),
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

// result returns one console.Record per openid, in the order their objects open;
// for an openid seen twice, later non-empty fields win.
func (c *collector) result(source string, now time.Time) []console.Record {
	if len(c.found) == 0 {
		return nil
	}
	slices.SortStableFunc(c.found, func(a, b located) int { return a.start - b.start })
	recs := make([]console.Record, 0, len(c.found))
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
