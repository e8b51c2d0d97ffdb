package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kfsidebar/kfsidebar/push/wechattest"
	"github.com/kfsidebar/kfsidebar/push/wire"
)

type config struct {
	gateways []string
	modes    []wire.Mode
	format   wire.Format
	duration time.Duration
	warmup   time.Duration
	rate     int
	conns    int
	verbose  bool
	profile  string
	// The gateways compared with kfsidebar (bench/pushcompare).
	silenceper  string // binary; built when empty
	webotScript string
	nodeModules string
}

// result is one gateway in one mode.
type result struct {
	gateway, mode string
	// Closed loop.
	throughput float64
	cpuPerPush time.Duration
	// Open loop at rate.
	p50, p99, max time.Duration
	sent, errs    int64
	late          int64 // replies over 5 s: WeChat would have given up
	delivered     int64
	accepted      int64
	drain         time.Duration // for the closed loop's outbox to empty
}

func bench(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("pushbench", flag.ContinueOnError)
	gateways := fs.String("gateways", "kfsidebar,kfsidebar-nostore,silenceper,webot,floor,floor-tcp", "gateways to measure, comma-separated: kfsidebar (SQLite), kfsidebar-nostore (no dedupe, no outbox), silenceper, webot, and the floors, plain mode only: floor (net/http answering without any work) and floor-tcp (no net/http either)")
	modes := fs.String("modes", "plain,safe", "modes: plain, compatible, safe")
	format := fs.String("format", "xml", "xml or json")
	cfg := config{}
	fs.DurationVar(&cfg.duration, "duration", 10*time.Second, "measured time per scenario")
	fs.DurationVar(&cfg.warmup, "warmup", time.Second, "unmeasured time before each")
	fs.IntVar(&cfg.rate, "rate", 1000, "pushes per second of the latency scenario")
	fs.IntVar(&cfg.conns, "conns", 16, "connections of the throughput scenario")
	fs.BoolVar(&cfg.verbose, "v", false, "log each run")
	fs.StringVar(&cfg.profile, "profile", "", "directory for a CPU profile of each gateway run")
	fs.StringVar(&cfg.silenceper, "silenceper", "", "silenceper gateway binary (default: built from bench/pushcompare)")
	fs.StringVar(&cfg.webotScript, "webot-script", "bench/pushcompare/webot/server.js", "node-webot gateway script")
	fs.StringVar(&cfg.nodeModules, "node-modules", defaultNodeModules(), "node_modules holding wechat (bench/setup.sh installs it)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg.gateways = strings.Split(*gateways, ",")
	for _, m := range strings.Split(*modes, ",") {
		switch m {
		case "plain":
			cfg.modes = append(cfg.modes, wire.Plain)
		case "compatible":
			cfg.modes = append(cfg.modes, wire.Compatible)
		case "safe":
			cfg.modes = append(cfg.modes, wire.Safe)
		default:
			return fmt.Errorf("-modes: unknown mode %q", m)
		}
	}
	cfg.format = wire.XML
	if *format == "json" {
		cfg.format = wire.JSON
	}
	if slices.Contains(cfg.gateways, "silenceper") && cfg.silenceper == "" {
		dir, err := os.MkdirTemp("", "pushbench-bin-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		cfg.silenceper = filepath.Join(dir, "silenceper")
		build := exec.CommandContext(ctx, "go", "build", "-C", "bench/pushcompare", "-o", cfg.silenceper, "./silenceper")
		build.Stderr = os.Stderr
		if err := build.Run(); err != nil {
			return fmt.Errorf("build the silenceper gateway (run from the repository's top): %w", err)
		}
	}
	var results []result
	for _, gw := range cfg.gateways {
		for _, mode := range cfg.modes {
			if strings.HasPrefix(gw, "floor") && mode != wire.Plain {
				continue // a floor neither verifies nor encrypts
			}
			r, err := measure(ctx, cfg, gw, mode)
			if err != nil {
				return fmt.Errorf("%s %s: %w", gw, mode, err)
			}
			results = append(results, r)
		}
	}
	report(out, cfg, results)
	return nil
}

// target is the shop's system: it counts deliveries.
type target struct {
	n   atomic.Int64
	url string
}

func startTarget() (*target, func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, nil, err
	}
	t := &target{url: "http://" + ln.Addr().String() + "/hook"}
	hs := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		t.n.Add(1)
	})}
	go hs.Serve(ln)
	return t, func() { hs.Close() }, nil
}

