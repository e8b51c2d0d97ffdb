package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"time"

	"github.com/kfsidebar/kfsidebar/internal/browser"
	"github.com/kfsidebar/kfsidebar/internal/logfile"
	"github.com/kfsidebar/kfsidebar/internal/msg"
	"github.com/kfsidebar/kfsidebar/internal/supervise"
	"github.com/kfsidebar/kfsidebar/internal/tray"
)

// Files of the tray in the data directory.
const (
	trayLockFile  = "tray.lock"  // held while a tray runs: one per user
	trayQuitFile  = "tray.quit"  // `tray stop` writes it; the tray quits
	trayReadyFile = "tray.ready" // the proxy's --ready-file
	trayLogFile   = "tray.log"   // the tray's own log (the proxy's is kfsidebar.log)
)

func runTray(ctx context.Context, args []string, out, errOut io.Writer) error {
	if len(args) > 0 && args[0] == "stop" {
		return runTrayStop(args[1:], out, errOut)
	}
	cfg := DefaultConfig()
	fs := newFlagSet("tray", "tray [--data-dir DIR] [--listen ADDR] [-- RUN FLAGS…] | tray stop",
		"Show kfsidebar's tray icon and run the proxy (kfsidebar run) under it, hidden:\n"+
			"it is restarted when it stops, the system's PAC setting is renewed on every\n"+
			"start so browsers use it at once, and the menu opens the console, the status\n"+
			"page, pauses kfsidebar and switches starting at login. One tray per user: a\n"+
			"second one opens the status page. Flags after -- go to run. `tray stop` quits it.", errOut)
	fs.StringVar(&cfg.DataDir, "data-dir", cfg.DataDir, "directory for the CA, the database and the config (env KFSIDEBAR_DATA_DIR)")
	fs.StringVar(&cfg.Listen, "listen", cfg.Listen, "the proxy's address")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	p := msg.NewPrinter(msg.Detect())
	release, held, err := tray.Lock(filepath.Join(cfg.DataDir, trayLockFile))
	if err != nil {
		return err
	}
	if !held {
		page := "http://" + trayAddr(cfg) + "/"
		p.Printf(out, msg.TrayAlreadyRunning, page)
		if err := browser.OpenURL(page); err != nil {
			return p.Errorf(msg.TrayNoOpener, page, err)
		}
		return nil
	}
	defer release()
	logf, err := logfile.Open(filepath.Join(cfg.DataDir, trayLogFile), logfile.MaxBytes, 1)
	if err != nil {
		return err
	}
	defer logf.Close()
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	app := &trayApp{cfg: cfg, p: p, exe: exe, runArgs: fs.Args(), log: newLogger(io.MultiWriter(errOut, logf), cfg.LogLevel)}
	return app.run(ctx)
}

// trayAddr is where the tray's proxy serves: the address it last
// reported, else the configured one.
func trayAddr(cfg Config) string {
	if b, err := os.ReadFile(filepath.Join(cfg.DataDir, trayReadyFile)); err == nil && len(b) > 1 {
		return string(b[:len(b)-1])
	}
	return localAddr(cfg.Listen)
}

// trayApp is a running tray: the proxy under supervision, the icon, and
// what the menu does.
type trayApp struct {
	cfg     Config
	p       msg.Printer
	log     *slog.Logger
	exe     string   // this program: the proxy is `exe run …`
	runArgs []string // more flags for run (after --)
	ui      *tray.Tray
	quit    context.CancelFunc
	poke    chan struct{} // look at the proxy now

	mu       sync.Mutex
	addr     string // where the proxy serves; "" while it does not
	paused   bool
	lastExit string // why the proxy last stopped, and when it restarts
	started  bool   // a proxy served once
	trusted  bool   // the browser trusts the CA, or need not (no system PAC)
}

