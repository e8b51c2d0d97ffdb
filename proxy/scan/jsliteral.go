package scan

import (
	"math/big"
	"strings"
	"unicode"
	"unicode/utf8"
)

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
