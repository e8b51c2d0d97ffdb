package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"time"

	"github.com/kfsidebar/kfsidebar/sidebar/shop"
)

const configHelp = `Check kfsidebar's config file (TOML; docs/config.md lists every key).

Subcommands:
  check   validate the file and name every bad key with what it expected`

func runConfig(ctx context.Context, args []string, out, errOut io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprintf(errOut, "%s\n\nUsage:\n  kfsidebar config check [flags]\n", configHelp)
		if len(args) == 0 {
			return usageError{"config: missing subcommand"}
		}
		return nil
	}
	if args[0] != "check" {
		return usageError{fmt.Sprintf("config: unknown subcommand %q (want check)", args[0])}
	}
	cfg := DefaultConfig()
	flags := newFlagSet("config check", "config check [--config FILE] [--connect] [--lookup OPENID]",
		"Validate the config file: unknown keys (with a \"did you mean\"), values of the wrong\n"+
			"type, and the order backend's settings (URL templates, SQL queries and their\n"+
			"parameters). --connect also runs each SQL query once against the database\n"+
			"(it finds no rows); --lookup asks the order backend for one customer and prints\n"+
			"what the sidebar would get.", errOut)
	flags.StringVar(&cfg.ConfigFile, "config", "", "the config `file` (default: "+configFileName+" in the data directory)")
	flags.StringVar(&cfg.DataDir, "data-dir", cfg.DataDir, "directory for the CA, the database and the config (env KFSIDEBAR_DATA_DIR)")
	connect := flags.Bool("connect", false, "also connect to an sql backend and run each query once")
	lookup := flags.String("lookup", "", "also look this `openid` up through the order backend and print the answer")
	if err := parseFlags(flags, args[1:]); err != nil {
		return err
	}
	path, required := cfg.ConfigFile, cfg.ConfigFile != ""
	if !required {
		path = defaultConfigPath(cfg.DataDir)
		if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
			fmt.Fprintf(out, "%s: no such file; kfsidebar runs with the defaults (the embedded order database)\n", path)
			if *lookup == "" && !*connect {
				return nil
			}
			required = false // look up through the defaults
		}
	}
	// Every problem at once: the file's (types, unknown keys, [orders]),
	// the settings' (cfg.check), and the order backend's own (URL
	// templates, queries), so that one run of config check names them all.
	var errs []error
	if err := readConfigFile(path, required, &cfg); err != nil {
		errs = append(errs, err)
	}
	if err := cfg.check(); err != nil {
		errs = append(errs, fmt.Errorf("%s: %w", path, err))
	}
	if cfg.Orders.Backend != backendSQLite && len(cfg.Orders.problems()) == 0 {
		if _, closeBackend, err := newBackend(ctx, cfg, nil, slog.New(slog.DiscardHandler)); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", path, err))
		} else {
			closeBackend()
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%w\nfix every problem above and run kfsidebar config check again", errors.Join(errs...))
	}

	if cfg.Gateway.enabled() {
		defer fmt.Fprintf(out, "  push gateway: %s (%d 来源 patterns)\n", cfg.Gateway.URL, len(cfg.Gateway.Sources))
	}
	if cfg.Orders.Backend == backendSQLite && *lookup == "" && !*connect {
		fmt.Fprintf(out, "%s: valid (order backend: %s)\n", path, describeBackend(cfg.Orders))
		return nil
	}
	var db *sql.DB
	if cfg.Orders.Backend == backendSQLite {
		var err error
		if db, err = openDB(ctx, cfg.DataDir); err != nil {
			return err
		}
		defer db.Close()
	}
	backend, closeBackend, err := newBackend(ctx, cfg, db, slog.New(slog.DiscardHandler))
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	defer closeBackend()
	fmt.Fprintf(out, "%s: valid (order backend: %s)\n", path, describeBackend(cfg.Orders))

	if *connect {
		c, ok := backend.(*shop.Cache).Backend().(interface{ Check(context.Context) error })
		if !ok {
			return fmt.Errorf("--connect checks an sql backend's queries; this one is %s (use --lookup)", cfg.Orders.Backend)
		}
		ctx, cancel := context.WithTimeout(ctx, startupCheckTimeout)
		defer cancel()
		if err := c.Check(ctx); err != nil {
			return fmt.Errorf("--connect: %w", err)
		}
		fmt.Fprintln(out, "connected: every query runs and returns columns kfsidebar knows")
	}
	if *lookup != "" {
		ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		c, err := backend.(*shop.Cache).Backend().Lookup(ctx, *lookup)
		if err != nil {
			return fmt.Errorf("--lookup: %w", err)
		}
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		return enc.Encode(c)
	}
	return nil
}

func describeBackend(o OrdersConfig) string {
	switch o.Backend {
	case backendHTTP:
		return "http, " + o.HTTP.LookupURL
	case backendSQL:
		return "sql, " + o.SQL.Driver
	}
	return "sqlite, the embedded database"
}
