package main

import (
	"bytes"
	"context"
	"crypto/x509"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/kfsidebar/kfsidebar/internal/browser"
	"github.com/kfsidebar/kfsidebar/proxy/console"
	"github.com/kfsidebar/kfsidebar/proxy/mpkftest"
)

func runDemo(ctx context.Context, args []string, out, errOut io.Writer) error {
	cfg := DefaultConfig()
	cfg.DataDir = filepath.Join(filepath.Dir(cfg.DataDir), "kfsidebar-demo")
	defaultDir := cfg.DataDir
	var (
		open       bool
		configPath string
	)
	fs := newFlagSet("demo", "demo [--open] [--config FILE] [flags]",
		"Run a simulated WeChat customer-service console with demo customers and\n"+
			"orders, and kfsidebar in front of it. Nothing on this machine is changed:\n"+
			"the demo has its own data directory and its own browser profile.\n\n"+
			"With --config, the sidebar asks the order backend of that kfsidebar.toml\n"+
			"(its [orders] section) instead of the demo's own database: try your\n"+
			"shop's API or database with the demo customers' openids, e.g.\n"+
			"  kfsidebar demo --open --config sidebar/shop/shopsql/testdata/postgres.toml", errOut)
	fs.StringVar(&configPath, "config", "", "take the order backend from this TOML `file` (only its [orders] section)")
	fs.StringVar(&cfg.DataDir, "data-dir", cfg.DataDir, "directory for the demo's CA, database and browser profile")
	fs.StringVar(&cfg.Listen, "listen", cfg.Listen, "proxy address")
	fs.BoolVar(&open, "open", false, "also launch Chrome, Edge or Chromium (a separate demo profile) on the demo console")
	fs.TextVar(&cfg.LogLevel, "log-level", cfg.LogLevel, "debug, info, warn or error")
	fs.StringVar(&cfg.ReadyFile, "ready-file", "", "write the proxy's address to this `file` once the demo serves")
	gatewayEvery, gatewayListen := demoEvery, "127.0.0.1:0"
	fs.DurationVar(&gatewayEvery, "gateway-every", gatewayEvery, "how often the simulated WeChat sends a customer or a parcel update through the demo's push gateway (0: never)")
	fs.StringVar(&gatewayListen, "gateway-listen", gatewayListen, "the demo push gateway's address (port 0: any free port)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if configPath != "" {
		file := DefaultConfig()
		if err := readConfigFile(configPath, true, &file); err != nil {
			return err
		}
		cfg.Orders = file.Orders
	}
	log := newLogger(errOut, cfg.LogLevel)
	keptData, err := freshDemoData(cfg.DataDir, cfg.DataDir == defaultDir)
	if err != nil {
		return err
	}
	// The demo's cast: look-alike users (WeChat's default picture and
	// nickname) arrive by every path, as they do in real shops.
	simOpts := mpkftest.DemoOptions()
	simOpts.Logger = log.With("component", "simulated-console")
	sim, err := mpkftest.NewServer(simOpts)
	if err != nil {
		return fmt.Errorf("start simulated console: %w", err)
	}
	defer sim.Close()
	for _, h := range mpkftest.Hosts { // the console and the avatar hosts its page loads
		cfg.Dial = append(cfg.Dial, h+":443="+sim.Addr())
	}
	// The shop's side: the push gateway, with a simulated WeChat in front,
	// and the demo's sidebar subscribed to its feed (来源, parcels moving).
	gw, err := startDemoGateway(ctx, cfg.DataDir, gatewayListen, sim, log)
	if err != nil {
		return fmt.Errorf("start demo gateway: %w", err)
	}
	gwCtx, stopGW := context.WithCancel(ctx)
	gwDone := make(chan error, 1)
	go func() { gwDone <- gw.serve(gwCtx, gatewayEvery) }()
	defer func() { stopGW(); <-gwDone }()
	cfg.Gateway.URL, cfg.Gateway.Token, cfg.Gateway.Sources = gw.FeedURL(), gw.FeedToken, demoSources
	s, err := startServer(ctx, cfg, []*x509.Certificate{sim.CA().Cert}, log)
	if err != nil {
		return err
	}
	stats, err := s.backend.Import(ctx, bytes.NewReader(mpkftest.DemoOrdersJSON))
	if err != nil {
		s.close()
		return fmt.Errorf("load demo orders: %w", err)
	}
	profile := filepath.Join(cfg.DataDir, "browser-profile")
	browserCmd := browser.DemoArgs(profile, s.addr, []string{s.ca.SPKIHash(), sim.CA().SPKIHash()}, sim.URL())
	fmt.Fprintf(out, "kfsidebar %s demo: simulated console with %d demo customers, %d orders\n", versionString(), stats.Customers, stats.Orders)
	if configPath != "" {
		name := cfg.Orders.Backend
		if name == backendSQL {
			name += " (" + cfg.Orders.SQL.Driver + ")"
		}
		fmt.Fprintf(out, "  orders:         the %s backend of %s\n", name, configPath)
	}
	fmt.Fprintf(out, "  proxy:          %s\n", s.addr)
	fmt.Fprintf(out, "  console:        %s\n", sim.URL())
	fmt.Fprintf(out, "  demo controls:  https://%s/__mpkftest/  (new waiting customers, transfers, messages)\n", console.DefaultConsoleHost)
	gw.print(out, gatewayEvery)
	if keptData {
		fmt.Fprintf(out, "  data:           %s (not the demo's own: its chats are kept)\n\n", cfg.DataDir)
	} else {
		fmt.Fprintf(out, "  data:           %s (each run starts with no chats; the CA and the browser profile are kept)\n\n", cfg.DataDir)
	}
	fmt.Fprint(out, "Open the demo console in a Chromium-family browser with a fresh profile:\n\n  ")
	exe := browser.Find()
	name := exe
	if name == "" {
		name = "chromium"
	}
	quoted := []string{shellQuote(name)}
	for _, a := range browserCmd {
		quoted = append(quoted, shellQuote(a))
	}
	fmt.Fprintf(out, "%s\n\n", strings.Join(quoted, " "))
	fmt.Fprint(out, "Then accept a waiting customer (接入), or switch on 自动接入, and click the chat:\n"+
		"the sidebar on the right shows who they are and their orders.\nPress Ctrl+C to stop.\n")
	if err := writeReady(cfg.ReadyFile, s.addr); err != nil {
		s.close()
		return err
	}
	if open {
		if exe == "" {
			fmt.Fprintln(out, "\n--open: no Chrome, Edge or Chromium found; run the command above in any Chromium-family browser.")
		} else {
			stop, err := startDemoBrowser(exe, browserCmd, filepath.Join(cfg.DataDir, browser.LogFile), out)
			if err != nil {
				fmt.Fprintf(out, "\n--open: %v\n", err)
			} else {
				defer stop()
			}
		}
	}
	return s.serve(ctx)
}

// startDemoBrowser starts the demo's browser and says so once it runs. If
// it quits with an error at once (no display, say), that is said on out
// with what it printed; the demo goes on, and the command line printed
// above still works elsewhere. stop ends the browser with the demo, and
// says how (browser.Proc.Stop: it never waits long for a browser that
// will not quit).
func startDemoBrowser(exe string, args []string, logPath string, out io.Writer) (stop func(), err error) {
	proc, err := browser.Start(exe, args, logPath, false)
	if err != nil {
		return nil, err
	}
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		if err := proc.QuitAtOnce(); err != nil {
			fmt.Fprintf(out, "\n--open: %v\n", err)
			return
		}
		fmt.Fprintf(out, "\n--open: started %s with the demo console, in a profile of its own; Ctrl+C closes it with the demo.\n", filepath.Base(exe))
	}()
	return func() {
		fmt.Fprintf(out, "demo: %s\n", proc.Stop())
		<-watched
	}, nil
}
