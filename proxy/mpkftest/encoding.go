package mpkftest

import (
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/andybalholm/brotli"
)

// reply writes body with Content-Type ctype, compressed with the
// configured Encoding when the request's Accept-Encoding allows it. The
// real console's compression is unknown, which is why it is an option:
// the proxy must cope with each.
func (s *Server) reply(w http.ResponseWriter, r *http.Request, status int, ctype string, body []byte) {
	h := w.Header()
	h.Set("Content-Type", ctype)
	h.Add("Vary", "Accept-Encoding")
	if enc := s.opts.Encoding; enc != "none" && len(body) > 0 && accepts(r.Header.Get("Accept-Encoding"), enc) {
		z, err := compress(enc, body)
		if err != nil {
			s.log.Error("mpkftest compress", "encoding", enc, "err", err)
		} else {
			body = z
			h.Set("Content-Encoding", enc)
			if et := h.Get("ETag"); et != "" {
				h.Set("ETag", strings.TrimSuffix(et, `"`)+"-"+enc+`"`)
			}
		}
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
}

// accepts reports whether an Accept-Encoding header allows coding: named
// (or matched by "*") with a q-value above zero. An explicit q=0 for the
// coding wins over "*".
func accepts(header, coding string) bool {
	star := false
	for part := range strings.SplitSeq(header, ",") {
		name, params, _ := strings.Cut(part, ";")
		name = strings.ToLower(strings.TrimSpace(name))
		ok := qNonZero(params)
		switch name {
		case coding:
			return ok
		case "*":
			star = ok
		}
	}
	return star
}

// qNonZero reports whether the parameters of an Accept-Encoding element
// leave its q-value above zero (no q means 1).
func qNonZero(params string) bool {
	for p := range strings.SplitSeq(params, ";") {
		k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
		if strings.EqualFold(strings.TrimSpace(k), "q") {
			q, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			return err == nil && q > 0
		}
	}
	return true
}

// compress encodes body with gzip, br or deflate (zlib-wrapped).
func compress(coding string, body []byte) ([]byte, error) {
	var buf bytes.Buffer
	var w io.WriteCloser
	switch coding {
	case "gzip":
		w = gzip.NewWriter(&buf)
	case "br":
		w = brotli.NewWriter(&buf)
	case "deflate":
		w = zlib.NewWriter(&buf)
	default:
		return nil, fmt.Errorf("compress: unknown coding %q", coding)
	}
	if _, err := w.Write(body); err != nil {
		return nil, fmt.Errorf("compress %s: %w", coding, err)
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("compress %s: %w", coding, err)
	}
	return buf.Bytes(), nil
}
