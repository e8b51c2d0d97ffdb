package scan

import (
	"bytes"
	"errors"
	"time"
	"unicode/utf16"
	"unicode/utf8"

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
	// maxNesting bounds the nesting JSON accepts at all. JSON's walker
	// keeps its own stack, but FastReplies' gjson recurses once per
	// level, and a body of a million '[' must not exhaust the stack nor
	// grow a million frames.
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
//
// The body is read once: validated as it is walked (a body that is not one
// JSON document, or nests deeper than maxNesting, is ErrNotJSON and gives
// no records), with the walker's state kept in a pooled collector, so that
// a response costs the records it yields and little else.
func JSON(body []byte, source string, now time.Time) ([]console.Record, error) {
	body = bytes.TrimPrefix(body, utf8BOM)
	c := getCollector()
	defer putCollector(c)
	if !c.scanDoc(body) {
		return nil, ErrNotJSON
	}
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

// fieldNamed maps a key, decoded, to its field.
func fieldNamed(name []byte) field {
	switch string(name) {
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
	var r rune
	for _, ch := range b[1:5] {
		var d byte
		switch {
		case '0' <= ch && ch <= '9':
			d = ch - '0'
		case 'a' <= ch && ch <= 'f':
			d = ch - 'a' + 10
		case 'A' <= ch && ch <= 'F':
			d = ch - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(d)
	}
	return r, true
}
