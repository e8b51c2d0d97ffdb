package textfile

import (
	"bytes"
	"errors"
	"io"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"
	"unicode/utf8"

	"golang.org/x/text/encoding/simplifiedchinese"
	xunicode "golang.org/x/text/encoding/unicode"
)

func gbk(t *testing.T, s string) []byte {
	t.Helper()
	b, err := simplifiedchinese.GBK.NewEncoder().Bytes([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func utf16le(t *testing.T, s string) []byte {
	t.Helper()
	b, err := xunicode.UTF16(xunicode.LittleEndian, xunicode.UseBOM).NewEncoder().Bytes([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestDecode reads what Windows programs save: every way a file with
// Chinese in it comes out as the same UTF-8, saying when it was converted;
// what cannot be read is refused with how to save it as UTF-8.
func TestDecode(t *testing.T) {
	const text = `{"customers": [{"openid": "oA1", "name": "张三", "note": "老客户，顺丰"}]}`
	long := strings.Repeat("订单 order 张三\n", 10000) // past the 64 KiB sniffed
	for _, tt := range []struct {
		name      string
		data      []byte
		enc       Encoding
		want      string
		wantInfo  Info
		wantErr   string
		converted bool
	}{
		{name: "UTF-8", data: []byte(text), enc: Auto, want: text, wantInfo: Info{Encoding: UTF8, Detected: true}},
		{name: "UTF-8 with BOM (Notepad, Excel's CSV UTF-8)", data: append([]byte("\xEF\xBB\xBF"), text...), enc: Auto, want: text, wantInfo: Info{Encoding: UTF8, BOM: true, Detected: true}},
		{name: "GBK (Chinese Windows' ANSI, Excel's CSV, WPS)", data: gbk(t, text), enc: Auto, want: text, wantInfo: Info{Encoding: GB18030, Detected: true}, converted: true},
		{name: "a long GBK file", data: gbk(t, long), enc: Auto, want: long, wantInfo: Info{Encoding: GB18030, Detected: true}, converted: true},
		{name: "a long UTF-8 file", data: []byte(long), enc: Auto, want: long, wantInfo: Info{Encoding: UTF8, Detected: true}},
		{name: "UTF-16 (Notepad's Unicode)", data: utf16le(t, text), enc: Auto, want: text, wantInfo: Info{Encoding: UTF16LE, BOM: true, Detected: true}, converted: true},
		{name: "named GBK", data: gbk(t, text), enc: GB18030, want: text, wantInfo: Info{Encoding: GB18030}, converted: true},
		{name: "GBK named UTF-8", data: gbk(t, text), enc: UTF8, wantErr: "is not UTF-8 (byte 42 is 0xD5)"},
		{name: "Latin-1: neither", data: []byte("caf\xe9 cr\xe8me"), enc: Auto, wantErr: "is neither UTF-8 nor GBK/GB18030 (byte 3 is 0xE9)"},
		{name: "Latin-1 that is valid GBK: neither", data: []byte("Ren\xe9e Dupont"), enc: Auto, wantErr: "is neither UTF-8 nor GBK/GB18030 (byte 3 is 0xE9)"},
		{name: "UTF-8 going wrong after 64 KiB", data: append([]byte(long), 0xD5, 0xC5), enc: Auto, wantErr: "byte " + itoa(len(long)) + " is 0xD5"},
		{name: "UTF-8 cut inside a character", data: []byte(text)[:len(text)-len("顺丰\"}]}")+1], enc: Auto, wantErr: "(byte 72 is 0xE9)"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			// One byte a read: characters cut by every read boundary.
			r, info, err := NewReader(iotest.OneByteReader(bytes.NewReader(tt.data)), tt.enc)
			var got []byte
			if err == nil {
				got, err = readAll(r)
			}
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), "CSV UTF-8") {
					t.Fatalf("error %v, want one with %q and how to save as UTF-8", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("got %.80q…, want %.80q…", got, tt.want)
			}
			if info != tt.wantInfo || info.Converted() != tt.converted {
				t.Errorf("info %+v (converted %v), want %+v", info, info.Converted(), tt.wantInfo)
			}
			if tt.converted && info.Describe() == "" {
				t.Error("a converted file is not described")
			}
			if text, _, err := Decode(tt.data, tt.enc); err != nil || string(text) != tt.want {
				t.Errorf("Decode: %v", err)
			}
		})
	}
}

func readAll(r io.Reader) ([]byte, error) {
	var out bytes.Buffer
	buf := make([]byte, 7)
	for {
		n, err := r.Read(buf)
		out.Write(buf[:n])
		if errors.Is(err, io.EOF) {
			return out.Bytes(), nil
		}
		if err != nil {
			return out.Bytes(), err
		}
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

func TestParseEncoding(t *testing.T) {
	for in, want := range map[string]Encoding{"": Auto, "GBK": GB18030, "gb2312": GB18030, "UTF8": UTF8, "utf-16": UTF16LE} {
		if got, err := ParseEncoding(in); got != want || err != nil {
			t.Errorf("ParseEncoding(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := ParseEncoding("big5"); err == nil {
		t.Error("big5 accepted")
	}
}

// FuzzDecode: any bytes either read or fail with an error; what reads is
// UTF-8.
func FuzzDecode(f *testing.F) {
	f.Add([]byte("\xEF\xBB\xBF{}"))
	f.Add([]byte("\xD5\xC5\xC8\xFD"))
	f.Add([]byte("\xFF\xFEa\x00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		text, _, err := Decode(data, Auto)
		if err == nil && !utf8.Valid(text) {
			t.Fatalf("Decode(%q) = %q: not UTF-8", data, text)
		}
	})
}
