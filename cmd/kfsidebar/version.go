package main

import (
	"context"
	"fmt"
	"io"
	"runtime/debug"
)

// version is set at build time with -ldflags "-X main.version=v1.2.3".
var version = ""

func versionString() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

func runVersion(_ context.Context, args []string, out, errOut io.Writer) error {
	fs := newFlagSet("version", "version", "Print the version.", errOut)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	fmt.Fprintln(out, "kfsidebar", versionString())
	return nil
}
