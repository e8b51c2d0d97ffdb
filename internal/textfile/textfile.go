// Package textfile reads the text files a person makes or exports on a
// Chinese Windows PC (an orders import file, kfsidebar.toml, a quick reply
// file) as UTF-8, whatever Notepad, Excel or WPS saved them as: a UTF-8
// byte order mark (Notepad's "UTF-8 with BOM", Excel's "CSV UTF-8") is
// dropped, UTF-16 with a BOM (Notepad's "Unicode") is converted, and a
// file that is not UTF-8 is read as GB18030 (GBK and GB2312 are its
// subsets: the "ANSI" of Chinese Windows, what Excel's plain "CSV" and WPS
// write) when it is valid GB18030 with Chinese in it, saying so (Info);
// anything else is refused with how to save it as UTF-8. The caller may
// also name the encoding (--encoding).
//
// It is the only home of golang.org/x/text outside the pinyin generator.
package textfile

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/simplifiedchinese"
	xunicode "golang.org/x/text/encoding/unicode"
	"golang.org/x/text/transform"
)

// Encoding is a text encoding kfsidebar reads.
type Encoding string

// The encodings, as --encoding names them.
const (
	// Auto detects: a BOM, else UTF-8, else GB18030.
	Auto    Encoding = "auto"
	UTF8    Encoding = "utf-8"
	GB18030 Encoding = "gb18030"
	UTF16LE Encoding = "utf-16le"
	UTF16BE Encoding = "utf-16be"
)

// ParseEncoding reads an --encoding value: auto, utf-8, gbk, gb2312,
// gb18030 (the three read alike), utf-16le or utf-16be, in any case.
func ParseEncoding(s string) (Encoding, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "auto":
		return Auto, nil
	case "utf-8", "utf8":
		return UTF8, nil
	case "gbk", "gb2312", "gb18030", "cp936", "ansi":
		return GB18030, nil
	case "utf-16le", "utf16le", "utf-16", "unicode":
		return UTF16LE, nil
	case "utf-16be", "utf16be":
		return UTF16BE, nil
	}
	return "", fmt.Errorf("unknown encoding %q (want auto, utf-8, gbk, gb18030, utf-16le or utf-16be)", s)
}

// Info says how a file was read.
type Info struct {
	// Encoding is what the file was in.
	Encoding Encoding
	// BOM is true when the file began with a byte order mark.
	BOM bool
	// Detected is true when Encoding was found, not named by the caller.
	Detected bool
}

// Converted reports whether the text was converted to UTF-8: the caller
// says so to the user.
func (i Info) Converted() bool { return i.Encoding != UTF8 }

// Describe says how the file was read, for the user: "" for plain UTF-8.
func (i Info) Describe() string {
	switch {
	case i.Encoding == GB18030 && i.Detected:
		return "not UTF-8: read as GBK/GB18030 (Chinese Windows' ANSI) and converted (文件不是 UTF-8 编码, 已按 GBK 读取并转换)"
	case i.Encoding == GB18030:
		return "read as GBK/GB18030 and converted to UTF-8"
	case i.Encoding == UTF16LE || i.Encoding == UTF16BE:
		return "read as " + strings.ToUpper(string(i.Encoding)) + " (Notepad's \"Unicode\") and converted to UTF-8"
	}
	return ""
}

// NotUTF8Error is a file that is neither UTF-8 nor (when detecting)
// GB18030.
type NotUTF8Error struct {
	// Offset is the first byte that is not UTF-8, counted from the
	// start of the file.
	Offset int64
	Byte   byte
	// Named is the encoding the caller named, or Auto.
	Named Encoding
}

// SaveAsUTF8 tells a person how to save a file as UTF-8, in Chinese and
// English.
const SaveAsUTF8 = "save it as UTF-8 (记事本 Notepad: 另存为 Save As → 编码 Encoding: UTF-8; " +
	"Excel: 另存为 Save As → CSV UTF-8 (逗号分隔) (Comma delimited); WPS: 另存为 → 文件类型 CSV, 编码 UTF-8) " +
	"and try again"

