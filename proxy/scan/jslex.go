package scan

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

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