// measure runs both scenarios against a fresh gateway process.
func measure(ctx context.Context, cfg config, gw string, mode wire.Mode) (result, error) {
	r := result{gateway: gw, mode: mode.String()}
	tg, stopTarget, err := startTarget()
	if err != nil {
		return r, err
	}
	defer stopTarget()
	dir, err := os.MkdirTemp("", "pushbench-")
	if err != nil {
		return r, err
	}
	defer os.RemoveAll(dir)
	var extra []string
	if cfg.profile != "" {
		extra = []string{"-cpuprofile", filepath.Join(cfg.profile, gw+"-"+mode.String()+".pprof")}
	}
	url, pid, stop, err := startGateway(ctx, cfg, gw, dir, tg.url, extra...)
	if err != nil {
		return r, err
	}
	defer stop()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256, MaxConnsPerHost: 256}, Timeout: 10 * time.Second}
	s := &wechattest.Sender{URL: url, Account: account, Mode: mode, Format: cfg.format, Client: client}
	// Check it does the work before timing it.
	if ok, err := s.VerifyURL(ctx); !ok || err != nil {
		return r, fmt.Errorf("URL check failed (%v)", err)
	}
	check, err := s.Send(ctx, wechattest.Text("oBench", "hi", time.Now(), wechattest.NextMsgID()))
	if err != nil || !check.Transferred || check.Invalid != nil {
		return r, fmt.Errorf("first push not transferred: %v %+v", err, check)
	}
	accepted := int64(1)

	// Throughput: conns senders back to back.
	wn, werrs := closedLoop(ctx, s, cfg.conns, cfg.warmup)
	accepted += wn + werrs
	before, err := cpuTime(pid)
	if err != nil {
		return r, err
	}
	n, errs := closedLoop(ctx, s, cfg.conns, cfg.duration)
	after, _ := cpuTime(pid)
	r.throughput = float64(n) / cfg.duration.Seconds()
	if n > 0 {
		r.cpuPerPush = (after - before) / time.Duration(n)
	}
	accepted += n + errs // errors may still have been recorded
	if cfg.verbose {
		fmt.Fprintf(os.Stderr, "%s %s: %.0f pushes/s, %d errors\n", gw, mode, r.throughput, errs)
	}

	// The outbox behind the closed loop drains before the latency run, so
	// that run sees a gateway at its rate, not one still catching up.
	if gw == "kfsidebar" {
		start := time.Now()
		waitDelivered(ctx, tg, accepted)
		r.drain = time.Since(start)
	}

	// Latency at a fixed rate.
	lat, errs2, late, warm := openLoop(ctx, s, cfg.rate, cfg.warmup+cfg.duration, cfg.warmup)
	r.sent, r.errs, r.late = int64(len(lat)), errs2, late
	accepted += int64(len(lat)) + errs2 + warm
	if len(lat) > 0 {
		slices.Sort(lat)
		r.p50, r.p99, r.max = lat[len(lat)/2], lat[len(lat)*99/100], lat[len(lat)-1]
	}
	// Every accepted push reaches the target (the outbox drains). The
	// others have no outbox.
	r.accepted = accepted
	if gw != "kfsidebar" {
		return r, ctx.Err()
	}

	waitDelivered(ctx, tg, accepted)
	r.delivered = tg.n.Load()
	return r, ctx.Err()
}

