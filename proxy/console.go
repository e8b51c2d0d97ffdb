package proxy

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"net/http/httputil"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/kfsidebar/kfsidebar/internal/hostport"
	"github.com/kfsidebar/kfsidebar/proxy/console"
	"github.com/kfsidebar/kfsidebar/proxy/inject"
	"github.com/kfsidebar/kfsidebar/proxy/scan"
)

// serveConsole handles one decrypted request to a console host: our own
// paths are answered locally, everything else goes upstream.
func (p *Proxy) serveConsole(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, console.ReservedPrefix) {
		recoverHandler(p.log, p.cfg.Local).ServeHTTP(w, r)
		return
	}
	if !p.hosts.Contains(r.Host) {
		// A browser reusing this connection for another host (HTTP/1.1
		// does not, but be strict): that host was never meant to be
		// decrypted.
		http.Error(w, "kfsidebar: misdirected request\n", http.StatusMisdirectedRequest)
		return
	}
	p.console.ServeHTTP(noSniffWriter{w}, r)
}

// noSniffWriter keeps net/http from adding a Content-Type the upstream did
// not send: the server sniffs one from the first bytes when the header is
// absent, and whether those bytes come before the headers are flushed is a
// race inside ReverseProxy.
type noSniffWriter struct{ http.ResponseWriter }

func (w noSniffWriter) WriteHeader(code int) {
	if _, ok := w.Header()["Content-Type"]; !ok {
		w.Header()["Content-Type"] = nil // present, so not sniffed; nil, so not sent
	}
	w.ResponseWriter.WriteHeader(code)
}

// Unwrap lets http.ResponseController reach Flush and Hijack.
func (w noSniffWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (p *Proxy) newConsoleProxy() *httputil.ReverseProxy {
	var encodings acceptEncodings
	return &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			target, _ := pr.In.Context().Value(targetKey{}).(string)
			if target == "" {
				target = pr.In.Host
			}
			pr.Out.URL.Scheme = "https"
			pr.Out.URL.Host = target
			pr.Out.Host = pr.In.Host
			if ae := pr.Out.Header["Accept-Encoding"]; len(ae) > 0 {
				// Out's header is a copy of In's: its slice is ours to change.
				ae[0] = encodings.decodable(ae)
				pr.Out.Header["Accept-Encoding"] = ae[:1]
			}
		},
		Transport:  p.upstream,
		BufferPool: &copyBuffers{},
		// FlushInterval stays 0: ReverseProxy already flushes every write of
		// a response of unknown length (chunked long polls, server-sent
		// events), and flushing each write of the others only made more,
		// smaller TLS records. A response with a Content-Length is not
		// flushed before it ends (profiled again for issue 17: no flush on
		// that path; docs/benchmarks.md).
		ModifyResponse: p.modifyResponse,
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			if errors.Is(err, context.Canceled) {
				return // the browser went away; nothing to tell it
			}
			p.log.Warn("console upstream failed", "host", r.Host, "path", r.URL.Path, "err", err)
			writeUnreachable(w, r, err)
		},
	}
}

// modifyResponse decides, per console response, between pass-through,
// HTML injection and scanning. It never returns an error: whatever goes
// wrong in our code, the browser gets the original response.
func (p *Proxy) modifyResponse(resp *http.Response) (err error) {
	defer func() {
		if v := recover(); v != nil {
			p.log.Error("panic while inspecting a console response; passed through", "panic", v, "path", resp.Request.URL.Path)
			err = nil
		}
	}()
	if !hasBody(resp) {
		return nil
	}
	if p.isPage(resp) {
		p.rewritePage(resp)
		return nil
	}
	source, target := console.Endpoint(resp.Request.URL)
	if target || p.wantsFastReplies(resp.Request.URL) || p.wantsWaitingList(resp.Request.URL) || (!p.cfg.ScanTargetsOnly && maybeJSON(resp)) {
		resp.Body = newScanBody(p, resp, source)
	}
	return nil
}

func hasBody(resp *http.Response) bool {
	switch {
	case resp.Request.Method == http.MethodHead,
		resp.StatusCode < 200, resp.StatusCode == http.StatusNoContent,
		resp.StatusCode == http.StatusNotModified, resp.StatusCode == http.StatusPartialContent:
		return false
	}
	return resp.Body != nil && resp.Body != http.NoBody
}

// isPage reports whether resp is a console HTML document worth injecting:
// a successful top-level navigation answered with HTML (or no type).
// Fetch/XHR answers are never injected, even when the console labels its
// JSON text/html.
func (p *Proxy) isPage(resp *http.Response) bool {
	if resp.StatusCode != http.StatusOK || resp.Request.Method != http.MethodGet {
		return false
	}
	switch resp.Request.Header.Get("Sec-Fetch-Dest") {
	case "", "document":
	default:
		return false
	}
	ct := resp.Header.Get("Content-Type")
	if ct == "" {
		return true
	}
	mt, _, err := mime.ParseMediaType(ct)
	return err == nil && (mt == "text/html" || mt == "application/xhtml+xml")
}

