package scan

import (
	"encoding/binary"
	"math/bits"
)

// The walker's token checks. They accept exactly what gjson.ValidBytes
// accepts (RFC 8259: no control characters in strings, only the JSON
// escapes, no leading zeros, no bare '.' or exponent), so a body is JSON
// for JSON as it was when gjson judged it; strings are not checked for
// valid UTF-8, as gjson does not.

func isJSONSpace(ch byte) bool { return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' }

// validString returns the index just past the JSON string that starts at
// b[i] (a '"'), or -1 if it is not a valid string, and whether the string
// has escapes.
func validString(b []byte, i int) (end int, escaped bool) {
	for i = nextStringSpecial(b, i+1); i < len(b); i = nextStringSpecial(b, i) {
		switch ch := b[i]; {
		case ch == '"':
			return i + 1, escaped
		case ch == '\\':
			escaped = true
			if i+1 >= len(b) {
				return -1, escaped
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(b) || !isHex(b[i+2]) || !isHex(b[i+3]) || !isHex(b[i+4]) || !isHex(b[i+5]) {
					return -1, escaped
				}
				i += 6
			default:
				return -1, escaped
			}
		default: // a control character
			return -1, escaped
		}
	}
	return -1, escaped
}

const (
	lowBits  = 0x0101010101010101
	highBits = 0x8080808080808080
)

// nextStringSpecial returns the index of the first byte at or after i
// that ends a string, starts an escape or is a control character ('"',
// '\\', below 0x20), or len(b). Most of a string's bytes are none of these,
// so it tests eight at a time, with the word-at-a-time tests of "Bit
// Twiddling Hacks" (a byte below n, for n ≤ 128; a zero byte after XOR):
// their lowest flagged byte is always the first one that matches.
func nextStringSpecial(b []byte, i int) int {
	for ; i+8 <= len(b); i += 8 {
		x := binary.LittleEndian.Uint64(b[i:])
		q := x ^ (lowBits * '"')
		bs := x ^ (lowBits * '\\')
		if m := ((x-lowBits*' ')&^x | (q-lowBits)&^q | (bs-lowBits)&^bs) & highBits; m != 0 {
			return i + bits.TrailingZeros64(m)>>3
		}
	}
	for ; i < len(b); i++ {
		if ch := b[i]; ch == '"' || ch == '\\' || ch < ' ' {
			return i
		}
	}
	return i
}

// validNumber returns the index just past the JSON number that starts at
// b[i] (a '-' or a digit), or -1 if it is not a valid number. What follows
// it is the caller's to judge.
func validNumber(b []byte, i int) int {
	if b[i] == '-' {
		i++
		if i == len(b) || !isDigit(b[i]) {
			return -1
		}
	}
	if b[i] == '0' {
		i++
	} else {
		for i < len(b) && isDigit(b[i]) {
			i++
		}
	}
	if i < len(b) && b[i] == '.' {
		i++
		if i == len(b) || !isDigit(b[i]) {
			return -1
		}
		for i < len(b) && isDigit(b[i]) {
			i++
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i == len(b) || !isDigit(b[i]) {
			return -1
		}
		for i < len(b) && isDigit(b[i]) {
			i++
		}
	}
	return i
}

// validWord returns the index just past word (true, false or null) at
// b[i], or -1.
func validWord(b []byte, i int, word string) int {
	if len(b)-i < len(word) || string(b[i:i+len(word)]) != word {
		return -1
	}
	return i + len(word)
}
