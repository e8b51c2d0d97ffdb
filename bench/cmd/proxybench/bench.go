//go:build linux

package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// config is the benchmark's flags.
type config struct {
	Duration, Warmup time.Duration
	Repeat           int
	Conns, LatConns  int
	Tabs, TabStreams int
	Poll             time.Duration
	Fresh            int
	Proxies          []string
	Workloads        []workload
	Extras           bool
	Gzip             bool
	UpstreamH2       bool
	BenchDir         string
	Whistle          string
	Out              string
	Profile          string
	Verbose          bool
	Scenarios        map[string]bool // which scenarios run: consoles, tunnel
}

func parseFlags(args []string) (config, error) {
	c := config{}
	fs := flag.NewFlagSet("proxybench", flag.ContinueOnError)
	fs.DurationVar(&c.Duration, "duration", 10*time.Second, "measured time of each run")
	fs.DurationVar(&c.Warmup, "warmup", 2*time.Second, "unmeasured load before each run")
	fs.IntVar(&c.Repeat, "repeat", 3, "runs per proxy and workload; medians are reported")
	fs.IntVar(&c.Conns, "conns", 8, "keep-alive connections of the throughput runs")
	fs.IntVar(&c.LatConns, "lat-conns", 1, "connections of the latency run (10 KB JSON)")
	fs.IntVar(&c.Tabs, "tabs", 200, "long-polling tabs of the memory run")
	fs.IntVar(&c.TabStreams, "tab-streams", 4, "connections fetching 10 KB accept responses during the memory run")
	fs.DurationVar(&c.Poll, "poll", 2*time.Second, "how long the upstream holds a long poll")
	fs.IntVar(&c.Fresh, "fresh", 50, "new connections (one TLS handshake each) of the certificate run")
	list := fs.String("proxies", "direct,goproxy,kfsidebar,mitmproxy,whistle,whistle-inject", "what to measure, in this order")
	wl := fs.String("workloads", strings.Join(workloadNames(), ","), "throughput workloads to measure, in this order")
	fs.BoolVar(&c.Extras, "extras", true, "also run the latency, long-poll and new-connection scenarios")
	fs.BoolVar(&c.Gzip, "gzip", true, "upstream answers in gzip when asked, as the console is assumed to (the -plain workloads never are)")
	fs.BoolVar(&c.UpstreamH2, "upstream-h2", false, "upstream offers HTTP/2 as well as HTTP/1.1 (kfsidebar-h2 then speaks HTTP/2 to it)")
	fs.StringVar(&c.BenchDir, "bench", "bench", "the repository's bench directory (addon, rules, plugin)")
	fs.StringVar(&c.Whistle, "whistle", defaultWhistle(), "whistle's bin/whistle.js (bench/setup.sh installs it)")
	fs.StringVar(&c.Out, "out", "", "markdown file to write the figures into (between the proxybench markers); the chart goes next to it; empty prints to stdout")
	fs.StringVar(&c.Profile, "profile", "", "directory where kfsidebar and goproxy write a CPU profile per run (go tool pprof)")
	fs.BoolVar(&c.Verbose, "v", false, "log each run")
	scenarios := fs.String("scenarios", "console,tunnel", "what to measure: console (the console's traffic: every workload, latency, tabs, new connections) and tunnel (1 MB downloads through a blind tunnel; direct, goproxy and kfsidebar only)")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	for _, name := range strings.Split(*list, ",") {
		if !slices.ContainsFunc(proxies, func(p proxyDef) bool { return p.Name == name }) {
			return c, fmt.Errorf("-proxies: unknown %q", name)
		}
		c.Proxies = append(c.Proxies, name)
	}
	for _, name := range strings.Split(*wl, ",") {
		w, ok := workloadNamed(name)
		if !ok {
			return c, fmt.Errorf("-workloads: unknown %q (known: %s)", name, strings.Join(workloadNames(), ", "))
		}
		c.Workloads = append(c.Workloads, w)
	}
	c.Scenarios = map[string]bool{}
	for _, sc := range strings.Split(*scenarios, ",") {
		if sc != "console" && sc != "tunnel" {
			return c, fmt.Errorf("-scenarios: unknown %q (console, tunnel)", sc)
		}
		c.Scenarios[sc] = true
	}
	if c.Repeat < 1 || c.Conns < 1 || c.LatConns < 1 {
		return c, errors.New("-repeat, -conns and -lat-conns must be at least 1")
	}
	return c, nil
}