// maybeJSON filters out responses that cannot be JSON, so images, scripts
// and styles are streamed without a second look. Whether a body is JSON is
// decided by parsing it, not by its label.
func maybeJSON(resp *http.Response) bool {
	if resp.StatusCode != http.StatusOK {
		return false
	}
	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	for _, prefix := range []string{"image/", "audio/", "video/", "font/", "text/css", "application/wasm", "application/pdf"} {
		if strings.HasPrefix(mt, prefix) {
			return false
		}
	}
	return !strings.Contains(mt, "javascript")
}

// rewritePage reads a console page, learns the chats in its inline
// bootstrap and injects the sidebar script. Any failure restores the
// original bytes.
func (p *Proxy) rewritePage(resp *http.Response) {
	path := resp.Request.URL.Path
	orig, err := io.ReadAll(io.LimitReader(resp.Body, p.cfg.MaxBodyBytes+1))
	rest := resp.Body
	restore := func(reason string, err error) {
		p.log.Warn("console page passed through unchanged", "reason", reason, "path", path, "err", err)
		resp.Body = readCloser{io.MultiReader(bytes.NewReader(orig), rest), rest}
	}
	if err != nil {
		restore("read failed", err)
		return
	}
	if int64(len(orig)) > p.cfg.MaxBodyBytes {
		restore("too large", nil)
		return
	}
	rest.Close()
	rest = http.NoBody
	coding := resp.Header.Get("Content-Encoding")
	doc, err := Decode(coding, orig, p.cfg.MaxBodyBytes)
	if err != nil {
		restore("cannot decode", err)
		return
	}
	if !inject.LooksLikeHTML(doc) {
		restore("not html", nil)
		return
	}
	if recs := scan.Page(doc, time.Now()); len(recs) > 0 {
		p.add(resp.Request.Context(), console.SourcePage, recs)
	}
	inj := inject.Injection{ScriptSrc: p.cfg.ScriptSrc, Nonce: nonce(), ConsoleHost: originHost(resp.Request.Host)}
	out, changed := inject.HTML(doc, inj)
	if !changed {
		resp.Body = io.NopCloser(bytes.NewReader(orig))
		return
	}
	body, err := Encode(coding, out)
	if err != nil {
		restore("cannot encode", err)
		return
	}
	h := resp.Header
	for i, v := range h.Values("Content-Security-Policy") {
		if patched, ok := inject.PatchCSP(v, inj); ok {
			h["Content-Security-Policy"][i] = patched
		}
	}
	// The page is now ours: no validator may let a cache serve it as the
	// upstream's, and no checksum may describe the old bytes.
	h.Del("ETag")
	h.Del("Last-Modified")
	h.Del("Content-MD5")
	h.Del("Digest")
	h.Del("Repr-Digest")
	h.Del("Content-Digest")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	resp.ContentLength = int64(len(body))
	resp.TransferEncoding = nil
	resp.Body = io.NopCloser(bytes.NewReader(body))
}

// originHost is the host[:port] of the console origin as the page sees it:
// the port stays unless it is the default, so CSP sources match.
func originHost(hp string) string {
	host, port, err := net.SplitHostPort(hp)
	if err != nil || port == "443" {
		return hostport.Host(hp)
	}
	return net.JoinHostPort(hostport.Host(host), port)
}

// acceptEncodings remembers the last Accept-Encoding rewritten: a browser
// sends the same one with every request, and rewriting it each time
// allocated.
type acceptEncodings struct {
	last atomic.Pointer[[2]string] // the request's value, and what it became
}

// decodable is decodableEncodings(values), remembered for a single value.
func (a *acceptEncodings) decodable(values []string) string {
	if len(values) != 1 {
		return decodableEncodings(values)
	}
	if last := a.last.Load(); last != nil && last[0] == values[0] {
		return last[1]
	}
	out := decodableEncodings(values)
	a.last.Store(&[2]string{values[0], out})
	return out
}

// decodableEncodings keeps, of a request's Accept-Encoding, only the codings
// Decode understands (gzip, deflate, br, identity), with their weights.
// Otherwise a console answering in zstd would get its page passed through
// uninjected and its JSON unscanned. Asking for fewer codings changes no
// response byte: the browser still gets exactly what the console sends.
func decodableEncodings(values []string) string {
	var keep []string
	for _, v := range values {
		for _, part := range strings.Split(v, ",") {
			name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
			switch name = strings.ToLower(strings.TrimSpace(name)); name {
			case "*":
				name = "identity" // "anything" must not let zstd in
				fallthrough
			case "gzip", "x-gzip", "deflate", "br", "identity":
				if params != "" {
					name += ";" + params
				}
				keep = append(keep, name)
			}
		}
	}
	if len(keep) == 0 {
		return "identity"
	}
	return strings.Join(keep, ", ")
}

