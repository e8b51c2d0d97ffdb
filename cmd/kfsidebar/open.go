package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/kfsidebar/kfsidebar/certs"
	"github.com/kfsidebar/kfsidebar/internal/browser"
)

// browserProfileDir is `kfsidebar open`'s browser profile, in the data
// directory: the agent's own browser profile is never touched.
const browserProfileDir = "browser-profile"

func runOpen(ctx context.Context, args []string, out, errOut io.Writer) error {
	cfg := DefaultConfig()
	flags := newFlagSet("open", "open [flags]",
		"Open the console in Chrome, Edge or Chromium with a browser profile of its own\n"+
			"that uses kfsidebar's PAC. Nothing on the system is changed: no proxy setting,\n"+
			"no trust store. If the CA is not trusted yet, that profile alone trusts it by its\n"+
			"key (SPKI pin). kfsidebar must be running (kfsidebar run).", errOut)
	flags.StringVar(&cfg.DataDir, "data-dir", cfg.DataDir, "directory for the CA, the database and the config (env KFSIDEBAR_DATA_DIR)")
	flags.StringVar(&cfg.Listen, "listen", cfg.Listen, "the address kfsidebar runs on")
	if err := parseFlags(flags, args); err != nil {
		return err
	}
	if !proxyRunning(ctx, cfg.Listen) {
		return fmt.Errorf("kfsidebar is not running on %s: start it with `kfsidebar run` (in another window), then run `kfsidebar open` again", localAddr(cfg.Listen))
	}
	ca, err := certs.LoadExisting(cfg.DataDir)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("no kfsidebar CA in %s: is kfsidebar running with another --data-dir? Give the same --data-dir to open", cfg.DataDir)
	}
	if err != nil {
		return err
	}
	var pins []string
	if !browserTrusts(ctx, ca) {
		pins = []string{ca.SPKIHash()}
		fmt.Fprintf(out, "The CA is not in this computer's trust store yet, so this browser profile alone\n"+
			"trusts it by its key (an SPKI pin). Note: inside this profile the pin also lifts the\n"+
			"CA's limit to %s. Run `kfsidebar ca install` to trust it the safer way.\n\n",
			strings.Join(ca.Hosts(), ", "))
	}
	profile := filepath.Join(cfg.DataDir, browserProfileDir)
	if err := os.MkdirAll(profile, 0o700); err != nil {
		return fmt.Errorf("browser profile: %w", err)
	}
	browserArgs := browser.OpenArgs(profile, pacURL(cfg.Listen), pins, "https://"+hostsOf(cfg)[0]+"/")
	exe := browser.Find()
	quoted := []string{shellQuote(exe)}
	for _, a := range browserArgs {
		quoted = append(quoted, shellQuote(a))
	}
	if exe == "" {
		quoted[0] = "chrome"
		return fmt.Errorf("no Chrome, Edge or Chromium found: install one, or start any Chromium-family browser like this:\n  %s", strings.Join(quoted, " "))
	}
	logPath := filepath.Join(cfg.DataDir, browser.LogFile)
	proc, err := browser.Start(exe, browserArgs, logPath, true)
	if err != nil {
		return err
	}
	if err := proc.QuitAtOnce(); err != nil {
		return fmt.Errorf("%w\nthe command was:\n  %s", err, strings.Join(quoted, " "))
	}
	fmt.Fprintf(out, "Started %s with its own profile in %s:\n  %s\n", filepath.Base(exe), profile, strings.Join(quoted, " "))
	return nil
}

// browserTrusts reports whether the stores a Chromium-family browser
// reads here (the system store on Windows and macOS, the NSS database on
// Linux) trust ca.
func browserTrusts(ctx context.Context, ca *certs.CA) bool {
	kind := certs.StoreSystem
	if runtime.GOOS != "windows" && runtime.GOOS != "darwin" {
		kind = certs.StoreNSS
	}
	stores, err := certs.FindTrustStores(certs.TrustOptions{Kinds: []certs.StoreKind{kind}})
	if err != nil || len(stores) == 0 {
		return false
	}
	for _, r := range certs.CheckTrust(ctx, ca, "", stores) {
		if r.Trusted {
			return true
		}
	}
	return false
}
