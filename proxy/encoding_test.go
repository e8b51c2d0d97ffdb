package proxy

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"errors"
	"runtime"
	"strings"
	"testing"

	"github.com/andybalholm/brotli"
)

// samplePage is compressible text with some non-ASCII, like a console page.
var samplePage = []byte(strings.Repeat("<div class=\"card\">客服 nickname 😀</div>\n", 500))

func TestEncodeDecodeRoundTrip(t *testing.T) {
	for _, coding := range []string{"", "identity", "gzip", "x-gzip", "deflate", "br", "GZIP", " Br ", "gzip, br", "br,deflate", "identity, gzip"} {
		t.Run(coding, func(t *testing.T) {
			enc, err := Encode(coding, samplePage)
			if err != nil {
				t.Fatalf("Encode: %v", err)
			}
			got, err := Decode(coding, enc, 1<<20)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if !bytes.Equal(got, samplePage) {
				t.Errorf("round trip changed the body: got %d bytes, want %d", len(got), len(samplePage))
			}
		})
	}
}

func TestEncodeDeflateIsZlib(t *testing.T) {
	enc, err := Encode("deflate", samplePage)
	if err != nil {
		t.Fatal(err)
	}
	if !looksZlib(enc) {
		t.Errorf("deflate output %x… has no zlib header", enc[:2])
	}
}

func TestDecodeDeflateForms(t *testing.T) {
	var raw, wrapped bytes.Buffer
	fw, _ := flate.NewWriter(&raw, flate.BestCompression)
	fw.Write(samplePage)
	fw.Close()
	zw := zlib.NewWriter(&wrapped)
	zw.Write(samplePage)
	zw.Close()
	for name, body := range map[string][]byte{"raw": raw.Bytes(), "zlib": wrapped.Bytes()} {
		got, err := Decode("deflate", body, 1<<20)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if !bytes.Equal(got, samplePage) {
			t.Errorf("%s: decoded body differs", name)
		}
	}
}

func TestDecodeStackedOrder(t *testing.T) {
	// "gzip, br" means gzip was applied first, then br.
	var gz bytes.Buffer
	w := gzip.NewWriter(&gz)
	w.Write(samplePage)
	w.Close()
	var br bytes.Buffer
	bw := brotli.NewWriter(&br)
	bw.Write(gz.Bytes())
	bw.Close()
	got, err := Decode("gzip, br", br.Bytes(), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, samplePage) {
		t.Error("decoded body differs")
	}
	if _, err := Decode("br, gzip", br.Bytes(), 1<<20); err == nil {
		t.Error("wrong order decoded without error")
	}
}

func TestDecodeCorrupt(t *testing.T) {
	gz, _ := Encode("gzip", samplePage)
	br, _ := Encode("br", samplePage)
	df, _ := Encode("deflate", samplePage)
	badCRC := bytes.Clone(gz)
	badCRC[len(badCRC)-6] ^= 0xff
	tests := []struct {
		name, coding string
		body         []byte
	}{
		{"gzip garbage", "gzip", []byte("definitely not gzip")},
		{"gzip truncated", "gzip", gz[:len(gz)/2]},
		{"gzip bad crc", "gzip", badCRC},
		{"br garbage", "br", []byte("\xff\xff\xff\xff not brotli")},
		{"br truncated", "br", br[:len(br)/2]},
		{"deflate garbage", "deflate", []byte("\xff\xff\xff\xff not deflate")},
		{"deflate truncated", "deflate", df[:len(df)/2]},
		{"json labelled gzip", "gzip", []byte(`{"base_resp":{"ret":0}}`)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Decode(tt.coding, tt.body, 1<<20)
			if err == nil {
				t.Fatalf("Decode = %d bytes, nil error; want an error", len(got))
			}
			if errors.Is(err, ErrTooLarge) || errors.Is(err, ErrUnsupportedEncoding) {
				t.Errorf("err = %v; want a corrupt-data error", err)
			}
		})
	}
}

func TestDecodeEmptyBody(t *testing.T) {
	for _, coding := range []string{"gzip", "deflate", "br", "gzip, br"} {
		got, err := Decode(coding, nil, 1<<20)
		if err != nil || len(got) != 0 {
			t.Errorf("Decode(%q, empty) = %q, %v; want empty, nil", coding, got, err)
		}
	}
}