// add hands scanned records to the Sink. It runs on the response path (the
// browser already has every byte; only the end of the exchange waits), so
// a Sink must not block on storage: chats.Sessions updates memory and leaves the
// SQLite write to its own writer.
func (p *Proxy) add(ctx context.Context, source string, recs []console.Record) {
	defer func() {
		if v := recover(); v != nil {
			p.log.Error("panic while storing scanned chats", "panic", v, "source", source)
		}
	}()
	if err := p.cfg.Sink.Add(context.WithoutCancel(ctx), recs); err != nil {
		p.log.Warn("could not store scanned chats", "source", source, "err", err)
	}
	if p.log.Enabled(ctx, slog.LevelDebug) { // the arguments allocate even when not logged
		p.log.Debug("scanned chats", "source", source, "count", len(recs))
	}
}

// scanBody streams a console response to the browser unchanged while
// keeping a copy (up to limit); once the body has been read to the end, the
// copy is scanned for chat users.
type scanBody struct {
	io.ReadCloser
	p        *Proxy
	resp     *http.Response
	source   string
	limit    int64
	buf      *[]byte // the copy, from getBody; nil until the first byte or when too large
	overflow bool
	eof      bool
	done     bool
}

func newScanBody(p *Proxy, resp *http.Response, source string) *scanBody {
	b := &scanBody{ReadCloser: resp.Body, p: p, resp: resp, source: source, limit: p.cfg.MaxBodyBytes}
	switch n := resp.ContentLength; {
	case n > b.limit:
		b.overflow = true // known to be too large: never copied at all
	case n > 0:
		b.buf = getBody(int(n)) // the one buffer this copy needs
	}
	return b
}

func (b *scanBody) Read(q []byte) (int, error) {
	n, err := b.ReadCloser.Read(q)
	if n > 0 && !b.overflow {
		if b.buf == nil {
			b.buf = getBody(n)
		}
		if need := int64(len(*b.buf) + n); need > b.limit {
			b.overflow = true
			b.release()
		} else {
			if need > int64(cap(*b.buf)) {
				// Grow by doubling, but never past the limit: a
				// bytes.Buffer would reach twice the limit.
				growBody(b.buf, int(min(max(2*int64(cap(*b.buf)), need), b.limit)))
			}
			*b.buf = append(*b.buf, q[:n]...)
		}
	}
	if err == io.EOF {
		b.eof = true
	}
	return n, err
}

// release gives the copy back to the pool.
func (b *scanBody) release() {
	putBody(b.buf)
	b.buf = nil
}

func (b *scanBody) Close() error {
	err := b.ReadCloser.Close()
	if !b.done {
		b.done = true
		b.p.scanLater(b)
	}
	return err
}

// scanLater scans a response the browser has read to the end off the
// response path: net/http sends the last bytes of a response (and reads the
// connection's next request) only when the handler returns, so a scan on
// the response path would add its time to every scanned response. At most
// len(scanSlots) scans run at once; when all slots are taken the response
// path scans itself, so a burst slows the console down rather than piling
// up response copies in memory. (Scanning every 10 KB response on the
// response path instead, to save the goroutine, measured the same CPU per
// request within the noise: docs/benchmarks.md.)
func (p *Proxy) scanLater(b *scanBody) {
	if !b.eof || b.overflow {
		b.scan() // nothing to parse, at most a log line
		return
	}
	select {
	case p.scanSlots <- struct{}{}:
		p.scanning.Add(1)
		go func() {
			defer p.scanning.Done()
			defer func() { <-p.scanSlots }()
			b.scan()
		}()
	default:
		b.scan()
	}
}

func (b *scanBody) scan() {
	defer b.release()
	defer func() {
		if v := recover(); v != nil {
			b.p.log.Error("panic while scanning a console response", "panic", v, "path", b.resp.Request.URL.Path)
		}
	}()
	path := b.resp.Request.URL.Path
	switch {
	case !b.eof:
		return // the browser went away mid-body; a partial document says nothing
	case b.overflow:
		b.p.log.Info("console response too large to scan; passed through unscanned", "path", path, "limit", b.limit)
		return
	}
	var copied []byte
	if b.buf != nil {
		copied = *b.buf
	}
	doc, docBuf, err := decodePooled(b.resp.Header.Get("Content-Encoding"), copied, b.limit)
	defer putBody(docBuf) // the records hold copies of what they need
	if err != nil {
		level := b.p.log.Debug
		if b.source != console.SourceOther {
			level = b.p.log.Warn
		}
		level("console response not scanned", "path", path, "err", err)
		return
	}
	b.p.scanFastReplies(b.resp.Request.URL, doc)
	b.p.scanWaitingList(b.resp.Request.URL, doc)
	recs, err := scan.JSON(doc, b.source, time.Now())
	if err != nil {
		if b.source != console.SourceOther {
			b.p.log.Warn("accept response is not JSON; passed through unscanned", "path", path, "err", err)
		}
		return
	}
	if len(recs) > 0 {
		b.p.add(b.resp.Request.Context(), b.source, recs)
	}
}

type readCloser struct {
	io.Reader
	io.Closer
}

// nonce returns a fresh CSP nonce for one injected page.
func nonce() string {
	var b [16]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}