// waitDelivered waits, up to a minute, for the target to have n pushes.
func waitDelivered(ctx context.Context, tg *target, n int64) {
	deadline := time.Now().Add(60 * time.Second)
	for tg.n.Load() < n && time.Now().Before(deadline) && ctx.Err() == nil {
		time.Sleep(50 * time.Millisecond)
	}
}

// closedLoop sends from conns goroutines back to back for d; it returns
// the transferred pushes and the failures.
func closedLoop(ctx context.Context, s *wechattest.Sender, conns int, d time.Duration) (ok, failed int64) {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var wg sync.WaitGroup
	var nOK, nFail atomic.Int64
	for i := range conns {
		wg.Go(func() {
			user := "oBenchUser" + strconv.Itoa(i)
			for ctx.Err() == nil {
				r, err := s.Send(context.WithoutCancel(ctx), wechattest.Text(user, "在吗", time.Now(), wechattest.NextMsgID()))
				if err == nil && r.Transferred {
					nOK.Add(1)
				} else {
					nFail.Add(1)
				}
			}
		})
	}
	wg.Wait()
	return nOK.Load(), nFail.Load()
}

// openLoop sends rate pushes per second for d and returns the latencies
// of those after skip, each from its intended send time, the failures, how
// many took over 5 s, and how many were sent during skip.
func openLoop(ctx context.Context, s *wechattest.Sender, rate int, d, skip time.Duration) (lat []time.Duration, failed, late, warm int64) {
	start := time.Now()
	total := int(d.Seconds() * float64(rate))
	interval := time.Second / time.Duration(rate)
	jobs := make(chan time.Time, total)
	var (
		mu sync.Mutex
		wg sync.WaitGroup
	)
	for i := range 256 {
		wg.Go(func() {
			user := "oRateUser" + strconv.Itoa(i)
			for intended := range jobs {
				r, err := s.Send(ctx, wechattest.Text(user, "在吗", intended, wechattest.NextMsgID()))
				l := time.Since(intended)
				mu.Lock()
				if intended.Sub(start) < skip {
					warm++
					mu.Unlock()
					continue
				}
				if err != nil || !r.Transferred {
					failed++
				} else {
					lat = append(lat, l)
					if l > 5*time.Second {
						late++
					}
				}
				mu.Unlock()
			}
		})
	}
	for i := range total {
		at := start.Add(time.Duration(i) * interval)
		if w := time.Until(at); w > 0 {
			select {
			case <-ctx.Done():
			case <-time.After(w):
			}
		}
		if ctx.Err() != nil {
			break
		}
		jobs <- at
	}
	close(jobs)
	wg.Wait()
	return lat, failed, late, warm
}