func TestDecodeUnsupported(t *testing.T) {
	for _, coding := range []string{"compress", "zstd", "gzip, zstd", "x-compress", "chunked"} {
		if _, err := Decode(coding, []byte("x"), 1<<20); !errors.Is(err, ErrUnsupportedEncoding) {
			t.Errorf("Decode(%q) err = %v; want ErrUnsupportedEncoding", coding, err)
		}
		if _, err := Encode(coding, []byte("x")); !errors.Is(err, ErrUnsupportedEncoding) {
			t.Errorf("Encode(%q) err = %v; want ErrUnsupportedEncoding", coding, err)
		}
	}
}

func TestDecodeLimit(t *testing.T) {
	body := bytes.Repeat([]byte("a"), 1000)
	for _, coding := range []string{"", "gzip", "deflate", "br", "gzip, br"} {
		enc, err := Encode(coding, body)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Decode(coding, enc, 1000); err != nil {
			t.Errorf("%q at exactly the limit: %v", coding, err)
		}
		if _, err := Decode(coding, enc, 999); !errors.Is(err, ErrTooLarge) {
			t.Errorf("%q one byte over the limit: err = %v; want ErrTooLarge", coding, err)
		}
	}
}

// TestDecodeBomb checks that 4 MiB of zeros squeezed into a few kilobytes
// stops at a 64 KiB limit without the decoder allocating the expansion.
// Decoders allocate a fixed amount of their own (flate tables; brotli its
// window, which the stream chooses, at most 16 MiB), so the budget allows
// that on top; the bombs use a small brotli window to keep the test fast.
func TestDecodeBomb(t *testing.T) {
	const limit = 64 << 10
	zeros := make([]byte, 4<<20)
	var br bytes.Buffer
	bw := brotli.NewWriterOptions(&br, brotli.WriterOptions{Quality: 5, LGWin: 16})
	bw.Write(zeros)
	bw.Close()
	gzbr := func() []byte {
		var gz bytes.Buffer
		w := gzip.NewWriter(&gz)
		w.Write(zeros)
		w.Close()
		var out bytes.Buffer
		bw := brotli.NewWriterOptions(&out, brotli.WriterOptions{Quality: 5, LGWin: 16})
		bw.Write(gz.Bytes())
		bw.Close()
		return out.Bytes()
	}()
	gz, _ := Encode("gzip", zeros)
	df, _ := Encode("deflate", zeros)
	bombs := []struct {
		coding string
		body   []byte
	}{{"gzip", gz}, {"deflate", df}, {"br", br.Bytes()}, {"gzip, br", gzbr}}
	for _, b := range bombs {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		_, err := Decode(b.coding, b.body, limit)
		runtime.ReadMemStats(&after)
		if !errors.Is(err, ErrTooLarge) {
			t.Errorf("%q bomb of %d bytes: err = %v; want ErrTooLarge", b.coding, len(b.body), err)
		}
		if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 4*limit+256<<10 {
			t.Errorf("%q bomb: allocated %d bytes decoding with a %d-byte limit", b.coding, alloc, limit)
		}
	}
}

var fuzzCodings = []string{"", "gzip", "deflate", "br", "gzip, br", "identity", "x-gzip, deflate"}

func FuzzDecode(f *testing.F) {
	gz, _ := Encode("gzip", []byte("<html>"))
	f.Add(uint8(1), gz)
	f.Add(uint8(3), []byte{0x1b, 0x05, 0x00, 0xf8, 0x25, 0x82, 0x82, 0xb1, 0x4c, 0x01})
	f.Fuzz(func(t *testing.T, which uint8, body []byte) {
		const limit = 1 << 20
		coding := fuzzCodings[int(which)%len(fuzzCodings)]
		if out, err := Decode(coding, body, limit); err == nil && len(out) > limit {
			t.Fatalf("decoded %d bytes over the %d limit", len(out), limit)
		}
		enc, err := Encode(coding, body)
		if err != nil {
			t.Fatal(err)
		}
		dec, err := Decode(coding, enc, limit)
		if err != nil && !(len(body) > limit && errors.Is(err, ErrTooLarge)) {
			t.Fatalf("round trip: %v", err)
		}
		if err == nil && !bytes.Equal(dec, body) {
			t.Fatal("round trip changed the body")
		}
	})
}