func (a *trayApp) run(ctx context.Context) error {
	ctx, a.quit = context.WithCancel(ctx)
	defer a.quit()
	a.poke = make(chan struct{}, 1)
	a.trusted = true
	os.Remove(filepath.Join(a.cfg.DataDir, trayQuitFile))
	defer os.Remove(filepath.Join(a.cfg.DataDir, trayReadyFile))
	a.ui = tray.New(tray.Options{
		Labels:        a.labels(),
		OnOpenConsole: a.openConsole,
		OnStatusPage:  a.openStatusPage,
		OnPause:       a.setPaused,
		OnAutostart:   a.setAutostart,
		OnQuit:        a.quit,
		Logger:        a.log,
	})
	a.ui.SetState(tray.Starting, "")
	a.ui.SetAutostart(a.autostartOn())
	a.log.Info("kfsidebar tray started", "version", versionString(), "data_dir", a.cfg.DataDir, "pid", os.Getpid())

	var wg sync.WaitGroup
	wg.Go(func() {
		supervise.Run(ctx, supervise.Config{
			Command:   a.proxyCommand,
			ReadyFile: filepath.Join(a.cfg.DataDir, trayReadyFile),
			OnReady:   a.proxyReady,
			OnExit:    a.proxyExited,
			Logger:    a.log,
		})
	})
	wg.Go(func() { a.watch(ctx) })
	err := a.ui.Run(ctx)
	a.quit()
	wg.Wait()
	a.log.Info("kfsidebar tray quit")
	return err
}

func (a *trayApp) labels() tray.Labels {
	p := a.p
	return tray.Labels{
		Title: p.Sprintf(msg.TrayTitle),
		States: map[tray.State]string{
			tray.Starting:  p.Sprintf(msg.TrayStarting),
			tray.Working:   p.Sprintf(msg.TrayWorking),
			tray.Paused:    p.Sprintf(msg.TrayPaused),
			tray.Down:      p.Sprintf(msg.TrayDown),
			tray.Untrusted: p.Sprintf(msg.TrayUntrusted),
		},
		OpenConsole: p.Sprintf(msg.TrayOpenConsole),
		StatusPage:  p.Sprintf(msg.TrayStatusPage),
		Pause:       p.Sprintf(msg.TrayPause),
		Resume:      p.Sprintf(msg.TrayResume),
		Autostart:   p.Sprintf(msg.TrayAutostart),
		Quit:        p.Sprintf(msg.TrayQuit),
	}
}

// proxyCommand is `kfsidebar run` as the tray runs it: stopped by closing
// its input, paused if the agent paused, at the tray's address.
func (a *trayApp) proxyCommand() *exec.Cmd {
	args := []string{"run", "--supervised", "--ready-file", filepath.Join(a.cfg.DataDir, trayReadyFile),
		"--data-dir", a.cfg.DataDir, "--listen", a.cfg.Listen}
	a.mu.Lock()
	if a.paused {
		args = append(args, "--paused")
	}
	a.mu.Unlock()
	cmd := exec.Command(a.exe, append(args, a.runArgs...)...)
	cmd.Stdout = io.Discard // the banner is for terminals; the log has it all
	return cmd
}

// proxyReady: the proxy serves. The system's PAC setting is renewed
// under a fresh URL, so that browsers fetch the PAC at once instead of
// after their retry backoff (up to 4 hours).
func (a *trayApp) proxyReady(addr string, pid int) {
	a.mu.Lock()
	a.addr, a.lastExit, a.started = addr, "", true
	a.mu.Unlock()
	a.refreshPAC(addr)
	a.pokeWatch()
}

func (a *trayApp) proxyExited(err error, restartIn time.Duration) {
	a.mu.Lock()
	a.addr = ""
	if restartIn > 0 {
		a.lastExit = a.p.Sprintf(msg.TrayRestartIn, restartIn, err)
	}
	a.mu.Unlock()
	a.pokeWatch()
}

func (a *trayApp) pokeWatch() {
	select {
	case a.poke <- struct{}{}:
	default:
	}
}

