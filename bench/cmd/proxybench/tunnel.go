//go:build linux

package main

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/url"
	"os"
	"strconv"
	"time"
)

// The tunnel scenario measures what the proxies cost on traffic they do
// not decrypt: every CONNECT to a host other than the console is a blind
// tunnel, which a browser pointed at the proxy by hand uses for every other
// site. kfsidebar copies tunnels through its own buffers (no splice pipes,
// an idle timeout, a cap); bare goproxy's io.Copy splices through a pair of
// pipes per direction. Only the proxies that tunnel other hosts take part:
// direct, goproxy and kfsidebar.

// tunnelHost is the site reached through the blind tunnels; the upstream
// has a certificate for it from its own CA, which the client trusts.
const tunnelHost = "blind.proxybench.test"

// tunnelPath is a 1 MiB download of random bytes: compression gains nothing.
const tunnelPath = "/download/1m.bin"

// tunnelProxies take part in the tunnel scenario.
var tunnelProxies = map[string]bool{"direct": true, "goproxy": true, "kfsidebar": true}

// tunnelBody is the download: 1 MiB of random bytes, the same every run.
func tunnelBody() []byte {
	b := make([]byte, 1<<20)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// tunnel is one closed-loop run of the download through a blind tunnel at
// conns connections. It also counts the proxy's descriptors with the
// connections open and idle, and a little after they closed.
func (r *runner) tunnel(ctx context.Context, name string, conns int) (sample, error) {
	p, err := r.start(name)
	if err != nil {
		return sample{}, err
	}
	if p != nil {
		defer p.stop()
	}
	rt := route{Direct: r.env.upstream.addr, Roots: r.env.upstream.ca.Pool()} // blind: the client trusts the site, not the proxy
	if p != nil {
		rt = route{Proxy: &url.URL{Scheme: "http", Host: p.addr}, Roots: r.env.upstream.ca.Pool()}
	}
	g := newLoadGen(rt, conns)
	u := "https://" + tunnelHost + tunnelPath
	hdr := browserHeaders(false)
	warm := g.run(ctx, u, hdr, r.cfg.Warmup)
	if warm.Requests == 0 {
		g.close()
		return sample{}, fmt.Errorf("%s tunnel: no request succeeded in the warm-up: %v", name, warm.FirstErr)
	}
	var res loadResult
	use, err := measure(p, func() { res = g.run(ctx, u, hdr, r.cfg.Duration) })
	if err != nil {
		g.close()
		return sample{}, err
	}
	s := sample{Proxy: name, Scenario: "tunnel", Conns: conns, Load: res, Usage: use, Handshakes: g.handshakes.Load()}
	if p != nil {
		s.FDsOpen = openFDs(p.pid())
		g.close()
		time.Sleep(tunnelSettle)
		s.FDsAfter = openFDs(p.pid())
	} else {
		g.close()
	}
	r.log.Info("tunnel", "proxy", name, "conns", conns, "rps", fmt.Sprintf("%.0f", res.RPS()), "p99", res.Quantile(0.99),
		"errors", res.Errors, "cpu", use.CPU, "fds_open", s.FDsOpen, "fds_after", s.FDsAfter)
	return s, ctx.Err()
}

// tunnelSettle is how long after the client closed its connections the
// proxy's descriptors are counted again: time for the closes to travel,
// far less than the minutes a pool of splice pipes waits for the garbage
// collector.
const tunnelSettle = 2 * time.Second

// openFDs counts the descriptors of process pid, -1 if it cannot.
func openFDs(pid int) int {
	ents, err := os.ReadDir("/proc/" + strconv.Itoa(pid) + "/fd")
	if err != nil {
		return -1
	}
	return len(ents)
}

// tunnelTable writes the tunnel scenario's figures, if it ran.
func (rep *report) tunnelTable(w io.Writer) {
	d, _ := rep.agg("tunnel", "direct")
	g, ok := rep.agg("tunnel", "goproxy")
	if _, k := rep.agg("tunnel", "kfsidebar"); !ok && !k {
		return
	}
	fmt.Fprintf(w, "### Blind tunnel: 1 MB downloads from a site the proxy does not decrypt, %d connections\n\n", rep.Config.Conns)
	fmt.Fprintln(w, "| proxy | req/s | × direct | × goproxy | p50 | p99 | CPU / req | CPU × goproxy | peak RSS | descriptors, connections open | descriptors, "+tunnelSettle.String()+" after they closed | errors |")
	fmt.Fprintln(w, "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
	for _, name := range rep.Config.Proxies {
		a, ok := rep.agg("tunnel", name)
		if !ok {
			continue
		}
		fmt.Fprintf(w, "| %s | %.0f | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", name, a.RPS,
			ratio(a.RPS, d.RPS), ratio(a.RPS, g.RPS), ms(a.P50), ms(a.P99),
			cpuStr(a.CPUPerReq), ratio(float64(a.CPUPerReq), float64(g.CPUPerReq)), mb(a.PeakRSS),
			fdStr(a.FDsOpen), fdStr(a.FDsAfter), errStr(a.Errors, a.Requests))
	}
	fmt.Fprintln(w)
}

func fdStr(n int) string {
	if n <= 0 {
		return "–"
	}
	return strconv.Itoa(n)
}
