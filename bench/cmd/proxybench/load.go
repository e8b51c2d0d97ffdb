//go:build linux

package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// route says how the load generator reaches the console: through a proxy
// (Proxy set), or directly at Direct, an address dialed for every host.
type route struct {
	Proxy  *url.URL
	Direct string
	// Roots are the CAs the client trusts: the proxy's for a MITM proxy,
	// the upstream's when direct.
	Roots *x509.CertPool
}

// loadGen is a fixed set of keep-alive connections, each driven by one
// goroutine that sends the next request as soon as the previous response
// has been read to the end: a closed-loop load, like browser tabs.
type loadGen struct {
	clients    []*http.Client
	handshakes atomic.Int64
}

// newLoadGen makes conns clients of one connection each. HTTP/2 is off on
// purpose: kfsidebar offers the browser only HTTP/1.1 on the console, and
// one connection per client keeps the connection count what was asked.
func newLoadGen(r route, conns int) *loadGen {
	g := &loadGen{}
	for range conns {
		tr := &http.Transport{
			TLSClientConfig:     &tls.Config{RootCAs: r.Roots, MinVersion: tls.VersionTLS12},
			TLSNextProto:        map[string]func(string, *tls.Conn) http.RoundTripper{},
			MaxIdleConns:        1,
			MaxIdleConnsPerHost: 1,
			MaxConnsPerHost:     1,
			DisableCompression:  true, // the request says what it accepts; bodies are counted as sent
			IdleConnTimeout:     time.Minute,
		}
		if r.Proxy != nil {
			tr.Proxy = http.ProxyURL(r.Proxy)
		} else {
			var d net.Dialer
			tr.DialContext = func(ctx context.Context, network, _ string) (net.Conn, error) {
				return d.DialContext(ctx, network, r.Direct)
			}
		}
		g.clients = append(g.clients, &http.Client{Transport: tr})
	}
	return g
}

func (g *loadGen) close() {
	for _, c := range g.clients {
		c.CloseIdleConnections()
	}
}

// loadResult is what one timed run measured.
type loadResult struct {
	Requests  int64
	Errors    int64
	Bytes     int64
	Elapsed   time.Duration
	FirstErr  error
	latencies []time.Duration // sorted
}

// RPS is completed requests per second.
func (r loadResult) RPS() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Requests) / r.Elapsed.Seconds()
}

// Quantile returns the q-quantile latency (nearest rank), 0 without data.
func (r loadResult) Quantile(q float64) time.Duration {
	if len(r.latencies) == 0 {
		return 0
	}
	i := int(q*float64(len(r.latencies))+0.5) - 1
	return r.latencies[min(max(i, 0), len(r.latencies)-1)]
}

// browserHeaders are what Chromium sends for a top-level navigation
// (document) or a fetch from the console's script (json).
func browserHeaders(document bool) http.Header {
	h := http.Header{
		"User-Agent":      {"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"},
		"Accept-Encoding": {"gzip, deflate, br"},
		"Accept-Language": {"zh-CN,zh;q=0.9,en;q=0.8"},
		"Cookie":          {"slave_user=gh_0123456789ab; slave_sid=Ym9ndXMtc2Vzc2lvbi1mb3ItYmVuY2htYXJr; uuid=5d2c0e6d3b1f"},
	}
	if document {
		h.Set("Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8")
		h.Set("Sec-Fetch-Dest", "document")
		h.Set("Sec-Fetch-Mode", "navigate")
	} else {
		h.Set("Accept", "application/json, text/javascript, */*; q=0.01")
		h.Set("Sec-Fetch-Dest", "empty")
		h.Set("Sec-Fetch-Mode", "cors")
		h.Set("X-Requested-With", "XMLHttpRequest")
	}
	return h
}

// run drives every connection at u for d: no request starts after d, and
// those running then are waited for (and counted), so that connections stay
// alive from one run to the next. Cancelling ctx ends the run at once;
// requests cut short that way are neither counted nor errors.
func (g *loadGen) run(ctx context.Context, u string, hdr http.Header, d time.Duration) loadResult {
	trace := &httptrace.ClientTrace{
		TLSHandshakeDone: func(_ tls.ConnectionState, err error) {
			if err == nil {
				g.handshakes.Add(1)
			}
		},
	}
	tctx := httptrace.WithClientTrace(ctx, trace)
	var (
		mu  sync.Mutex
		res loadResult
		wg  sync.WaitGroup
	)
	start := time.Now()
	stop := start.Add(d)
	for _, c := range g.clients {
		wg.Go(func() {
			var lat []time.Duration
			var n, errs, bytes int64
			var firstErr error
			for ctx.Err() == nil && time.Now().Before(stop) {
				t0 := time.Now()
				nb, err := fetch(tctx, c, u, hdr)
				if ctx.Err() != nil {
					break
				}
				if err != nil {
					errs++
					if firstErr == nil {
						firstErr = err
					}
					continue
				}
				n++
				bytes += nb
				lat = append(lat, time.Since(t0))
			}
			mu.Lock()
			res.Requests += n
			res.Errors += errs
			res.Bytes += bytes
			res.latencies = append(res.latencies, lat...)
			if res.FirstErr == nil {
				res.FirstErr = firstErr
			}
			mu.Unlock()
		})
	}
	wg.Wait()
	res.Elapsed = time.Since(start)
	slices.Sort(res.latencies)
	return res
}

// fetch sends one GET and reads the whole body; anything but a 200 is an
// error.
func fetch(ctx context.Context, c *http.Client, u string, hdr http.Header) (int64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return 0, err
	}
	req.Header = hdr.Clone()
	resp, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	n, err := io.Copy(io.Discard, resp.Body)
	if err != nil {
		return n, err
	}
	if resp.StatusCode != http.StatusOK {
		return n, fmt.Errorf("GET %s: %s", u, resp.Status)
	}
	return n, nil
}

// get fetches u once and returns the response with its body read.
func get(ctx context.Context, c *http.Client, u string, hdr http.Header) (*http.Response, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, nil, err
	}
	req.Header = hdr.Clone()
	resp, err := c.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err == nil && resp.StatusCode != http.StatusOK {
		err = errors.New(resp.Status)
	}
	return resp, b, err
}
