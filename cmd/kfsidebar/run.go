package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/kfsidebar/kfsidebar/internal/atomicfile"
	"github.com/kfsidebar/kfsidebar/internal/hostport"
)

func runRun(ctx context.Context, args []string, out, errOut io.Writer) error {
	cfg := DefaultConfig()
	fs := newFlagSet("run", "run [flags]",
		"Run the proxy for the real console: it decrypts only the console's traffic,\n"+
			"learns who each chat user is, and injects the customer sidebar.", errOut)
	cfg.bindFlags(fs)
	if err := cfg.parse(fs, args); err != nil {
		return err
	}
	if err := cfg.check(); err != nil {
		return err
	}
	if cfg.Supervised {
		var stop context.CancelFunc
		ctx, stop = context.WithCancel(ctx)
		defer stop()
		go func() {
			io.Copy(io.Discard, os.Stdin) // until the supervisor closes it, or dies
			stop()
		}()
	}
	log, logPath, closeLog, err := newFileLogger(errOut, cfg.LogLevel, cfg.DataDir)
	if err != nil {
		return err
	}
	defer closeLog()
	s, err := startServer(ctx, cfg, nil, log)
	if err != nil {
		return err
	}
	if !isLoopback(cfg.Listen) {
		log.Warn("the proxy accepts connections from other machines", "listen", cfg.Listen)
	}
	log.Info("kfsidebar started", "version", versionString(), "addr", s.addr, "data_dir", cfg.DataDir)
	printRunBanner(out, s, logPath)
	if err := writeReady(cfg.ReadyFile, s.addr); err != nil {
		s.close()
		return err
	}
	return s.serve(ctx)
}

func newLogger(w io.Writer, level slog.Level) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level}))
}

// printRunBanner tells the agent how to point the browser at the proxy.
func printRunBanner(w io.Writer, s *server, logPath string) {
	fmt.Fprintf(w, "kfsidebar %s listening on %s\n", versionString(), s.addr)
	if !isLoopback(s.cfg.Listen) {
		fmt.Fprintf(w, "\nWARNING: --listen %s accepts connections from other machines.\n"+
			"Anyone who can reach it can use this proxy. Use 127.0.0.1 unless you mean it.\n\n", s.cfg.Listen)
	}
	fmt.Fprintf(w, "  PAC file:     http://%s/proxy.pac\n", s.addr)
	fmt.Fprintf(w, "  status page:  http://%s/\n", s.addr)
	fmt.Fprintf(w, "  root CA:      %s", s.caPath())
	if s.caCreated {
		fmt.Fprint(w, "  (new: made just now on this workstation)")
	}
	fmt.Fprintf(w, "\n  decrypting:   %s (everything else is tunnelled, never decrypted)\n", strings.Join(hostsOf(s.cfg), ", "))
	if s.upstream != nil {
		fmt.Fprintf(w, "  upstream:     %s (console and tunnels go out through this proxy)\n", s.upstream.Host)
	}
	fmt.Fprintf(w, "  log file:     %s\n", logPath)
	dir := s.cfg.DataDir
	steps := [][2]string{
		{"1. " + setupCommand("ca install", "", dir), "trust the root CA (it can only vouch for " + hostsOf(s.cfg)[0] + ")"},
		{"2. " + setupCommand("proxy on", s.addr, dir), "point the system at http://" + s.addr + "/proxy.pac"},
		{"   or instead of 1 and 2: " + setupCommand("open", s.addr, dir), "a browser window of its own; changes nothing"},
	}
	fmt.Fprint(w, "\nTo use it, once per workstation (in another terminal):\n")
	if setupFlags(s.addr, dir) == "" {
		// The commands are short: each with what it does beside it.
		fmt.Fprintf(w, "  1. kfsidebar ca install     %s\n  2. kfsidebar proxy on       %s\n"+
			"     or instead of 1 and 2:  kfsidebar open   (%s)\n", steps[0][1], steps[1][1], steps[2][1])
	} else {
		// With --data-dir and --listen: what it does under each command.
		for _, st := range steps {
			fmt.Fprintf(w, "  %s\n         %s\n", st[0], st[1])
		}
	}
	fmt.Fprintf(w, "  3. Open https://%s and click a chat.\n"+
		"  %s checks every step; the status page shows them too.\n"+
		"Press Ctrl+C to stop.\n", hostsOf(s.cfg)[0], setupCommand("doctor", s.addr, dir))
}

func hostsOf(cfg Config) []string {
	out := make([]string, 0, len(cfg.ConsoleHosts))
	for _, h := range cfg.ConsoleHosts {
		out = append(out, hostport.Host(h))
	}
	return out
}

// writeReady writes addr to the ready file, if one was asked for: the
// server is listening when it is called.
func writeReady(path, addr string) error {
	if path == "" {
		return nil
	}
	if err := atomicfile.Write(path, []byte(addr+"\n"), 0o600); err != nil {
		return fmt.Errorf("--ready-file: %w", err)
	}
	return nil
}