func (e *NotUTF8Error) Error() string {
	what := "is not UTF-8"
	if e.Named == Auto {
		what = "is neither UTF-8 nor GBK/GB18030"
	}
	return fmt.Sprintf("the file %s (byte %d is 0x%02X). 文件编码无法识别: %s", what, e.Offset, e.Byte, SaveAsUTF8)
}

// sniffLen is how much of a file detection looks at: enough Chinese text
// to tell GB18030 from UTF-8 with certainty, small enough for any file.
const sniffLen = 64 << 10

var (
	bomUTF8    = []byte{0xEF, 0xBB, 0xBF}
	bomUTF16LE = []byte{0xFF, 0xFE}
	bomUTF16BE = []byte{0xFE, 0xFF}
)

// NewReader returns r's text as UTF-8, in encoding enc (Auto detects it
// from the first 64 KiB: a BOM, else UTF-8, else GB18030 with Chinese in
// it). Text read as UTF-8 is checked to the end: the returned reader fails
// with a *NotUTF8Error at the first byte that is not UTF-8. A BOM is
// never part of the text.
func NewReader(r io.Reader, enc Encoding) (io.Reader, Info, error) {
	br := bufio.NewReaderSize(r, sniffLen)
	head, err := br.Peek(sniffLen)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
		return nil, Info{}, err
	}
	whole := len(head) < sniffLen // head is the whole file
	info := Info{Encoding: enc}
	switch {
	case bytes.HasPrefix(head, bomUTF8) && (enc == Auto || enc == UTF8):
		br.Discard(len(bomUTF8))
		info = Info{Encoding: UTF8, BOM: true, Detected: enc == Auto}
	case bytes.HasPrefix(head, bomUTF16LE) && (enc == Auto || enc == UTF16LE):
		info = Info{Encoding: UTF16LE, BOM: true, Detected: enc == Auto}
	case bytes.HasPrefix(head, bomUTF16BE) && (enc == Auto || enc == UTF16BE):
		info = Info{Encoding: UTF16BE, BOM: true, Detected: enc == Auto}
	case enc == Auto:
		info.Detected = true
		info.Encoding = detect(head, whole)
		if info.Encoding == "" {
			off := firstInvalid(head)
			return nil, info, &NotUTF8Error{Offset: int64(off), Byte: head[off], Named: Auto}
		}
	}
	switch info.Encoding {
	case UTF8:
		return &utf8Reader{r: br, offset: int64(len(bomUTF8)) * b2i(info.BOM)}, info, nil
	case GB18030:
		return &replacementCheck{r: transform.NewReader(br, simplifiedchinese.GB18030.NewDecoder()), enc: GB18030}, info, nil
	case UTF16LE, UTF16BE:
		order := xunicode.LittleEndian
		if info.Encoding == UTF16BE {
			order = xunicode.BigEndian
		}
		var dec *encoding.Decoder = xunicode.UTF16(order, xunicode.ExpectBOM).NewDecoder()
		if !info.BOM {
			dec = xunicode.UTF16(order, xunicode.IgnoreBOM).NewDecoder()
		}
		return &replacementCheck{r: transform.NewReader(br, dec), enc: info.Encoding}, info, nil
	}
	return nil, info, fmt.Errorf("unknown encoding %q", enc)
}

// Decode is NewReader for a file in memory.
func Decode(data []byte, enc Encoding) ([]byte, Info, error) {
	r, info, err := NewReader(bytes.NewReader(data), enc)
	if err != nil {
		return nil, info, err
	}
	text, err := io.ReadAll(r)
	if err != nil {
		return nil, info, err
	}
	return text, info, nil
}

