// Command kfsidebar puts a customer sidebar into the WeChat mini-program
// customer-service web console, through a local HTTPS proxy.
//
// Run "kfsidebar help" for the commands.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/kfsidebar/kfsidebar/internal/msg"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := Run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		var u usageError
		if !errors.As(err, &u) || u.msg != "" {
			fmt.Fprintln(os.Stderr, "kfsidebar:", sayErr(msg.NewPrinter(msg.Detect()), err))
		}
		os.Exit(exitCode(err))
	}
}
