// Package browser finds and starts the agent's Chromium-family browser
// (Chrome, Edge, Chromium) with a profile of kfsidebar's own, for `kfsidebar
// open` and `kfsidebar demo --open`: the proxy, and trust by SPKI pin,
// apply to that profile alone and nothing on the system changes. A browser
// that cannot start is reported with what it printed.
package browser

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"time"

	"github.com/kfsidebar/kfsidebar/internal/nowindow"
)

// Find returns a Chromium-family browser (Chrome, Edge, Chromium)
// installed on this workstation, or "".
func Find() string {
	if p := os.Getenv("KFSIDEBAR_CHROMIUM"); p != "" {
		return p
	}
	var candidates []string
	switch runtime.GOOS {
	case "windows":
		for _, env := range []string{"ProgramFiles", "ProgramFiles(x86)", "LocalAppData"} {
			base := os.Getenv(env)
			if base == "" {
				continue
			}
			candidates = append(candidates,
				filepath.Join(base, `Google\Chrome\Application\chrome.exe`),
				filepath.Join(base, `Microsoft\Edge\Application\msedge.exe`),
				filepath.Join(base, `Chromium\Application\chrome.exe`))
		}
	case "darwin":
		candidates = []string{
			"/Applications/Google Chrome.app/Contents/MacOS/Google Chrome",
			"/Applications/Microsoft Edge.app/Contents/MacOS/Microsoft Edge",
			"/Applications/Chromium.app/Contents/MacOS/Chromium",
		}
	default:
		for _, name := range []string{"google-chrome", "google-chrome-stable", "chromium", "chromium-browser", "microsoft-edge", "microsoft-edge-stable"} {
			if p, err := exec.LookPath(name); err == nil {
				return p
			}
		}
	}
	for _, c := range candidates {
		if _, err := os.Stat(c); err == nil {
			return c
		}
	}
	return ""
}

// DemoArgs are the flags of the demo's browser: a profile of its own
// that sends everything to the proxy at proxyAddr and trusts the given
// certificate public keys (SPKI pins). The pins apply to that profile only
// and also lift the CA's name constraint there.
func DemoArgs(profileDir, proxyAddr string, spki []string, url string) []string {
	return profileArgs(profileDir, "--proxy-server="+proxyAddr, spki, url)
}

// OpenArgs are the flags of `kfsidebar open`'s browser: a profile of its
// own that takes its proxy from kfsidebar's PAC (so only the console goes
// through kfsidebar, as with `proxy on`), plus SPKI pins when the CA is not
// in the trust store. Nothing outside profileDir is changed.
func OpenArgs(profileDir, pacURL string, spki []string, url string) []string {
	return profileArgs(profileDir, "--proxy-pac-url="+pacURL, spki, url)
}

func profileArgs(profileDir, proxyFlag string, spki []string, url string) []string {
	args := []string{
		"--user-data-dir=" + profileDir,
		// Chromium on Linux keeps a profile's cache under ~/.cache, named
		// after the profile's path (~/.cache/kfsidebar/browser-profile):
		// inside the profile, deleting the data directory removes it too.
		"--disk-cache-dir=" + filepath.Join(profileDir, "cache"),
		proxyFlag,
		"--no-first-run",
		"--no-default-browser-check",
	}
	if len(spki) > 0 {
		args = append(args, "--ignore-certificate-errors-spki-list="+strings.Join(spki, ","))
	}
	if runtime.GOOS == "linux" && os.Geteuid() == 0 {
		args = append(args, "--no-sandbox") // Chromium refuses to run as root otherwise
	}
	return append(args, url)
}

const (
	// LogFile, in the data directory, keeps what the browser started
	// by open or demo --open printed: a pipe to kfsidebar would break when
	// kfsidebar ends, and the browser may live on.
	LogFile = "browser.log"
	// Settle is how long kfsidebar watches a browser it started: one
	// that cannot start (no display, a broken install) quits within it.
	Settle = 3 * time.Second
)

// Proc is a browser kfsidebar started.
type Proc struct {
	cmd     *exec.Cmd
	name    string
	logPath string
	done    chan struct{} // closed when it has quit; err is then set
	err     error
	stopped atomic.Bool // Stop ended it: its exit is no failure to start
}

// Start starts browser with args, its output in logPath, detached
// from this process when detached is set (it outlives `kfsidebar open`).
func Start(browser string, args []string, logPath string, detached bool) (*Proc, error) {
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("browser log: %w", err)
	}
	defer logFile.Close() // the browser has its own copy once started
	cmd := exec.Command(browser, args...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if detached {
		detach(cmd)
	}
	nowindow.Apply(cmd)
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("could not start %s: %w", browser, err)
	}
	p := &Proc{cmd: cmd, name: filepath.Base(browser), logPath: logPath, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// QuitAtOnce waits up to Settle. Still running is nil (the browser
// lives on), and so is quitting with status 0 (it handed the window to a
// browser already running that profile); quitting with an error is an
// error saying what the browser printed.
func (p *Proc) QuitAtOnce() error {
	select {
	case <-p.done:
		if p.err == nil || p.stopped.Load() {
			return nil
		}
		return fmt.Errorf("%s did not start (%v); what it said, from %s:\n%s",
			p.name, p.err, p.logPath, tail(p.logPath, 10))
	case <-time.After(Settle):
		return nil
	}
}

// StopGrace is how long Stop waits for the browser after asking it to
// quit, and again after ending it.
const StopGrace = 5 * time.Second

// Stop asks the browser to quit (Ctrl+C; on Windows, closing its windows),
// ends it if it cannot be asked or has not quit within StopGrace, and
// waits for it at most StopGrace more: Ctrl+C on `demo --open` returns
// whatever the browser does. It says what happened, for the user.
func (p *Proc) Stop() string {
	select {
	case <-p.done:
		return p.name + " had already quit"
	default:
	}
	p.stopped.Store(true)
	asked := askToQuit(p.cmd.Process) == nil
	if asked {
		select {
		case <-p.done:
			return "closed " + p.name
		case <-time.After(StopGrace):
		}
	}
	killErr := p.cmd.Process.Kill()
	select {
	case <-p.done:
		if asked {
			return p.name + " did not close within " + StopGrace.String() + "; ended it"
		}
		return "ended " + p.name + " (it could not be asked to close)"
	case <-time.After(StopGrace):
		return fmt.Sprintf("%s did not quit (%v); close its window yourself", p.name, killErr)
	}
}

// tail returns the last n lines of the file at path, indented.
func tail(path string, n int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return "  (" + err.Error() + ")"
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return "  " + strings.Join(lines, "\n  ")
}