func b2i(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// detect tells UTF-8 from GB18030 by the head of a file (whole: the whole
// file); "" for neither. A head cut in the middle of a character is not
// held against it.
func detect(head []byte, whole bool) Encoding {
	if validUTF8(head, whole) {
		return UTF8
	}
	head = trimPartialGB(head, whole)
	text, err := simplifiedchinese.GB18030.NewDecoder().Bytes(head)
	if err != nil || bytes.Contains(text, replacement) || !mostlyGB2312(head) {
		return ""
	}
	for _, r := range string(text) {
		if unicode.Is(unicode.Han, r) {
			return GB18030
		}
	}
	return "" // high bytes but no Chinese: some other code page
}

// mostlyGB2312 reports whether at least half of the two-byte characters
// are in GB2312's range (both bytes 0xA1–0xFE), as in Chinese text; a
// Latin-1 "é" before an ASCII letter is valid GBK too, but never there.
func mostlyGB2312(b []byte) bool {
	pairs, gb2312 := 0, 0
	for i := 0; i < len(b); {
		switch {
		case b[i] < 0x80:
			i++
		case i+1 < len(b) && b[i+1] >= 0x30 && b[i+1] <= 0x39:
			i += 4 // a four-byte GB18030 character
		default:
			pairs++
			if i+1 < len(b) && b[i] >= 0xA1 && b[i+1] >= 0xA1 {
				gb2312++
			}
			i += 2
		}
	}
	return gb2312*2 >= pairs
}

// validUTF8 is utf8.Valid, allowing the head of a longer file to end in
// the middle of a character.
func validUTF8(b []byte, whole bool) bool {
	if utf8.Valid(b) {
		return true
	}
	if whole {
		return false
	}
	for i := 1; i < utf8.UTFMax && i <= len(b); i++ {
		if utf8.RuneStart(b[len(b)-i]) {
			return utf8.Valid(b[:len(b)-i]) && !utf8.FullRune(b[len(b)-i:])
		}
	}
	return false
}

// trimPartialGB drops an incomplete GB18030 character at the end of the
// head of a longer file (a lead byte 0x81–0xFE, and up to three more).
func trimPartialGB(b []byte, whole bool) []byte {
	if whole {
		return b
	}
	for i := 0; i < len(b); {
		switch {
		case b[i] < 0x80:
			i++
		case i+1 < len(b) && b[i+1] >= 0x30 && b[i+1] <= 0x39:
			if i+4 > len(b) {
				return b[:i]
			}
			i += 4
		case i+1 < len(b):
			i += 2
		default:
			return b[:i]
		}
	}
	return b
}

// firstInvalid is the offset of the first byte that is not UTF-8.
func firstInvalid(b []byte) int {
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n <= 1 {
			return i
		}
		i += n
	}
	return 0
}

// utf8Reader passes UTF-8 through and fails at the first byte that is
// not, keeping a character cut by a read for the next one.
type utf8Reader struct {
	r      io.Reader
	offset int64  // bytes of the file before buf
	carry  []byte // the start of a character the last read cut
	err    error
}

func (u *utf8Reader) Read(p []byte) (int, error) {
	if u.err != nil {
		return 0, u.err
	}
	if len(p) < utf8.UTFMax {
		return 0, io.ErrShortBuffer
	}
	n := copy(p, u.carry)
	u.carry = u.carry[:0]
	m, err := u.r.Read(p[n:])
	n += m
	good := n
	if err == nil {
		// Keep an incomplete last character for the next read.
		for i := 1; i < utf8.UTFMax && i <= n; i++ {
			if utf8.RuneStart(p[n-i]) {
				if !utf8.FullRune(p[n-i : n]) {
					good = n - i
				}
				break
			}
		}
	}
	if !utf8.Valid(p[:good]) {
		off := firstInvalid(p[:good])
		u.err = &NotUTF8Error{Offset: u.offset + int64(off), Byte: p[off], Named: UTF8}
		return off, nil
	}
	u.carry = append(u.carry, p[good:n]...)
	u.offset += int64(good)
	if err != nil {
		u.err = err
		if len(u.carry) > 0 && errors.Is(err, io.EOF) { // the file ends inside a character
			u.err = &NotUTF8Error{Offset: u.offset, Byte: u.carry[0], Named: UTF8}
			return good, nil
		}
	}
	return good, err
}

var replacement = []byte(string(utf8.RuneError))

// replacementCheck fails when a decoder met bytes that are not valid in
// its encoding (x/text writes U+FFFD for them).
type replacementCheck struct {
	r      io.Reader
	enc    Encoding
	offset int64
}

func (c *replacementCheck) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if i := bytes.Index(p[:n], replacement); i >= 0 {
		return i, fmt.Errorf("the file is not valid %s (at byte %d of the text converted to UTF-8); %s", strings.ToUpper(string(c.enc)), c.offset+int64(i), SaveAsUTF8)
	}
	c.offset += int64(n)
	return n, err
}
