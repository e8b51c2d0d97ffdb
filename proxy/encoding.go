package proxy

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/andybalholm/brotli"
)

// ErrTooLarge is returned by Decode when the decoded body would exceed the
// caller's limit. It guards against decompression bombs: a few kilobytes of
// gzip can expand to gigabytes, and the proxy must not buffer that.
var ErrTooLarge = errors.New("decoded body too large")

// ErrUnsupportedEncoding is returned for a Content-Encoding that kfsidebar
// cannot decode (compress, zstd, …). The caller then passes the response
// through untouched instead of scanning or injecting.
var ErrUnsupportedEncoding = errors.New("unsupported content-encoding")

// readChunk is how much decoded data is read per step. Decoders write into
// this scratch buffer first so that no decoder ever sees a tiny buffer near
// the limit (brotli returns io.ErrShortBuffer for those).
const readChunk = 32 << 10

// Decode undoes a Content-Encoding so the body can be scanned or injected.
// Several codings ("gzip, br") are undone in reverse order of application,
// as RFC 9110 lists them in the order they were applied. Coding names are
// case-insensitive; "" and "identity" mean none. deflate accepts both the
// zlib-wrapped form the RFC requires and the raw form some servers send,
// because browsers accept both and the console may use either.
//
// No intermediate or final result may exceed limit bytes: the result is
// ErrTooLarge, found after reading at most about limit bytes. When no coding
// applies, body itself is returned, not a copy.
func Decode(contentEncoding string, body []byte, limit int64) ([]byte, error) {
	var buf [4]string
	codings, err := parseCodings(buf[:0], contentEncoding)
	if err != nil {
		return nil, err
	}
	if int64(len(body)) > limit && len(codings) == 0 {
		return nil, ErrTooLarge
	}
	out := body
	for i := len(codings) - 1; i >= 0; i-- {
		next := make([]byte, 0, min(int64(len(out))*4+512, max(limit, 0)))
		if err = decodeOne(codings[i], out, limit, &next, false); err != nil {
			return nil, fmt.Errorf("decode %s: %w", codings[i], err)
		}
		out = next
	}
	return out, nil
}

// decodePooled is Decode for a body that is read only until the caller
// says it is done: a body in one coding (the console's gzip) is decoded
// into a pooled buffer, which the caller gives back with putBody (nil when
// doc is body itself or was allocated). The buffer is sized from gzip's
// trailer, which states the decoded size: one buffer, no regrowing.
func decodePooled(contentEncoding string, body []byte, limit int64) (doc []byte, buf *[]byte, err error) {
	var names [4]string
	codings, err := parseCodings(names[:0], contentEncoding)
	if err != nil || len(codings) != 1 {
		doc, err = Decode(contentEncoding, body, limit)
		return doc, nil, err
	}
	buf = getBody(decodedSizeHint(codings[0], body, limit))
	if err := decodeOne(codings[0], body, limit, buf, true); err != nil {
		putBody(buf)
		return nil, nil, fmt.Errorf("decode %s: %w", codings[0], err)
	}
	return *buf, buf, nil
}

// decodedSizeHint guesses the decoded size of body: gzip's ISIZE trailer
// (the size modulo 4 GiB), believed up to a ratio of 64 (a bomb may lie;
// reading stops at limit anyway), else four times the encoded size.
func decodedSizeHint(coding string, body []byte, limit int64) int {
	hint := int64(len(body))*4 + 512
	if n := len(body); coding == "gzip" && n >= 18 {
		isize := int64(binary.LittleEndian.Uint32(body[n-4:]))
		hint = min(isize, int64(n)*64+512)
	}
	return int(max(min(hint, limit), 0))
}

// Encode applies contentEncoding to body, the inverse of Decode, so that an
// injected page goes back to the browser with the coding its headers name.
// deflate is written zlib-wrapped, as RFC 9110 specifies.
func Encode(contentEncoding string, body []byte) ([]byte, error) {
	var buf [4]string
	codings, err := parseCodings(buf[:0], contentEncoding)
	if err != nil {
		return nil, err
	}
	out := body
	for _, c := range codings {
		if out, err = encodeOne(c, out); err != nil {
			return nil, fmt.Errorf("encode %s: %w", c, err)
		}
	}
	return out, nil
}

// parseCodings appends to codings the canonical coding names of a
// Content-Encoding value, in the order they were applied, dropping
// identity. It allocates nothing for the usual one or two codings when the
// caller passes room for them.
func parseCodings(codings []string, v string) ([]string, error) {
	for rest, more := v, true; more; {
		var c string
		c, rest, more = strings.Cut(rest, ",")
		c = strings.ToLower(strings.TrimSpace(c))
		switch c {
		case "", "identity":
		case "gzip", "x-gzip":
			codings = append(codings, "gzip")
		case "deflate", "br":
			codings = append(codings, c)
		default:
			return nil, fmt.Errorf("content-encoding %q: %w", c, ErrUnsupportedEncoding)
		}
	}
	return codings, nil
}

