package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/kfsidebar/kfsidebar/internal/sqlitedb"
)

// command is one subcommand: its name, a one-line summary for the help
// text, and its entry point.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, out, errOut io.Writer) error
}

func commands() []command {
	return []command{
		{"run", "run the proxy for the real console (the daily job)", runRun},
		{"demo", "run a simulated console with demo customers, to try kfsidebar", runDemo},
		{"ca", "trust or manage the local root CA (ca install, uninstall, status, export)", runCA},
		{"proxy", "point the system proxy settings at kfsidebar (proxy on, off, status)", runProxy},
		{"open", "open the console in a browser window of its own, changing nothing", runOpen},
		{"doctor", "check every step of the setup and say how to fix what is wrong", runDoctor},
		{"tray", "the tray icon: runs the proxy, restarts it, pause, start at login (tray stop quits it)", runTray},
		{"autostart", "start kfsidebar's tray at login (autostart on, off, status)", runAutostart},
		{"setup", "set this computer up in one step: ca install, proxy on, autostart on", runSetup},
		{"uninstall", "undo every setup step and delete kfsidebar's data (--keep-data keeps it)", runUninstall},
		{"orders", "manage the embedded order database (orders import FILE.json or FILE.csv)", runOrders},
		{"config", "check the config file (config check)", runConfig},
		{"gateway", "the shop server's WeChat push gateway (gateway, gateway replay, gateway doctor)", runGateway},
		{"version", "print the version", runVersion},
	}
}

// needsSQLite are the commands that keep data in the SQLite database,
// which a build without cgo lacks (sqlitedb.ErrNoSQLite).
var needsSQLite = map[string]bool{"run": true, "demo": true, "orders": true}

// Run runs kfsidebar with the command-line arguments args (without the
// program name). Only main exits.
func Run(ctx context.Context, args []string, out, errOut io.Writer) error {
	if len(args) == 0 && defaultCommand != "" {
		args = []string{defaultCommand}
	}
	if len(args) == 0 {
		if launchedFromExplorer() {
			return doubleClicked(doubleClickInput, out)
		}
		usage(errOut)
		return usageError{}
	}
	name := args[0]
	switch name {
	case "help", "-h", "-help", "--help":
		usage(out)
		return nil
	}
	for _, c := range commands() {
		if c.name == name {
			if needsSQLite[name] && !sqlitedb.Available {
				return sqlitedb.ErrNoSQLite // at once, not after a CA and a port
			}
			err := c.run(ctx, args[1:], out, errOut)
			if errors.Is(err, flag.ErrHelp) {
				return nil // -h printed the command's help
			}
			return err
		}
	}
	usage(errOut)
	return usageError{fmt.Sprintf("unknown command %q", name)}
}

func usage(w io.Writer) {
	fmt.Fprint(w, `kfsidebar shows who the customer is, with their orders, beside every chat
in the WeChat customer-service web console (https://mpkf.weixin.qq.com).

Usage:
  kfsidebar <command> [flags]

Commands:
`)
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-9s %s\n", c.name, c.summary)
	}
	fmt.Fprint(w, `
Run "kfsidebar <command> -h" for a command's flags.
Start with "kfsidebar demo --open" to see it work on a simulated console.
`)
}

// usageError is a mistake on the command line: exit status 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func exitCode(err error) int {
	var u usageError
	if errors.As(err, &u) {
		return 2
	}
	return 1
}

// newFlagSet makes a flag set for a subcommand whose -h prints the summary,
// the usage line and the flags.
func newFlagSet(name, usageLine, summary string, out io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(out)
	fs.Usage = func() {
		fmt.Fprintf(out, "%s\n\nUsage:\n  kfsidebar %s\n", summary, usageLine)
		var hasFlags bool
		fs.VisitAll(func(*flag.Flag) { hasFlags = true })
		if hasFlags {
			fmt.Fprint(out, "\nFlags:\n")
			fs.PrintDefaults()
		}
	}
	return fs
}

// parseFlags parses args and turns flag errors into usage errors.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{}
	}
	return nil
}
