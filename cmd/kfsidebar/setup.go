package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/kfsidebar/kfsidebar/internal/autostart"
	"github.com/kfsidebar/kfsidebar/internal/msg"
	"github.com/kfsidebar/kfsidebar/internal/sysproxy"
)

// step is one step of setup or uninstall.
type step struct {
	title msg.Text
	do    func() error
}

// runSteps runs every step, even after one failed (each is independent,
// and an installer wants as much done as possible), and names the failed
// ones in the error.
func runSteps(p msg.Printer, out io.Writer, failed msg.Text, steps []step) error {
	var bad []string
	for i, s := range steps {
		p.Printf(out, msg.SetupStep, i+1, len(steps), p.Sprintf(s.title))
		if err := s.do(); err != nil {
			var u usageError
			if !errors.As(err, &u) {
				fmt.Fprintf(out, "✘ %v\n", err)
			}
			bad = append(bad, p.Sprintf(s.title))
		}
	}
	if len(bad) > 0 {
		return p.Errorf(failed, len(bad), len(steps), strings.Join(bad, ", "))
	}
	return nil
}

func runSetup(ctx context.Context, args []string, out, errOut io.Writer) error {
	p := msg.NewPrinter(msg.Detect())
	cfg := DefaultConfig()
	fs := newFlagSet("setup", "setup [--data-dir DIR] [--listen ADDR]", p.Sprintf(msg.SetupHelp), errOut)
	fs.StringVar(&cfg.DataDir, "data-dir", cfg.DataDir, "directory for the CA, the database and the config (env KFSIDEBAR_DATA_DIR)")
	fs.StringVar(&cfg.Listen, "listen", cfg.Listen, "the address kfsidebar runs on")
	var stores []string
	fs.Func("store", "only this kind of trust store for the CA: system, nss or firefox (repeatable; default all)", func(v string) error {
		stores = append(stores, "--store", v)
		return nil
	})
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	dir := []string{"--data-dir", cfg.DataDir}
	err := runSteps(p, out, msg.SetupFailed, []step{
		{msg.SetupStepCA, func() error { return runCA(ctx, append(append([]string{"install"}, dir...), stores...), out, errOut) }},
		{msg.SetupStepProxy, func() error {
			err := runProxy(ctx, append([]string{"on", "--listen", cfg.Listen}, dir...), out, errOut)
			if errors.Is(err, sysproxy.ErrUnsupported) {
				p.Printf(out, msg.SetupProxyByHand, err, pacURL(cfg.Listen))
				return nil // the one step left to a person, said above
			}
			return err
		}},
		{msg.SetupStepStart, func() error {
			return autostartOn(cfg, p, autostart.Options{}, out)
		}},
	})
	if err != nil {
		return err
	}
	p.Printf(out, msg.SetupDone, hostsOf(cfg)[0])
	return nil
}
