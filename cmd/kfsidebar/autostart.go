package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"

	"github.com/kfsidebar/kfsidebar/internal/autostart"
	"github.com/kfsidebar/kfsidebar/internal/msg"
)

func runAutostart(_ context.Context, args []string, out, errOut io.Writer) error {
	p := msg.NewPrinter(msg.Detect())
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprintf(errOut, "%s\n\nUsage:\n  kfsidebar autostart on|off|status [flags]\n", p.Sprintf(msg.AutostartHelp))
		if len(args) == 0 {
			return usageError{"autostart: missing subcommand"}
		}
		return nil
	}
	sub := args[0]
	switch sub {
	case "on", "off", "status":
	default:
		return usageError{fmt.Sprintf("autostart: unknown subcommand %q (want on, off or status)", sub)}
	}
	cfg := DefaultConfig()
	var systemd, desktop bool
	fs := newFlagSet("autostart "+sub, "autostart "+sub+" [flags]", p.Sprintf(msg.AutostartHelp), errOut)
	fs.StringVar(&cfg.DataDir, "data-dir", cfg.DataDir, "the tray started at login uses this data directory (env KFSIDEBAR_DATA_DIR)")
	fs.StringVar(&cfg.Listen, "listen", cfg.Listen, "the address the proxy started at login listens on")
	fs.BoolVar(&systemd, "systemd", false, "Linux: a systemd user unit running the proxy alone (the default without a desktop session)")
	fs.BoolVar(&desktop, "desktop", false, "Linux: an XDG autostart entry starting the tray (the default on a desktop)")
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	var opts autostart.Options
	switch {
	case systemd && desktop:
		return usageError{"autostart: --systemd or --desktop, not both"}
	case systemd:
		opts.Kind = autostart.SystemdUser
	case desktop:
		opts.Kind = autostart.XDGAutostart
	}
	switch sub {
	case "on":
		return autostartOn(cfg, p, opts, out)
	case "off":
		removed, err := autostart.Disable(autostartName, opts)
		if err != nil {
			return err
		}
		if len(removed) == 0 {
			p.Printf(out, msg.AutostartNone)
			return nil
		}
		p.Printf(out, msg.AutostartOff)
		for _, r := range removed {
			fmt.Fprintf(out, "  %s\n", r)
		}
		return nil
	}
	exe, _, _, err := trayProgram()
	if err != nil {
		return err
	}
	found, err := autostart.Check(autostartName, exe, opts)
	if err != nil {
		return err
	}
	if len(found) == 0 {
		p.Printf(out, msg.AutostartStatusOff)
	}
	for _, st := range found {
		switch {
		case st.Enabled:
			p.Printf(out, msg.AutostartStatusOn, st.Kind, st.Where)
		case st.DisabledBy != "":
			p.Printf(out, msg.AutostartDisabledBy, st.DisabledBy, st.Where)
		default:
			p.Printf(out, msg.AutostartStatusOff)
		}
		if st.Stale {
			p.Printf(out, msg.AutostartStale, st.Program, exe)
		}
	}
	return nil
}

// autostartOn makes the tray start at login and says how.
func autostartOn(cfg Config, p msg.Printer, opts autostart.Options, out io.Writer) error {
	e, console, err := trayEntry(cfg)
	if err != nil {
		return err
	}
	st, err := autostart.Enable(e, opts)
	if err != nil {
		return err
	}
	p.Printf(out, msg.AutostartOn, st.Kind, st.Where)
	if console {
		p.Printf(out, msg.AutostartConsoleExe)
	}
	if st.Kind == autostart.SystemdUser && opts.Kind == "" {
		p.Printf(out, msg.AutostartHeadless)
	}
	return nil
}

// trayEntry is the autostart entry of this program's tray: --data-dir and
// --listen go along when they are not the defaults.
func trayEntry(cfg Config) (e autostart.Entry, console bool, err error) {
	exe, args, console, err := trayProgram()
	if err != nil {
		return e, false, err
	}
	var flags []string
	def := DefaultConfig()
	if filepath.Clean(cfg.DataDir) != filepath.Clean(def.DataDir) {
		flags = append(flags, "--data-dir", cfg.DataDir)
	}
	if localAddr(cfg.Listen) != localAddr(def.Listen) {
		flags = append(flags, "--listen", cfg.Listen)
	}
	if len(args) == 0 && len(flags) > 0 {
		args = []string{"tray"} // kfsidebarw.exe with flags names its command
	}
	en, zh := msg.NewPrinter(msg.English), msg.NewPrinter(msg.Chinese)
	return autostart.Entry{
		Name:         autostartName,
		Exe:          exe,
		Args:         append(args, flags...),
		HeadlessArgs: append([]string{"run"}, flags...),
		Title:        en.Sprintf(msg.AutostartTitle),
		TitleZH:      zh.Sprintf(msg.AutostartTitle),
		Comment:      en.Sprintf(msg.AutostartComment),
		CommentZH:    zh.Sprintf(msg.AutostartComment),
	}, console, nil
}
