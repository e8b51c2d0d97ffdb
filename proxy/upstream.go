package proxy

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// ParseUpstreamProxy checks an upstream proxy URL: http://HOST:PORT or
// https://HOST:PORT, optionally with user:password@ for Basic auth. A bare
// HOST:PORT means http://HOST:PORT, the way Windows and macOS store it.
func ParseUpstreamProxy(s string) (*url.URL, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, fmt.Errorf("upstream proxy: empty")
	}
	if !strings.Contains(s, "://") {
		s = "http://" + s
	}
	u, err := url.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("upstream proxy %q: %w", s, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("upstream proxy %q: want an http:// or https:// proxy (got %s://)", s, u.Scheme)
	}
	if u.Hostname() == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
		return nil, fmt.Errorf("upstream proxy %q: want http://HOST:PORT", s)
	}
	if u.Port() == "" {
		port := "80"
		if u.Scheme == "https" {
			port = "443"
		}
		u.Host = net.JoinHostPort(u.Hostname(), port)
	}
	u.Path = ""
	return u, nil
}

// upstreamDialer opens blind tunnels through an upstream HTTP proxy with
// CONNECT. (Console traffic and plain HTTP go through http.Transport,
// which speaks to the proxy itself.)
type upstreamDialer struct {
	proxy *url.URL
	dial  func(ctx context.Context, network, addr string) (net.Conn, error)
	// roots verify an https:// proxy; nil means the system roots.
	roots *tls.Config
}

// connectTimeout bounds the CONNECT exchange with the upstream proxy, on
// top of the dial timeout: a proxy that accepts but never answers must not
// hang the browser's tab.
const connectTimeout = 15 * time.Second

func (d *upstreamDialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	conn, err := d.dial(ctx, network, d.proxy.Host)
	if err != nil {
		return nil, fmt.Errorf("dial upstream proxy %s: %w", d.proxy.Host, err)
	}
	deadline := time.Now().Add(connectTimeout)
	if dl, ok := ctx.Deadline(); ok && dl.Before(deadline) {
		deadline = dl
	}
	conn.SetDeadline(deadline)
	if d.proxy.Scheme == "https" {
		conf := &tls.Config{ServerName: d.proxy.Hostname(), MinVersion: tls.VersionTLS12}
		if d.roots != nil {
			conf = d.roots.Clone()
			conf.ServerName = d.proxy.Hostname()
		}
		tc := tls.Client(conn, conf)
		if err := tc.HandshakeContext(ctx); err != nil {
			conn.Close()
			return nil, fmt.Errorf("upstream proxy %s: %w", d.proxy.Host, err)
		}
		conn = tc
	}
	req := &http.Request{
		Method: http.MethodConnect,
		URL:    &url.URL{Opaque: addr},
		Host:   addr,
		Header: http.Header{},
	}
	if u := d.proxy.User; u != nil {
		pass, _ := u.Password()
		req.Header.Set("Proxy-Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(u.Username()+":"+pass)))
	}
	if err := req.Write(conn); err != nil {
		conn.Close()
		return nil, fmt.Errorf("upstream proxy %s: %w", d.proxy.Host, err)
	}
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, req)
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("upstream proxy %s: %w", d.proxy.Host, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		conn.Close()
		return nil, fmt.Errorf("upstream proxy %s refused CONNECT %s: %s", d.proxy.Host, addr, resp.Status)
	}
	conn.SetDeadline(time.Time{})
	if br.Buffered() > 0 {
		// The proxy may have sent the tunnel's first bytes with its answer.
		return &bufferedConn{Conn: conn, r: br}, nil
	}
	return conn, nil
}

// bufferedConn reads what the CONNECT answer's reader buffered first.
type bufferedConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *bufferedConn) Read(p []byte) (int, error) { return c.r.Read(p) }
