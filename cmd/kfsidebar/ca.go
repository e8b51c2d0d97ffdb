package main

import (
	"context"
	"fmt"
	"io"

	"github.com/kfsidebar/kfsidebar/certs"
)

func runCA(_ context.Context, args []string, out, errOut io.Writer) error {
	const help = "Manage kfsidebar's root CA. It is made on this workstation on first use,\n" +
		"never leaves it, and can only vouch for the console host(s).\n\n" +
		"Subcommands:\n  export   write the CA certificate (PEM) to standard output"
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprintf(errOut, "%s\n\nUsage:\n  kfsidebar ca export [flags]\n", help)
		if len(args) == 0 {
			return usageError{"ca: missing subcommand"}
		}
		return nil
	}
	switch args[0] {
	case "export":
		cfg := DefaultConfig()
		fs := newFlagSet("ca export", "ca export [flags] > kfsidebar-ca.pem",
			"Write the root CA certificate (PEM) to standard output, creating the CA if needed.", errOut)
		fs.StringVar(&cfg.DataDir, "data-dir", cfg.DataDir, "directory for the CA, the database and the config (env KFSIDEBAR_DATA_DIR)")
		if err := parseFlags(fs, args[1:]); err != nil {
			return err
		}
		ca, _, err := certs.LoadOrCreate(cfg.DataDir, certs.Options{Hosts: cfg.ConsoleHosts})
		if err != nil {
			return err
		}
		_, err = out.Write(ca.CertPEM)
		return err
	}
	return usageError{fmt.Sprintf("ca: unknown subcommand %q (want export)", args[0])}
}
