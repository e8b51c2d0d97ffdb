//go:build linux

package main

import (
	"bytes"
	"compress/gzip"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/kfsidebar/kfsidebar/certs"
)

// body is one response the upstream serves, encoded once at start so that
// the upstream costs the same whatever proxy is in front of it.
type body struct {
	ctype    string
	identity []byte
	gzipped  []byte
}

func newBody(ctype string, b []byte) (*body, error) {
	var z bytes.Buffer
	w := gzip.NewWriter(&z)
	if _, err := w.Write(b); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return &body{ctype: ctype, identity: b, gzipped: z.Bytes()}, nil
}

// upstream is the stand-in console: HTTPS (HTTP/1.1 only, or HTTP/2 as
// well) with its own test CA, serving the page, the accept responses and
// the long poll.
type upstream struct {
	ca     *certs.CA
	addr   string
	srv    *http.Server
	gzip   bool
	poll   time.Duration
	bodies map[string]*body // by workload name
}

// startUpstream listens on a loopback port. gz makes it answer in gzip
// whenever the request accepts it, as the real console is assumed to do;
// h2 makes it offer HTTP/2 too (ALPN h2, then http/1.1), so that a client
// offering both gets HTTP/2; poll is how long a long poll is held before it
// answers.
func startUpstream(gz, h2 bool, poll time.Duration, log *slog.Logger) (*upstream, error) {
	ca, err := certs.New(certs.Options{Hosts: []string{consoleHost, tunnelHost}, CommonName: "proxybench upstream test CA"})
	if err != nil {
		return nil, err
	}
	leaves := certs.NewLeaves(ca, certs.LeafOptions{})
	leaf, err := leaves.Get(consoleHost)
	if err != nil {
		return nil, err
	}
	tunnelLeaf, err := leaves.Get(tunnelHost)
	if err != nil {
		return nil, err
	}
	u := &upstream{ca: ca, gzip: gz, poll: poll, bodies: map[string]*body{}}
	for name, b := range map[string]struct {
		ctype string
		data  []byte
	}{
		"page":   {"text/html; charset=UTF-8", consolePage(100 << 10)},
		"10kb":   {"application/json; charset=UTF-8", acceptResponse(10 << 10)},
		"1mb":    {"application/json; charset=UTF-8", acceptResponse(1 << 20)},
		"tabs":   {"application/json; charset=UTF-8", longPollResponse()},
		"asset":  {"application/javascript; charset=utf-8", consoleScript(100 << 10)},
		"other":  {"text/plain; charset=utf-8", []byte("ok\n")},
		"tunnel": {"application/octet-stream", tunnelBody()},
	} {
		if u.bodies[name], err = newBody(b.ctype, b.data); err != nil {
			return nil, err
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	u.addr = ln.Addr().String()
	var protos http.Protocols
	protos.SetHTTP1(true)
	nextProtos := []string{"http/1.1"}
	if h2 {
		protos.SetHTTP2(true)
		nextProtos = []string{"h2", "http/1.1"}
	}
	u.srv = &http.Server{
		Handler:           http.HandlerFunc(u.serve),
		Protocols:         &protos,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug),
		TLSConfig: &tls.Config{
			Certificates: []tls.Certificate{*leaf, *tunnelLeaf}, // by SNI
			MinVersion:   tls.VersionTLS12,
			NextProtos:   nextProtos,
		},
	}
	go func() {
		if err := u.srv.ServeTLS(ln, "", ""); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("upstream stopped", "err", err)
		}
	}()
	return u, nil
}

func (u *upstream) close() { u.srv.Close() }

// workloadBody maps a request to its workload by path and query.
func workloadBody(path, action, size string) string {
	switch {
	case path == "/cgi-bin/kfindex":
		return "page"
	case path == "/cgi-bin/kfmsg" && action == "getnewmsg":
		return "tabs"
	case path == "/cgi-bin/kfunaccepted" && size == "10k":
		return "10kb"
	case path == "/cgi-bin/kfunaccepted" && size == "1m":
		return "1mb"
	case strings.HasPrefix(path, "/mpres/"):
		return "asset"
	case path == tunnelPath:
		return "tunnel"
	}
	return "other"
}

func (u *upstream) serve(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	name := workloadBody(r.URL.Path, q.Get("action"), q.Get("size"))
	if name == "tabs" {
		select {
		case <-time.After(u.poll):
		case <-r.Context().Done():
			return
		}
	}
	b := u.bodies[name]
	h := w.Header()
	h.Set("Content-Type", b.ctype)
	h.Set("Cache-Control", "no-cache, no-store, must-revalidate")
	data := b.identity
	if u.gzip && q.Get("kfbench_enc") != "identity" && acceptsGzip(r.Header.Values("Accept-Encoding")) {
		h.Set("Content-Encoding", "gzip")
		h.Set("Vary", "Accept-Encoding")
		data = b.gzipped
	}
	h.Set("Content-Length", strconv.Itoa(len(data)))
	w.Write(data)
}

func acceptsGzip(values []string) bool {
	for _, v := range values {
		for _, part := range strings.Split(v, ",") {
			name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
			if strings.EqualFold(strings.TrimSpace(name), "gzip") && strings.ReplaceAll(params, " ", "") != "q=0" {
				return true
			}
		}
	}
	return false
}