// startGateway runs a gateway process (kfsidebar: `pushbench serve`) and
// waits for its address.
func startGateway(ctx context.Context, cfg config, name, dir, targetURL string, extra ...string) (url string, pid int, stop func(), err error) {
	ready := filepath.Join(dir, "ready")
	var cmd *exec.Cmd
	switch name {
	case "kfsidebar", "kfsidebar-nostore", "floor", "floor-tcp":
		exe, err := os.Executable()
		if err != nil {
			return "", 0, nil, err
		}
		cmd = exec.Command(exe, append([]string{"serve", name, "-dir", dir, "-ready", ready, "-target", targetURL}, extra...)...)
	case "silenceper":
		cmd = exec.Command(cfg.silenceper, "-ready", ready)
	case "webot":
		cmd = exec.Command("node", cfg.webotScript, ready)
		cmd.Env = append(os.Environ(), "NODE_PATH="+cfg.nodeModules)
	default:
		return "", 0, nil, fmt.Errorf("unknown gateway %q (kfsidebar, silenceper, webot)", name)
	}
	if cmd.Env == nil {
		cmd.Env = os.Environ()
	}
	cmd.Env = append(cmd.Env, "PUSHBENCH_TOKEN="+account.Token, "PUSHBENCH_AES_KEY="+account.EncodingAESKey, "PUSHBENCH_APPID="+account.AppID)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return "", 0, nil, err
	}
	stop = func() {
		cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		if b, err := os.ReadFile(ready); err == nil {
			return "http://" + string(b) + pushPath, cmd.Process.Pid, stop, nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			stop()
			return "", 0, nil, errors.New("gateway did not start")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// cpuTime is a process's user+system time from /proc (USER_HZ is 100 on
// every Linux Go supports).
func cpuTime(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// Fields after the command name, which is in parentheses.
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: short", pid)
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * 10 * time.Millisecond, nil
}

func report(w io.Writer, cfg config, rs []result) {
	fmt.Fprintf(w, "Push gateway, %s bodies, dedupe and outbox on SQLite, one target. Throughput: %d connections back to back for %v. Latency: %d pushes/s for %v, from each push's intended send time, once the throughput run's outbox has drained.\n\n",
		cfg.format, cfg.conns, cfg.duration, cfg.rate, cfg.duration)
	fmt.Fprintln(w, "| gateway | mode | pushes/s | CPU per push | p50 | p99 | max | errors | over 5 s | delivered / accepted |")
	fmt.Fprintln(w, "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
	for _, r := range rs {
		delivered := "no outbox"
		if r.gateway == "kfsidebar" {
			delivered = fmt.Sprintf("%d / %d (drained in %.1f s)", r.delivered, r.accepted, r.drain.Seconds())
		}
		fmt.Fprintf(w, "| %s | %s | %.0f | %.0f µs | %s | %s | %s | %d | %d | %s |\n", r.gateway, r.mode, r.throughput,
			float64(r.cpuPerPush)/float64(time.Microsecond), ms(r.p50), ms(r.p99), ms(r.max), r.errs, r.late, delivered)
	}
	ratios(w, rs)
	fmt.Fprintf(w, "\nMachine: %d CPUs (%s), %s, %s/%s.\n", runtime.NumCPU(), cpuModel(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
}

// ratios compares kfsidebar with the others, mode by mode: throughput in
// this harness, and CPU per push, which bounds the throughput ratio of
// gateways that each had the whole machine. The floors bound every
// gateway: one doing no work on this machine is that much cheaper than the
// others, and no more.
func ratios(w io.Writer, rs []result) {
	find := func(gw, mode string) *result {
		for i := range rs {
			if rs[i].gateway == gw && rs[i].mode == mode && rs[i].throughput > 0 && rs[i].cpuPerPush > 0 {
				return &rs[i]
			}
		}
		return nil
	}
	var lines []string
	for _, mode := range []string{"plain", "compatible", "safe"} {
		for _, gw := range []string{"kfsidebar", "kfsidebar-nostore", "floor", "floor-tcp"} {
			mine := find(gw, mode)
			if mine == nil {
				continue
			}
			for _, other := range []string{"silenceper", "webot"} {
				o := find(other, mode)
				if o == nil {
					continue
				}
				lines = append(lines, fmt.Sprintf("- %s, %s mode: throughput %.2f× %s's here; %[4]s's CPU per push is %.2f× this one's",
					gw, mode, mine.throughput/o.throughput, other, float64(o.cpuPerPush)/float64(mine.cpuPerPush)))
			}
		}
	}
	if len(lines) > 0 {
		fmt.Fprintf(w, "\nRatios (issue 12's target: 5× both others):\n\n%s\n", strings.Join(lines, "\n"))
	}
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond)) }

func cpuModel() string {
	b, _ := os.ReadFile("/proc/cpuinfo")
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown CPU"
}

// defaultNodeModules is where bench/setup.sh installs npm packages.
func defaultNodeModules() string {
	dir := os.Getenv("KFSIDEBAR_BENCH_TOOLS")
	if dir == "" {
		cache, err := os.UserCacheDir()
		if err != nil {
			return "node_modules"
		}
		dir = filepath.Join(cache, "kfsidebar-bench")
	}
	return filepath.Join(dir, "node_modules")
}