func defaultWhistle() string {
	dir := os.Getenv("KFSIDEBAR_BENCH_TOOLS")
	if dir == "" {
		cache, err := os.UserCacheDir()
		if err != nil {
			return ""
		}
		dir = filepath.Join(cache, "kfsidebar-bench")
	}
	return filepath.Join(dir, "node_modules", "whistle", "bin", "whistle.js")
}

// workload is one kind of request the tabs make.
type workload struct {
	Name  string
	Path  string
	Body  string // the upstream's body it fetches
	Doc   bool   // a top-level navigation (the page)
	Plain bool   // the upstream answers uncompressed, whatever the client accepts
	Label string
	// MinRatio is kfsidebar's throughput target as a share of bare
	// goproxy's; MaxAlloc, if set, caps kfsidebar's allocation per
	// response.
	MinRatio float64
	MaxAlloc int64
}

// workloads are every throughput workload, in the order they are measured
// by default. The latency and memory runs use "10kb".
var workloads = []workload{
	{Name: "page", Path: pagePath, Body: "page", Doc: true, Label: "console page (100 KB HTML): scanned and injected", MinRatio: 0.8},
	{Name: "10kb", Path: accept10KB, Body: "10kb", Label: "accept response, 10 KB JSON (gzip on the wire): scanned", MinRatio: 0.8, MaxAlloc: 40 << 10},
	{Name: "10kb-plain", Path: accept10KB + plainQuery, Body: "10kb", Plain: true, Label: "accept response, 10 KB JSON (uncompressed): scanned", MinRatio: 0.7, MaxAlloc: 40 << 10},
	{Name: "1mb", Path: accept1MB, Body: "1mb", Label: "accept response, 1 MB JSON (gzip on the wire): scanned", MinRatio: 0.8},
	{Name: "asset", Path: assetPath, Body: "asset", Label: "console script (100 KB JavaScript, gzip on the wire): passed through", MinRatio: 0.8},
	{Name: "asset-plain", Path: assetPath + plainQuery, Body: "asset", Plain: true, Label: "console script (100 KB JavaScript, uncompressed): passed through", MinRatio: 0.95},
}

func workloadNamed(name string) (workload, bool) {
	i := slices.IndexFunc(workloads, func(w workload) bool { return w.Name == name })
	if i < 0 {
		return workload{}, false
	}
	return workloads[i], true
}

func workloadNames() []string {
	var names []string
	for _, w := range workloads {
		names = append(names, w.Name)
	}
	return names
}

// accept10KBWorkload is what the latency, memory and new-connection runs
// fetch.
func accept10KBWorkload() workload {
	w, _ := workloadNamed("10kb")
	return w
}

// sample is one measured run.
type sample struct {
	Proxy, Scenario string
	Conns           int
	Load            loadResult
	Tabs            loadResult // the long polls of the memory run
	Usage           usage      // of the measured window (CPU) and the whole life (peak RSS)
	Mem             memDelta   // the Go runtime's counters over the measured window (kfsidebar, goproxy)
	Stats           map[string]any
	Handshakes      int64
	// FDsOpen and FDsAfter are the proxy's descriptors with the load's
	// connections open, and a little after they closed (tunnel scenario).
	FDsOpen, FDsAfter int
}

