//go:build linux

// Command proxybench measures what kfsidebar costs, side by side with no
// proxy, a bare goproxy MITM, mitmproxy and whistle doing the same work, in
// one run on one machine: throughput, latency, CPU time per request, peak
// memory and (for the Go proxies) bytes, objects and GC runs per request,
// for the console page, accept responses of 10 KB (gzipped and not) and
// 1 MB, and the console's script (gzipped and not), plus 200 long-polling
// tabs and certificate reuse. It writes the
// figures and a chart into docs/benchmarks.md (see bench/README.md).
//
// It is a harness, not a test: `go test ./...` only runs a smoke test of
// its pieces.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:])
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "proxybench:", err)
		os.Exit(1)
	}
}

// run dispatches between the benchmark and its serve children.
func run(ctx context.Context, args []string) error {
	if len(args) > 0 && args[0] == "serve" {
		return serve(ctx, args[1:], os.Stdout)
	}
	return bench(ctx, args)
}
