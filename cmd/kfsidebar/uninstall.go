package main

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/kfsidebar/kfsidebar/certs"
	"github.com/kfsidebar/kfsidebar/internal/browser"
	"github.com/kfsidebar/kfsidebar/internal/logfile"
	"github.com/kfsidebar/kfsidebar/internal/msg"
	"github.com/kfsidebar/kfsidebar/internal/sysproxy"
)

func runUninstall(ctx context.Context, args []string, out, errOut io.Writer) error {
	p := msg.NewPrinter(msg.Detect())
	cfg := DefaultConfig()
	var keep bool
	fs := newFlagSet("uninstall", "uninstall [--keep-data] [--data-dir DIR]", p.Sprintf(msg.UninstallHelp), errOut)
	fs.StringVar(&cfg.DataDir, "data-dir", cfg.DataDir, "directory for the CA, the database and the config (env KFSIDEBAR_DATA_DIR)")
	fs.StringVar(&cfg.Listen, "listen", cfg.Listen, "the address kfsidebar ran on")
	fs.BoolVar(&keep, "keep-data", false, "keep the data directory (the CA, the chats learned, the orders imported, the config)")
	var stores []string
	fs.Func("store", "only this kind of trust store for the CA: system, nss or firefox (repeatable; default all)", func(v string) error {
		stores = append(stores, "--store", v)
		return nil
	})
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	dir := []string{"--data-dir", cfg.DataDir}
	err := runSteps(p, out, msg.UninstallFailed, []step{
		{msg.UninstallStepTray, func() error {
			_, err := stopTray(cfg.DataDir, 30*time.Second)
			if errors.Is(err, errTrayNotRunning) {
				p.Printf(out, msg.TrayNotRunning)
				return nil
			}
			if err == nil {
				p.Printf(out, msg.TrayStopped)
			}
			return err
		}},
		{msg.UninstallStepStart, func() error {
			return runAutostart(ctx, []string{"off"}, out, errOut)
		}},
		{msg.UninstallStepProxy, func() error {
			err := runProxy(ctx, append([]string{"off", "--listen", cfg.Listen}, dir...), out, errOut)
			if errors.Is(err, sysproxy.ErrUnsupported) {
				p.Printf(out, msg.UninstallProxyNone)
				os.Remove(filepath.Join(cfg.DataDir, sysproxy.StateFile))
				return nil
			}
			return err
		}},
		{msg.UninstallStepCA, func() error { return runCA(ctx, append(append([]string{"uninstall"}, dir...), stores...), out, errOut) }},
		{msg.UninstallStepData, func() error { return removeData(cfg, keep, p, out) }},
	})
	if err != nil {
		return err
	}
	p.Printf(out, msg.UninstallDone)
	return nil
}

// dataNames are the names kfsidebar keeps in its data directory; a name
// that starts with one of them followed by "." or "-" (kfsidebar.log.1,
// kfsidebar.db-wal), or is one of them behind a "." (a temporary file of
// atomicfile), is kfsidebar's too. Nothing else there is removed: the data
// directory may have been given as a directory that holds more.
var dataNames = []string{
	certs.CertFile, certs.KeyFile, dbFile, logfile.Name, tokenFile, configFileName,
	gatewayConfigName, gatewayDBFile, sysproxy.StateFile, browser.LogFile, browserProfileDir,
	trayLockFile, trayQuitFile, trayReadyFile, trayLogFile,
}

func isDataName(name string) bool {
	return slices.ContainsFunc(dataNames, func(n string) bool {
		return name == n || strings.HasPrefix(name, n+".") || strings.HasPrefix(name, n+"-") || strings.HasPrefix(name, "."+n)
	})
}

// removeData deletes kfsidebar's files from the data directory (then the
// directory, when that leaves it empty), the demo's data directory, and
// what Chromium put under ~/.cache for kfsidebar's browser profiles before
// they kept their cache inside (see browser.OpenArgs).
func removeData(cfg Config, keep bool, p msg.Printer, out io.Writer) error {
	var errs []error
	remove := func(path string) {
		if _, err := os.Lstat(path); err != nil {
			return
		}
		if err := os.RemoveAll(path); err != nil {
			errs = append(errs, err)
			return
		}
		p.Printf(out, msg.UninstallRemoved, path)
	}
	parent := filepath.Dir(DefaultConfig().DataDir)
	remove(filepath.Join(parent, demoDataDir))
	if cache, err := os.UserCacheDir(); err == nil {
		remove(filepath.Join(cache, "kfsidebar"))
		remove(filepath.Join(cache, demoDataDir))
	}
	if keep {
		p.Printf(out, msg.UninstallKept, cfg.DataDir)
		return errors.Join(errs...)
	}
	entries, err := os.ReadDir(cfg.DataDir)
	if errors.Is(err, os.ErrNotExist) {
		p.Printf(out, msg.UninstallNothing)
		return errors.Join(errs...)
	}
	if err != nil {
		return err
	}
	for _, e := range entries {
		path := filepath.Join(cfg.DataDir, e.Name())
		if !isDataName(e.Name()) {
			p.Printf(out, msg.UninstallNotOurs, path)
			continue
		}
		if err := os.RemoveAll(path); err != nil {
			errs = append(errs, err)
		}
	}
	if err := os.Remove(cfg.DataDir); err == nil {
		p.Printf(out, msg.UninstallRemoved, cfg.DataDir)
	}
	return errors.Join(errs...)
}
