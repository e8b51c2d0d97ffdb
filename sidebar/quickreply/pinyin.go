package quickreply

import (
	_ "embed"
	"strings"
	"sync"
	"unicode"
)

//go:generate go run ./internal/gen/pinyin -out pinyin_initials.txt

// pinyinInitialsFile holds the initial letter of the main reading of every
// character U+4E00–U+9FFF ('_' for none), 256 to a line: 21 KB that cover
// every common Chinese character, where a full pinyin dictionary would add
// a megabyte for readings the search does not use. See
// internal/gen/pinyin for its sources.
//
//go:embed pinyin_initials.txt
var pinyinInitialsFile string

const (
	hanFirst = 0x4E00
	hanLast  = 0x9FFF
)

// hanInitials is the table without its line breaks, indexed by r-hanFirst.
var hanInitials = sync.OnceValue(func() string {
	t := strings.ReplaceAll(pinyinInitialsFile, "\n", "")
	if len(t) != hanLast-hanFirst+1 {
		panic("quickreply: pinyin_initials.txt is damaged; regenerate it with go generate")
	}
	return t
})

// Initials returns the search key of a text for "search as you type": each
// Chinese character becomes the initial of its main pinyin reading, other
// letters and digits are kept lower-cased (full-width ones folded to
// ASCII), and everything else (spaces, punctuation, braces) is dropped. So
// an agent finds 物流查询 by typing "wlcx" and "7天无理由退货" by "7twlyth".
// A polyphonic character has the initial of its most common reading only
// (长 is c, as in 长期).
func Initials(s string) string {
	table := hanInitials()
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= hanFirst && r <= hanLast:
			if l := table[r-hanFirst]; l != '_' {
				b.WriteByte(l)
			}
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
		case r >= 'A' && r <= 'Z':
			b.WriteRune(r + 'a' - 'A')
		case r >= '０' && r <= '９', r >= 'Ａ' && r <= 'Ｚ', r >= 'ａ' && r <= 'ｚ':
			b.WriteRune(unicode.ToLower(r - '０' + '0'))
		case unicode.IsLetter(r) && !unicode.Is(unicode.Han, r), unicode.IsDigit(r):
			b.WriteRune(unicode.ToLower(r))
		}
	}
	return b.String()
}