// watch keeps the icon current: the proxy's status.json every few
// seconds, the trust store now and then, and `tray stop`'s request.
func (a *trayApp) watch(ctx context.Context) {
	tick := time.NewTicker(2 * time.Second)
	defer tick.Stop()
	var trustChecked time.Time
	for {
		a.mu.Lock()
		addr := a.addr
		a.mu.Unlock()
		if addr != "" && time.Since(trustChecked) > 5*time.Minute {
			a.checkTrust(ctx)
			trustChecked = time.Now()
		}
		a.showState(ctx)
		if _, err := os.Stat(filepath.Join(a.cfg.DataDir, trayQuitFile)); err == nil {
			a.log.Info("asked to quit (kfsidebar tray stop)")
			os.Remove(filepath.Join(a.cfg.DataDir, trayQuitFile))
			a.quit()
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		case <-a.poke:
			trustChecked = time.Time{}
		}
	}
}

// showState reads the proxy's status and shows it.
func (a *trayApp) showState(ctx context.Context) {
	a.mu.Lock()
	addr, lastExit, started, trusted := a.addr, a.lastExit, a.started, a.trusted
	a.mu.Unlock()
	if addr == "" {
		if !started && lastExit == "" {
			a.ui.SetState(tray.Starting, "")
		} else {
			a.ui.SetState(tray.Down, lastExit)
		}
		return
	}
	st, err := fetchStatus(ctx, addr)
	switch {
	case err != nil:
		a.ui.SetState(tray.Down, a.p.Sprintf(msg.TrayNotAnswering, addr))
	case st.Paused:
		a.ui.SetState(tray.Paused, a.p.Sprintf(msg.TrayServing, addr))
	case !trusted:
		a.ui.SetState(tray.Untrusted, a.p.Sprintf(msg.TrayUntrustedDetail))
	default:
		a.ui.SetState(tray.Working, a.p.Sprintf(msg.TrayServing, addr))
	}
	if err == nil {
		a.mu.Lock()
		changed := a.paused != st.Paused
		a.paused = st.Paused
		a.mu.Unlock()
		if changed {
			a.ui.SetPaused(st.Paused)
		}
	}
}

// runTrayStop asks the running tray to quit and waits until it has.
func runTrayStop(args []string, out, errOut io.Writer) error {
	cfg := DefaultConfig()
	fs := newFlagSet("tray stop", "tray stop [--data-dir DIR]", "Quit kfsidebar's tray, and the proxy it runs.", errOut)
	fs.StringVar(&cfg.DataDir, "data-dir", cfg.DataDir, "directory for the CA, the database and the config (env KFSIDEBAR_DATA_DIR)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	p := msg.NewPrinter(msg.Detect())
	stopped, err := stopTray(cfg.DataDir, 30*time.Second)
	switch {
	case errors.Is(err, errTrayNotRunning):
		p.Printf(out, msg.TrayNotRunning)
		return nil
	case err != nil:
		return err
	case stopped:
		p.Printf(out, msg.TrayStopped)
	}
	return nil
}

var errTrayNotRunning = errors.New("no tray running")

// stopTray asks the tray of dataDir to quit and waits for it, up to
// timeout; errTrayNotRunning when there is none.
func stopTray(dataDir string, timeout time.Duration) (bool, error) {
	lock := filepath.Join(dataDir, trayLockFile)
	if release, held, err := tray.Lock(lock); err != nil {
		return false, err
	} else if held {
		release()
		return false, errTrayNotRunning
	}
	quitFile := filepath.Join(dataDir, trayQuitFile)
	if err := os.WriteFile(quitFile, nil, 0o600); err != nil {
		return false, err
	}
	defer os.Remove(quitFile)
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if release, held, err := tray.Lock(lock); err == nil && held {
			release()
			return true, nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return false, msg.NewPrinter(msg.Detect()).Errorf(msg.TrayStopTimeout, timeout, lock)
}