// bench runs everything and writes the report.
func bench(ctx context.Context, args []string) error {
	cfg, err := parseFlags(args)
	if err != nil {
		return err
	}
	logLevel := slog.LevelWarn
	if cfg.Verbose {
		logLevel = slog.LevelInfo
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: logLevel}))
	self, err := os.Executable()
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "proxybench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	up, err := startUpstream(cfg.Gzip, cfg.UpstreamH2, cfg.Poll, log)
	if err != nil {
		return err
	}
	defer up.close()
	e := &env{self: self, benchDir: cfg.BenchDir, whistle: cfg.Whistle, tmp: tmp, upstream: up,
		upstreamCA: filepath.Join(tmp, "upstream-ca.pem"), profile: cfg.Profile}
	if cfg.Profile != "" {
		if e.profile, err = filepath.Abs(cfg.Profile); err != nil {
			return err
		}
		if err := os.MkdirAll(e.profile, 0o755); err != nil {
			return err
		}
	}
	if err := os.WriteFile(e.upstreamCA, up.ca.CertPEM, 0o600); err != nil {
		return err
	}
	r := &runner{cfg: cfg, env: e, log: log}
	rep := &report{Config: cfg, Started: time.Now(), LoadBefore: loadAvg()}
	for _, name := range cfg.Proxies {
		v, err := r.verify(ctx, name)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		rep.Checks = append(rep.Checks, v)
		log.Info("checked", "proxy", name, "page", v.Page, "json", v.JSON, "chats", v.Chats)
	}
	for i := range cfg.Repeat {
		// Rotate the order each round, so that no proxy always runs
		// first (or last) on a machine whose load drifts.
		order := slices.Clone(cfg.Proxies)
		k := i % len(order)
		order = append(order[k:], order[:k]...)
		if cfg.Scenarios["tunnel"] {
			for _, name := range order {
				if !tunnelProxies[name] {
					continue
				}
				s, err := r.tunnel(ctx, name, cfg.Conns)
				if err != nil {
					return err
				}
				rep.Samples = append(rep.Samples, s)
			}
		}
		if !cfg.Scenarios["console"] {
			continue
		}
		for _, w := range cfg.Workloads {
			for _, name := range order {
				s, err := r.throughput(ctx, name, w, cfg.Conns)
				if err != nil {
					return err
				}
				rep.Samples = append(rep.Samples, s)
			}
		}
		if !cfg.Extras {
			continue
		}
		for _, name := range order {
			s, err := r.throughput(ctx, name, accept10KBWorkload(), cfg.LatConns)
			if err != nil {
				return err
			}
			s.Scenario = "latency"
			rep.Samples = append(rep.Samples, s)
		}
		for _, name := range order {
			if name == "direct" {
				continue
			}
			s, err := r.tabs(ctx, name)
			if err != nil {
				return err
			}
			rep.Samples = append(rep.Samples, s)
		}
		for _, name := range order {
			s, err := r.fresh(ctx, name)
			if err != nil {
				return err
			}
			rep.Samples = append(rep.Samples, s)
		}
	}
	if cfg.Scenarios["console"] {
		rep.Scan = measureScan(up)
	}
	rep.Machine = machineInfo(cfg)
	rep.Finished = time.Now()
	rep.LoadAfter = loadAvg()
	return rep.write(cfg.Out)
}

// runner starts proxies and drives them.
type runner struct {
	cfg config
	env *env
	log *slog.Logger
	n   int
}

func (r *runner) def(name string) proxyDef {
	i := slices.IndexFunc(proxies, func(p proxyDef) bool { return p.Name == name })
	return proxies[i]
}

// start launches a fresh instance of the proxy (nil for direct) in its
// own directory, so that every run's peak RSS is its own.
func (r *runner) start(name string) (*proc, error) {
	d := r.def(name)
	if d.start == nil {
		return nil, nil
	}
	r.n++
	dir := filepath.Join(r.env.tmp, fmt.Sprintf("%s-%d", name, r.n))
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	p, err := d.start(r.env, dir)
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	return p, nil
}

func (r *runner) url(w workload) string { return "https://" + consoleHost + w.Path }

// measure runs fn between two readings of the proxy's usage.
func measure(p *proc, fn func()) (usage, error) {
	if p == nil {
		fn()
		return usage{}, nil
	}
	before, err := treeUsage(p.pid())
	if err != nil {
		return usage{}, fmt.Errorf("%s: %w: %s", p.name, err, p.stderr)
	}
	fn()
	after, err := treeUsage(p.pid())
	if err != nil {
		return usage{}, fmt.Errorf("%s: %w: %s", p.name, err, p.stderr)
	}
	return usage{CPU: after.CPU - before.CPU, PeakRSS: after.PeakRSS, Procs: after.Procs}, nil
}

func (r *runner) stats(ctx context.Context, p *proc) map[string]any {
	if p == nil || p.stats == nil {
		return nil
	}
	m, err := p.stats(ctx)
	if err != nil {
		r.log.Warn("stats", "proxy", p.name, "err", err)
	}
	return m
}

