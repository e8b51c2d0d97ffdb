package proxy

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
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
	codings, err := parseCodings(contentEncoding)
	if err != nil {
		return nil, err
	}
	if int64(len(body)) > limit && len(codings) == 0 {
		return nil, ErrTooLarge
	}
	out := body
	for i := len(codings) - 1; i >= 0; i-- {
		if out, err = decodeOne(codings[i], out, limit); err != nil {
			return nil, fmt.Errorf("decode %s: %w", codings[i], err)
		}
	}
	return out, nil
}

// Encode applies contentEncoding to body, the inverse of Decode, so that an
// injected page goes back to the browser with the coding its headers name.
// deflate is written zlib-wrapped, as RFC 9110 specifies.
func Encode(contentEncoding string, body []byte) ([]byte, error) {
	codings, err := parseCodings(contentEncoding)
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

// parseCodings splits a Content-Encoding value into canonical coding names
// in the order they were applied, dropping identity.
func parseCodings(v string) ([]string, error) {
	var codings []string
	for _, c := range strings.Split(v, ",") {
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

func decodeOne(coding string, in []byte, limit int64) ([]byte, error) {
	if len(in) == 0 {
		// Servers label empty bodies (HEAD, 204, 304) with their usual
		// coding; browsers read them as empty, and so do we.
		return in, nil
	}
	switch coding {
	case "gzip":
		zr, err := getGzipReader(bytes.NewReader(in))
		if err != nil {
			return nil, err
		}
		defer gzipReaders.Put(zr)
		return readLimited(zr, limit, len(in))
	case "deflate":
		if looksZlib(in) {
			zr, err := zlib.NewReader(bytes.NewReader(in))
			if err == nil {
				out, err := readLimited(zr, limit, len(in))
				if err == nil || errors.Is(err, ErrTooLarge) {
					return out, err
				}
			}
			// A raw stream can start with bytes that pass the zlib header
			// check by chance; try it as raw before giving up.
		}
		return readLimited(flate.NewReader(bytes.NewReader(in)), limit, len(in))
	case "br":
		return readLimited(brotli.NewReader(bytes.NewReader(in)), limit, len(in))
	}
	return nil, ErrUnsupportedEncoding
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

// readLimited reads r to the end into a buffer that never grows beyond
// limit bytes, returning ErrTooLarge as soon as one more byte is available.
// sizeHint (the compressed size) picks the first allocation.
func readLimited(r io.Reader, limit int64, sizeHint int) ([]byte, error) {
	if limit < 0 {
		limit = 0
	}
	first := min(int64(sizeHint)*4+512, limit)
	out := make([]byte, 0, first)
	scratch := readChunks.Get().(*[readChunk]byte)
	defer readChunks.Put(scratch)
	chunk := scratch[:]
	for {
		n, err := r.Read(chunk)
		if n > 0 {
			if int64(len(out))+int64(n) > limit {
				return nil, ErrTooLarge
			}
			if len(out)+n > cap(out) {
				grown := make([]byte, len(out), min(max(int64(cap(out))*2, int64(len(out)+n)), limit))
				copy(grown, out)
				out = grown
			}
			out = append(out, chunk[:n]...)
		}
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
	}
}
