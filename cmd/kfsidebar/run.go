package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/kfsidebar/kfsidebar/internal/hostport"
)

func runRun(ctx context.Context, args []string, out, errOut io.Writer) error {
	cfg := DefaultConfig()
	fs := newFlagSet("run", "run [flags]",
		"Run the proxy for the real console: it decrypts only the console's traffic,\n"+
			"learns who each chat user is, and injects the customer sidebar.", errOut)
	cfg.bindFlags(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	log := newLogger(errOut, cfg.LogLevel)
	s, err := startServer(ctx, cfg, nil, log)
	if err != nil {
		return err
	}
	printRunBanner(out, s)
	return s.serve(ctx)
}

func newLogger(w io.Writer, level slog.Level) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level}))
}

// printRunBanner tells the agent how to point the browser at the proxy.
func printRunBanner(w io.Writer, s *server) {
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
	fmt.Fprintf(w, `
To use it:
  1. Trust the root CA once (it can only vouch for the console host):
       Windows: certutil -user -addstore Root "%[1]s"
       macOS:   security add-trusted-cert -r trustRoot -k ~/Library/Keychains/login.keychain-db "%[1]s"
       Linux (Chrome/Chromium): certutil -d sql:$HOME/.pki/nssdb -A -t "C,," -n kfsidebar -i "%[1]s"
  2. Set the browser's (or system's) automatic proxy configuration URL to
       http://%[2]s/proxy.pac
  3. Open https://%[3]s and click a chat.
Press Ctrl+C to stop.
`, s.caPath(), s.addr, hostsOf(s.cfg)[0])
}

func hostsOf(cfg Config) []string {
	out := make([]string, 0, len(cfg.ConsoleHosts))
	for _, h := range cfg.ConsoleHosts {
		out = append(out, hostport.Host(h))
	}
	return out
}