// throughput is one closed-loop run of one workload at conns connections.
func (r *runner) throughput(ctx context.Context, name string, w workload, conns int) (sample, error) {
	p, err := r.start(name)
	if err != nil {
		return sample{}, err
	}
	if p != nil {
		defer p.stop()
	}
	g := newLoadGen(r.env.route(p), conns)
	defer g.close()
	hdr := browserHeaders(w.Doc)
	warm := g.run(ctx, r.url(w), hdr, r.cfg.Warmup)
	if warm.Requests == 0 {
		return sample{}, fmt.Errorf("%s %s: no request succeeded in the warm-up: %v", name, w.Name, warm.FirstErr)
	}
	var res loadResult
	before := r.stats(ctx, p)
	u, err := measure(p, func() { res = g.run(ctx, r.url(w), hdr, r.cfg.Duration) })
	if err != nil {
		return sample{}, err
	}
	after := r.stats(ctx, p)
	s := sample{Proxy: name, Scenario: w.Name, Conns: conns, Load: res, Usage: u, Mem: memBetween(before, after), Stats: after, Handshakes: g.handshakes.Load()}
	r.log.Info("run", "proxy", name, "workload", w.Name, "conns", conns, "rps", fmt.Sprintf("%.0f", res.RPS()),
		"p99", res.Quantile(0.99), "errors", res.Errors, "cpu", u.CPU, "rss_mb", u.PeakRSS>>20, "handshakes", g.handshakes.Load(),
		"alloc_per_req", s.Mem.perRequest(s.Mem.Bytes, res.Requests), "gc", s.Mem.GC)
	return s, ctx.Err()
}

// tabs holds Tabs long polls open through the proxy while TabStreams
// connections fetch 10 KB accept responses, and records the peak RSS.
func (r *runner) tabs(ctx context.Context, name string) (sample, error) {
	p, err := r.start(name)
	if err != nil {
		return sample{}, err
	}
	defer p.stop()
	route := r.env.route(p)
	polls := newLoadGen(route, r.cfg.Tabs)
	defer polls.close()
	accepts := newLoadGen(route, r.cfg.TabStreams)
	defer accepts.close()
	d := r.cfg.Duration + r.cfg.Poll
	var pollRes, acceptRes loadResult
	u, err := measure(p, func() {
		done := make(chan struct{})
		go func() {
			pollRes = polls.run(ctx, "https://"+consoleHost+longPollPath, browserHeaders(false), d)
			close(done)
		}()
		acceptRes = accepts.run(ctx, r.url(accept10KBWorkload()), browserHeaders(false), d)
		<-done
	})
	if err != nil {
		return sample{}, err
	}
	s := sample{Proxy: name, Scenario: "tabs", Conns: r.cfg.Tabs + r.cfg.TabStreams, Load: acceptRes, Tabs: pollRes,
		Usage: u, Stats: r.stats(ctx, p), Handshakes: polls.handshakes.Load() + accepts.handshakes.Load()}
	r.log.Info("tabs", "proxy", name, "polls", pollRes.Requests, "poll_errors", pollRes.Errors, "accept_rps", fmt.Sprintf("%.0f", acceptRes.RPS()),
		"rss_mb", u.PeakRSS>>20)
	return s, ctx.Err()
}

// fresh makes Fresh requests one after another, each on a new connection:
// each pays a TLS handshake with the proxy, which must not mint a new leaf.
func (r *runner) fresh(ctx context.Context, name string) (sample, error) {
	p, err := r.start(name)
	if err != nil {
		return sample{}, err
	}
	if p != nil {
		defer p.stop()
	}
	route := r.env.route(p)
	hdr := browserHeaders(false)
	var res loadResult
	var handshakes int64
	for range r.cfg.Fresh {
		g := newLoadGen(route, 1)
		t0 := time.Now()
		_, err := fetch(ctx, g.clients[0], r.url(accept10KBWorkload()), hdr)
		d := time.Since(t0)
		g.close()
		if err != nil {
			res.Errors++
			res.FirstErr = cmpErr(res.FirstErr, err)
			continue
		}
		handshakes++
		res.Requests++
		res.latencies = append(res.latencies, d)
		res.Elapsed += d
	}
	slices.Sort(res.latencies)
	s := sample{Proxy: name, Scenario: "fresh", Conns: 1, Load: res, Stats: r.stats(ctx, p), Handshakes: handshakes}
	return s, ctx.Err()
}
