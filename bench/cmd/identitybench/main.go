// Command identitybench plays a day of chats through the real kfsidebar
// proxy, in real Chromium, against the simulated console
// (proxy/mpkftest), and measures whether the sidebar shows the right
// customer for the chat that is really open: how often it showed someone
// else's (which must never happen), how often it knew without asking, how
// often it asked the agent, and how long it took to settle. It runs the day
// once on a page with data-reactid and once without (-reactid both), and
// writes the tables into docs/identity.md (-out).
//
// A share of the fans (-lookalike) are look-alikes: WeChat's default
// avatar and the nickname 微信用户, which nothing on the page tells apart.
// Chats arrive by every path (open at page load, 接入, 全部接入, 自动接入,
// transfer in); the agent also opens chats by click and by keyboard,
// closes them and reloads the page. The truth, which chat is open, comes
// from the simulated console's harness hook (window.__mpkftest), which
// kfsidebar itself must never read.
//
// It is a harness, not a test: `go test ./bench/...` only checks its pure
// parts. It needs Go, a C compiler (kfsidebar uses SQLite) and Chromium.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(os.Stderr, "identitybench:", err)
		os.Exit(1)
	}
}

// config is the harness's flags.
type config struct {
	Chats     int
	LookAlike float64
	ReactID   string
	Seed      uint64
	Out       string
	Quiet     time.Duration
	SettleMax time.Duration
	Grace     time.Duration
	MaxOpen   int
	Kfsidebar string
	Verbose   bool
	args      []string // as given, for the report
}

func parseFlags(args []string, errOut io.Writer) (config, error) {
	var cfg config
	fs := flag.NewFlagSet("identitybench", flag.ContinueOnError)
	fs.SetOutput(errOut)
	fs.IntVar(&cfg.Chats, "chats", 300, "chats in the day, one fan each")
	fs.Float64Var(&cfg.LookAlike, "lookalike", 0.4, "share of fans with the default avatar and the nickname 微信用户")
	fs.StringVar(&cfg.ReactID, "reactid", "both", "the page with data-reactid (on), without (off), or one day of each (both)")
	fs.Uint64Var(&cfg.Seed, "seed", 1, "seed of the day: the cast and the agent's moves")
	fs.StringVar(&cfg.Out, "out", "", "write the tables into this Markdown `file` between the identitybench markers (default: standard output)")
	fs.DurationVar(&cfg.Quiet, "quiet", 4*time.Second, "the sidebar has settled once it has not changed for this long")
	fs.DurationVar(&cfg.SettleMax, "settle", 10*time.Second, "stop waiting for the sidebar to settle after this long")
	fs.DurationVar(&cfg.Grace, "grace", 300*time.Millisecond, "after the console opens a chat, the sidebar may show the previous customer this long")
	fs.IntVar(&cfg.MaxOpen, "max-open", 6, "the agent closes chats beyond this many open")
	fs.StringVar(&cfg.Kfsidebar, "kfsidebar", "", "kfsidebar `binary` to run (default: go build ./cmd/kfsidebar)")
	fs.BoolVar(&cfg.Verbose, "v", false, "log every chat opened")
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	switch {
	case fs.NArg() > 0:
		return cfg, fmt.Errorf("unexpected arguments %q", fs.Args())
	case cfg.Chats < openAtLoad+waitingAtStart+1:
		return cfg, fmt.Errorf("-chats %d: at least %d", cfg.Chats, openAtLoad+waitingAtStart+1)
	case cfg.LookAlike < 0 || cfg.LookAlike > 1:
		return cfg, fmt.Errorf("-lookalike %g: a share between 0 and 1", cfg.LookAlike)
	case cfg.ReactID != "both" && cfg.ReactID != "on" && cfg.ReactID != "off":
		return cfg, fmt.Errorf("-reactid %q: both, on or off", cfg.ReactID)
	case cfg.Quiet <= 0 || cfg.SettleMax < cfg.Quiet:
		return cfg, fmt.Errorf("-quiet %s -settle %s: want 0 < quiet <= settle", cfg.Quiet, cfg.SettleMax)
	case cfg.MaxOpen < 2:
		return cfg, fmt.Errorf("-max-open %d: at least 2", cfg.MaxOpen)
	}
	cfg.args = args
	return cfg, nil
}

// run plays the day once per page kind and writes the report.
func run(ctx context.Context, args []string, out, errOut io.Writer) error {
	cfg, err := parseFlags(args, errOut)
	if err != nil {
		return err
	}
	level := slog.LevelInfo
	if cfg.Verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(errOut, &slog.HandlerOptions{Level: level}))
	bin := cfg.Kfsidebar
	if bin == "" {
		dir, err := os.MkdirTemp("", "identitybench-bin-*")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		log.Info("building kfsidebar")
		if bin, err = buildKfsidebar(ctx, dir); err != nil {
			return err
		}
	}
	c := newCast(rand.New(rand.NewPCG(cfg.Seed, 1)), cfg.Chats, cfg.LookAlike, openAtLoad, waitingAtStart)
	shop, err := shopJSON(c.customers)
	if err != nil {
		return err
	}
	rep := &report{cfg: cfg, cast: c, started: time.Now(), machine: machineInfo(), loadBefore: loadAvg()}
	for _, noReactID := range map[string][]bool{"both": {false, true}, "on": {false}, "off": {true}}[cfg.ReactID] {
		log.Info("playing the day", "chats", cfg.Chats, "data-reactid", !noReactID)
		res, err := playDay(ctx, cfg, bin, c, shop, noReactID, log)
		if err != nil {
			return err
		}
		rep.results = append(rep.results, res)
		log.Info("day done", "mode", res.Name, "opened", len(res.Opened), "wrong", rep.wrong(res), "took", res.Duration.Round(time.Second))
	}
	rep.finished = time.Now()
	rep.loadAfter = loadAvg()
	return rep.write(out)
}
