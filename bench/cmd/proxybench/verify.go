//go:build linux

package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"time"
)

func cmpErr(first, err error) error {
	if first != nil {
		return first
	}
	return err
}

// check is what one proxy was seen to do to the console traffic.
type check struct {
	Proxy string
	Page  string // what happened to the page
	JSON  string // how accept responses arrive: byte for byte, or not
	Chats string // users learned, as the proxy reports it
}

// verify fetches each workload once through the proxy and compares with
// what the upstream sent.
func (r *runner) verify(ctx context.Context, name string) (check, error) {
	c := check{Proxy: name, Chats: "–"}
	p, err := r.start(name)
	if err != nil {
		return c, err
	}
	if p != nil {
		defer p.stop()
	}
	g := newLoadGen(r.env.route(p), 1)
	defer g.close()
	client := g.clients[0]
	pageWorkload, _ := workloadNamed("page")
	resp, page, err := get(ctx, client, r.url(pageWorkload), browserHeaders(true))
	if err != nil {
		return c, fmt.Errorf("page: %w", err)
	}
	if resp.Header.Get("Content-Encoding") == "gzip" {
		if page, err = gunzip(page); err != nil {
			return c, fmt.Errorf("page: %w", err)
		}
	}
	c.Page = pageChange(page, r.env.upstream.bodies["page"].identity)
	c.JSON = "byte for byte"
	for _, w := range workloads {
		if w.Doc {
			continue
		}
		resp, b, err := get(ctx, client, r.url(w), browserHeaders(false))
		if err != nil {
			return c, fmt.Errorf("%s: %w", w.Name, err)
		}
		want := r.env.upstream.bodies[w.Body]
		if bytes.Equal(b, want.gzipped) || bytes.Equal(b, want.identity) {
			continue
		}
		c.JSON = "changed"
		if resp.Header.Get("Content-Encoding") == "gzip" {
			if plain, err := gunzip(b); err == nil && bytes.Equal(plain, want.identity) {
				c.JSON = "same JSON, compressed again"
			}
		}
	}
	if p != nil && p.stats != nil {
		// Scans may finish after the response (kfsidebar scans when the
		// body is closed, whistle's plugin writes its counters every
		// 250 ms): wait until the count stops changing.
		last, deadline := "", time.Now().Add(5*time.Second)
		for time.Now().Before(deadline) {
			time.Sleep(300 * time.Millisecond)
			n, ok := r.stats(ctx, p)["chats"].(float64)
			if !ok {
				break
			}
			if cur := fmt.Sprint(n); cur == last && n > 0 {
				break
			} else {
				last = cur
			}
		}
		if last != "" {
			c.Chats = last
		}
	}
	return c, nil
}

// pageChange compares the page the client got with the upstream's: the
// injected script (a <script> whose src is the sidebar's) is the only
// change a proxy should make.
func pageChange(got, orig []byte) string {
	if bytes.Equal(got, orig) {
		return "unchanged"
	}
	i := bytes.Index(got, []byte("/__kfsidebar/sidebar.js"))
	if i < 0 {
		return "changed, no script"
	}
	start := bytes.LastIndex(got[:i], []byte("<script"))
	end := bytes.Index(got[i:], []byte("</script>"))
	if start < 0 || end < 0 {
		return "changed"
	}
	rest := append(got[:start:start], got[i+end+len("</script>"):]...)
	if bytes.Equal(rest, orig) {
		return "script added, nothing else"
	}
	return "script added, and other changes"
}

func gunzip(b []byte) ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	return io.ReadAll(zr)
}
