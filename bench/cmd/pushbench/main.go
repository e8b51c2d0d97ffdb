// Command pushbench measures the push gateway: pushes per second (closed
// loop) and reply latency at a fixed rate (open loop, p50/p99/max, measured
// from each push's intended send time so a stall cannot hide), in plain and
// in safe mode, with dedupe and the outbox on a real SQLite file and one
// target receiving every push. Each gateway runs as a process of its own
// (this binary re-executed as `pushbench serve …`), so its CPU time per push
// is read from /proc.
//
// It is a harness, not a test: `go test ./...` only runs a smoke test.
//
//	go run ./bench/cmd/pushbench -duration 10s -rate 1000
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
		fmt.Fprintln(os.Stderr, "pushbench:", err)
		os.Exit(1)
	}
}

// run dispatches between the benchmark and its serve children.
func run(ctx context.Context, args []string) error {
	if len(args) > 0 && args[0] == "serve" {
		return serve(ctx, args[1:])
	}
	return bench(ctx, args, os.Stdout)
}
