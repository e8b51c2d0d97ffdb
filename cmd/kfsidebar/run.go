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
	"github.com/kfsidebar/kfsidebar/internal/msg"
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

// printRunBanner tells the agent how to point the browser at the proxy,
// in the user's language.
func printRunBanner(w io.Writer, s *server, logPath string) {
	p := msg.NewPrinter(msg.Detect())
	p.Printf(w, msg.RunListening, versionString(), s.addr)
	if !isLoopback(s.cfg.Listen) {
		p.Printf(w, msg.RunExposed, s.cfg.Listen)
	}
	p.Printf(w, msg.RunPAC, s.addr)
	p.Printf(w, msg.RunStatusPage, s.addr)
	p.Printf(w, msg.RunCA, s.caPath())
	if s.caCreated {
		p.Printf(w, msg.RunCANew)
	}
	p.Printf(w, msg.RunDecrypting, strings.Join(hostsOf(s.cfg), ", "))
	if s.upstream != nil {
		p.Printf(w, msg.RunUpstream, s.upstream.Host)
	}
	p.Printf(w, msg.RunLog, logPath)
	dir := s.cfg.DataDir
	steps := [][2]string{
		{"1. " + setupCommand("ca install", "", dir), p.Sprintf(msg.RunTrustCA, hostsOf(s.cfg)[0])},
		{"2. " + setupCommand("proxy on", s.addr, dir), p.Sprintf(msg.RunPointAt, s.addr)},
		{p.Sprintf(msg.RunOrOpen, setupCommand("open", s.addr, dir)), p.Sprintf(msg.RunOwnWindow)},
	}
	p.Printf(w, msg.RunNext)
	if setupFlags(s.addr, dir) == "" {
		// The commands are short: each with what it does beside it.
		p.Printf(w, msg.RunNextShort, steps[0][1], steps[1][1], steps[2][1])
	} else {
		// With --data-dir and --listen: what it does under each command.
		for _, st := range steps {
			fmt.Fprintf(w, "  %s\n         %s\n", st[0], st[1])
		}
	}
	p.Printf(w, msg.RunOpenConsole, hostsOf(s.cfg)[0], setupCommand("doctor", s.addr, dir))
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
