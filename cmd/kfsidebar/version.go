package main

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"

	"github.com/kfsidebar/kfsidebar/internal/sqlitedb"
)

// version is set at build time with -ldflags "-X main.version=v1.2.3"
// (make dist does).
var version = ""

// versionString is the release version, else the module version `go
// install` records, else "dev".
func versionString() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

// buildDetails says which source and toolchain made this binary, for bug
// reports: "commit 1a2b3c4d (2026-11-23T04:00:00Z, modified), go1.26.8 linux/amd64".
func buildDetails() string {
	var rev, at string
	modified := false
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.time":
				at = s.Value
			case "vcs.modified":
				modified = s.Value == "true"
			}
		}
	}
	details := runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH
	if rev == "" {
		return details
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	src := "commit " + rev
	switch {
	case at != "" && modified:
		src += " (" + at + ", modified)"
	case at != "":
		src += " (" + at + ")"
	case modified:
		src += " (modified)"
	}
	return src + ", " + details
}

func runVersion(_ context.Context, args []string, out, errOut io.Writer) error {
	fs := newFlagSet("version", "version", "Print the version, and the source and Go version it was built from.", errOut)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	fmt.Fprintf(out, "kfsidebar %s\n%s\n", versionString(), buildDetails())
	if !sqlitedb.Available {
		fmt.Fprintf(out, "\n%s\n", sqlitedb.NoSQLiteHelp)
	}
	return nil
}
