// Command pinyin writes sidebar/quickreply/pinyin_initials.txt, the table
// behind quickreply.Initials: the initial letter of the main reading of
// every character of the CJK Unified Ideographs block (U+4E00–U+9FFF).
//
// Run it from sidebar/quickreply/ with `go generate`; it needs the Go
// module proxy once, to fetch the readings.
//
// Two public sources, so that the table needs neither a network nor a
// 1 MB dictionary at run time:
//   - GB 2312 orders its 3755 level-1 (most common) characters by their
//     main reading, so a level-1 character's letter is the letter of the
//     range its GB 2312 code falls in. The standard chose the reading
//     people use most: 长 is c (长期), 厦 x (厦门), 茄 q (茄子).
//   - Every other character takes the first reading listed by
//     github.com/mozillazg/go-pinyin (from the Unicode Unihan readings),
//     fetched into the module cache with `go mod download`; it is not a
//     dependency of kfsidebar.
//
// The file has one line per 256 code points starting at U+4E00, one
// lower-case letter per character, '_' where no reading is known.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding/simplifiedchinese"
)

const (
	first    = 0x4E00
	last     = 0x9FFF
	perLine  = 256
	module   = "github.com/mozillazg/go-pinyin@v0.21.0"
	noLetter = '_'
)

// gb2312Letters are the first GB 2312 codes of each initial letter among
// the level-1 characters (0xB0A1–0xD7F9), in code order; i, u and v begin
// no reading.
var gb2312Letters = []struct {
	code   int
	letter byte
}{
	{0xB0A1, 'a'}, {0xB0C5, 'b'}, {0xB2C1, 'c'}, {0xB4EE, 'd'}, {0xB6EA, 'e'}, {0xB7A2, 'f'},
	{0xB8C1, 'g'}, {0xB9FE, 'h'}, {0xBBF7, 'j'}, {0xBFA6, 'k'}, {0xC0AC, 'l'}, {0xC2E8, 'm'},
	{0xC4C3, 'n'}, {0xC5B6, 'o'}, {0xC5BE, 'p'}, {0xC6DA, 'q'}, {0xC8BB, 'r'}, {0xC8F6, 's'},
	{0xCBFA, 't'}, {0xCDDA, 'w'}, {0xCEF4, 'x'}, {0xD1B9, 'y'}, {0xD4D1, 'z'},
}

func main() {
	out := flag.String("out", "pinyin_initials.txt", "file to write")
	flag.Parse()
	log.SetFlags(0)
	dict, err := loadDict()
	if err != nil {
		log.Fatal(err)
	}
	table := make([]byte, 0, (last-first+1)+(last-first+1)/perLine)
	enc := simplifiedchinese.GBK.NewEncoder()
	for r := rune(first); r <= last; r++ {
		letter := byte(noLetter)
		if l, ok := gb2312Letter(enc.Bytes, r); ok {
			letter = l
		} else if l, ok := dict[r]; ok {
			letter = l
		}
		table = append(table, letter)
		if (r-first+1)%perLine == 0 {
			table = append(table, '\n')
		}
	}
	if err := os.WriteFile(*out, table, 0o644); err != nil {
		log.Fatal(err)
	}
}

// gb2312Letter returns the letter of a GB 2312 level-1 character.
func gb2312Letter(encode func([]byte) ([]byte, error), r rune) (byte, bool) {
	b, err := encode([]byte(string(r)))
	if err != nil || len(b) != 2 || b[1] < 0xA1 {
		return 0, false
	}
	code := int(b[0])<<8 | int(b[1])
	if code < gb2312Letters[0].code || code > 0xD7F9 {
		return 0, false
	}
	var letter byte
	for _, l := range gb2312Letters {
		if code >= l.code {
			letter = l.letter
		}
	}
	return letter, true
}

// loadDict reads go-pinyin's generated dictionary (`0x4E2D: "zhōng,zhòng",`
// lines) from the module cache: the first letter of each character's
// first reading, tone marks removed.
func loadDict() (map[rune]byte, error) {
	dir, err := download()
	if err != nil {
		return nil, err
	}
	f, err := os.Open(filepath.Join(dir, "pinyin_dict.go"))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	line := regexp.MustCompile(`^\s*0x([0-9A-Fa-f]+): "([^",]+)`)
	dict := map[rune]byte{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		m := line.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		cp, err := strconv.ParseUint(m[1], 16, 32)
		if err != nil {
			return nil, fmt.Errorf("pinyin_dict.go: %q: %w", sc.Text(), err)
		}
		if l, ok := baseLetter(m[2]); ok {
			dict[rune(cp)] = l
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(dict) < 20000 {
		return nil, fmt.Errorf("pinyin_dict.go: only %d readings; has its format changed?", len(dict))
	}
	return dict, nil
}

// baseLetter is the first letter of a reading with its tone mark removed
// ("ǎ" → 'a', "ḿ" → 'm', "ň" → 'n').
func baseLetter(reading string) (byte, bool) {
	r, _ := utf8.DecodeRuneInString(reading)
	if r >= 'a' && r <= 'z' {
		return byte(r), true
	}
	for _, group := range []string{"aāáǎà", "eēéěèêếề", "oōóǒò", "mḿ", "nńňǹ"} {
		if strings.ContainsRune(group, r) {
			return group[0], true
		}
	}
	return 0, false
}

// download fetches the module into the module cache and returns its
// directory. It runs outside kfsidebar's module so that go.mod and go.sum
// stay untouched.
func download() (string, error) {
	tmp, err := os.MkdirTemp("", "kfsidebar-gen-*") // no go.mod above it
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	cmd := exec.Command("go", "mod", "download", "-json", module)
	cmd.Dir = tmp
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GO111MODULE=on")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("go mod download %s: %w\n%s", module, err, stderr.Bytes())
	}
	var info struct{ Dir, Error string }
	if err := json.Unmarshal(out, &info); err != nil {
		return "", fmt.Errorf("go mod download %s: %w", module, err)
	}
	if info.Error != "" || info.Dir == "" {
		return "", fmt.Errorf("go mod download %s: %s", module, info.Error)
	}
	return info.Dir, nil
}
