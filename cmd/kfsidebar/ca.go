package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/kfsidebar/kfsidebar/certs"
	"github.com/kfsidebar/kfsidebar/internal/msg"
)

const caHelp = `Manage kfsidebar's root CA. It is made on this workstation on first use,
never leaves it, and can only vouch for the console host(s).

Subcommands:
  export      write the CA certificate (PEM) to standard output
  install     trust the CA in this computer's and browsers' trust stores
  uninstall   remove exactly this CA from those stores again
  status      show, for each store, whether it trusts the CA`

func runCA(ctx context.Context, args []string, out, errOut io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprintf(errOut, "%s\n\nUsage:\n  kfsidebar ca export|install|uninstall|status [flags]\n", caHelp)
		if len(args) == 0 {
			return usageError{"ca: missing subcommand"}
		}
		return nil
	}
	switch args[0] {
	case "export":
		return runCAExport(args[1:], out, errOut)
	case "install", "uninstall", "status":
		return runCATrust(ctx, args[0], args[1:], out, errOut)
	}
	return usageError{fmt.Sprintf("ca: unknown subcommand %q (want export, install, uninstall or status)", args[0])}
}

func runCAExport(args []string, out, errOut io.Writer) error {
	cfg := DefaultConfig()
	fs := newFlagSet("ca export", "ca export [flags] > kfsidebar-ca.pem",
		"Write the root CA certificate (PEM) to standard output, creating the CA if needed.", errOut)
	fs.StringVar(&cfg.DataDir, "data-dir", cfg.DataDir, "directory for the CA, the database and the config (env KFSIDEBAR_DATA_DIR)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	ca, _, err := certs.LoadOrCreate(cfg.DataDir, certs.Options{Hosts: cfg.ConsoleHosts})
	if err != nil {
		return err
	}
	_, err = out.Write(ca.CertPEM)
	return err
}

var caTrustSummary = map[string]string{
	"install": "Trust kfsidebar's root CA: the system store (Windows current-user Root store,\n" +
		"macOS login keychain, Linux system bundle when run as root), Chrome's NSS\n" +
		"database on Linux and every Firefox profile. Stores that trust it already\n" +
		"are left alone; every store is checked again afterwards.",
	"uninstall": "Remove exactly this kfsidebar root CA from every trust store; any other\n" +
		"certificate, even one with the same name, stays.",
	"status": "Show, for each trust store, whether it trusts kfsidebar's root CA.",
}

func runCATrust(ctx context.Context, sub string, args []string, out, errOut io.Writer) error {
	cfg := DefaultConfig()
	var kinds []certs.StoreKind
	flags := newFlagSet("ca "+sub, "ca "+sub+" [flags]", caTrustSummary[sub], errOut)
	flags.StringVar(&cfg.DataDir, "data-dir", cfg.DataDir, "directory for the CA, the database and the config (env KFSIDEBAR_DATA_DIR)")
	flags.Func("store", "only this kind of trust store: system, nss (Chrome on Linux) or firefox (repeatable; default all)", func(v string) error {
		k, err := certs.ParseStoreKind(v)
		if err != nil {
			return err
		}
		kinds = append(kinds, k)
		return nil
	})
	if err := parseFlags(flags, args); err != nil {
		return err
	}
	p := msg.NewPrinter(msg.Detect())
	var ca *certs.CA
	var err error
	if sub == "install" {
		ca, _, err = certs.LoadOrCreate(cfg.DataDir, certs.Options{Hosts: cfg.ConsoleHosts})
	} else {
		ca, err = certs.LoadExisting(cfg.DataDir)
		if errors.Is(err, fs.ErrNotExist) {
			p.Printf(out, msg.CANone, cfg.DataDir)
			return nil
		}
	}
	if err != nil {
		return err
	}
	stores, err := certs.FindTrustStores(certs.TrustOptions{Kinds: kinds})
	if err != nil {
		return err
	}
	certPath := filepath.Join(cfg.DataDir, certs.CertFile)
	printCA(out, p, ca, certPath)
	var results []certs.TrustResult
	switch sub {
	case "install":
		results = certs.InstallTrust(ctx, ca, certPath, stores)
	case "uninstall":
		results = certs.UninstallTrust(ctx, ca, stores)
	default:
		results = certs.CheckTrust(ctx, ca, certPath, stores)
	}
	failed := printTrust(out, p, sub, results, len(kinds) > 0)
	switch {
	case len(stores) == 0:
		p.Printf(out, msg.CANoStore)
	case sub == "install" && failed == 0:
		p.Printf(out, msg.CAInstallDone)
	case sub == "uninstall" && failed == 0:
		p.Printf(out, msg.CAUninstallDone)
	}
	if failed > 0 && sub != "status" {
		return p.Errorf(msg.CAFailed, sub, failed)
	}
	return nil
}

func printCA(w io.Writer, p msg.Printer, ca *certs.CA, certPath string) {
	sum := sha256.Sum256(ca.Cert.Raw)
	p.Printf(w, msg.CAHeader,
		certPath, ca.Cert.Subject.CommonName, strings.Join(ca.Hosts(), ", "), ca.Cert.NotAfter.Format("2006-01-02"),
		strings.ToUpper(hex.EncodeToString(sum[:])))
}

// printTrust prints one line per store and returns how many failed. A
// Linux system store that needs root is only a note unless the user asked
// for it with --store: browsers on Linux do not read it.
func printTrust(w io.Writer, p msg.Printer, sub string, results []certs.TrustResult, storesChosen bool) (failed int) {
	for _, r := range results {
		mark, what := "✔", ""
		switch {
		case r.Err != nil && optionalStore(r, storesChosen):
			mark, what = "–", p.Sprintf(msg.CASkipped, sayErr(p, r.Err))
		case r.Err != nil:
			mark, what = "✘", sayErr(p, r.Err).Error()
			failed++
		case sub == "install" && r.Changed:
			what = p.Sprintf(msg.CAInstalled)
		case sub == "install":
			what = p.Sprintf(msg.CAAlready)
		case sub == "uninstall" && r.Changed:
			what = p.Sprintf(msg.CARemoved)
		case sub == "uninstall":
			what = p.Sprintf(msg.CANotThere)
		case r.Trusted:
			what = p.Sprintf(msg.CATrusted)
		default:
			mark, what = "✘", p.Sprintf(msg.CANotTrusted)
		}
		p.Printf(w, msg.CAStoreLine, mark, r.Name, what)
		if step := sayManual(p, r.Manual); r.Err != nil && step != "" {
			for _, line := range strings.Split(step, "\n") {
				p.Printf(w, msg.CAByHand, line)
			}
		}
	}
	return failed
}

func optionalStore(r certs.TrustResult, storesChosen bool) bool {
	if storesChosen || r.Kind != certs.StoreSystem || runtime.GOOS == "windows" || runtime.GOOS == "darwin" {
		return false
	}
	return errors.Is(r.Err, certs.ErrNeedsAdmin) || errors.Is(r.Err, certs.ErrStoreUnsupported)
}