// decodeOne undoes one coding of in into *out, which has room for the
// first bytes; pooled says whether *out came from getBody (and grows
// through it).
func decodeOne(coding string, in []byte, limit int64, out *[]byte, pooled bool) error {
	if len(in) == 0 {
		// Servers label empty bodies (HEAD, 204, 304) with their usual
		// coding; browsers read them as empty, and so do we.
		return nil
	}
	switch coding {
	case "gzip":
		zr, err := getGzipReader(bytes.NewReader(in))
		if err != nil {
			return err
		}
		defer gzipReaders.Put(zr)
		return readLimited(zr, limit, out, pooled, true)
	case "deflate":
		if looksZlib(in) {
			zr, err := zlib.NewReader(bytes.NewReader(in))
			if err == nil {
				err = readLimited(zr, limit, out, pooled, true)
				if err == nil || errors.Is(err, ErrTooLarge) {
					return err
				}
			}
			// A raw stream can start with bytes that pass the zlib header
			// check by chance; try it as raw before giving up.
			*out = (*out)[:0]
		}
		return readLimited(flate.NewReader(bytes.NewReader(in)), limit, out, pooled, true)
	case "br":
		// Brotli answers io.ErrShortBuffer when the room it is given is
		// too small to make progress: it always reads into the scratch
		// chunk.
		return readLimited(brotli.NewReader(bytes.NewReader(in)), limit, out, pooled, false)
	}
	return ErrUnsupportedEncoding
}

// gzipReaders keeps gzip readers (each with its inflate window and tables,
// about 40 KB) for the next response: most scanned responses are a few KB of
// gzip, for which allocating a reader cost more than inflating.
var gzipReaders sync.Pool

func getGzipReader(r io.Reader) (*gzip.Reader, error) {
	zr, ok := gzipReaders.Get().(*gzip.Reader)
	if !ok {
		return gzip.NewReader(r)
	}
	if err := zr.Reset(r); err != nil {
		gzipReaders.Put(zr)
		return nil, err
	}
	return zr, nil
}

// readChunks are the scratch buffers of readLimited.
var readChunks = sync.Pool{New: func() any { return new([readChunk]byte) }}

// encodeOne compresses an injected page again, at the fastest levels: it
// only travels from the proxy to the browser on the same machine, so CPU
// matters and a few more bytes do not (re-compression was a third of the
// cost of an injected page at the default levels).
func encodeOne(coding string, in []byte) ([]byte, error) {
	buf := bytes.NewBuffer(make([]byte, 0, len(in)/3+512))
	var w io.WriteCloser
	switch coding {
	case "gzip":
		zw := gzipWriters.Get().(*gzip.Writer)
		defer gzipWriters.Put(zw)
		zw.Reset(buf)
		w = zw
	case "deflate":
		zw := zlibWriters.Get().(*zlib.Writer)
		defer zlibWriters.Put(zw)
		zw.Reset(buf)
		w = zw
	case "br":
		w = brotli.NewWriterLevel(buf, 1)
	default:
		return nil, ErrUnsupportedEncoding
	}
	if _, err := w.Write(in); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// gzipWriters and zlibWriters keep compressors for the next injected page:
// a new one allocates and clears about 1 MB of tables, which cost more than
// compressing the page at BestSpeed.
var (
	gzipWriters = sync.Pool{New: func() any {
		w, _ := gzip.NewWriterLevel(nil, gzip.BestSpeed) // valid level: no error
		return w
	}}
	zlibWriters = sync.Pool{New: func() any {
		w, _ := zlib.NewWriterLevel(nil, zlib.BestSpeed)
		return w
	}}
)

// looksZlib reports whether b starts with a zlib header (RFC 1950): method
// 8 (deflate), a window of at most 32 KiB and a header checksum divisible by
// 31. This is the same test browsers use to tell the two deflate forms apart.
func looksZlib(b []byte) bool {
	if len(b) < 2 {
		return false
	}
	cmf, flg := b[0], b[1]
	return cmf&0x0f == 8 && cmf>>4 <= 7 && (uint(cmf)<<8|uint(flg))%31 == 0
}

// readLimited reads r to the end, appending to *out, which never grows
// beyond limit bytes: ErrTooLarge as soon as one more byte is available.
// With direct, r reads straight into the room *out has left while that is
// at least minDirectRead bytes, saving a copy; else it reads into a
// scratch chunk. A pooled *out grows through the pool.
func readLimited(r io.Reader, limit int64, out *[]byte, pooled, direct bool) error {
	if limit < 0 {
		limit = 0
	}
	var scratch *[readChunk]byte
	defer func() {
		if scratch != nil {
			readChunks.Put(scratch)
		}
	}()
	for {
		b := *out
		room := b[len(b):max(min(int64(cap(b)), limit), int64(len(b)))]
		inPlace := direct && len(room) >= minDirectRead
		if !inPlace {
			if scratch == nil {
				scratch = readChunks.Get().(*[readChunk]byte)
			}
			room = scratch[:]
		}
		n, err := r.Read(room)
		if n > 0 {
			if inPlace {
				*out = b[:len(b)+n]
			} else {
				if int64(len(b))+int64(n) > limit {
					return ErrTooLarge
				}
				if len(b)+n > cap(b) {
					grown := min(max(int64(cap(b))*2, int64(len(b)+n)), limit)
					if pooled {
						growBody(out, int(grown))
					} else {
						nb := make([]byte, len(b), grown)
						copy(nb, b)
						*out = nb
					}
				}
				*out = append(*out, room[:n]...)
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// minDirectRead is the least room a decoder reads into directly.
const minDirectRead = 4 << 10
