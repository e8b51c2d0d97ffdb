// Package browsertest runs the real injected sidebar in a real headless
// Chromium: one shared browser per test binary, a new tab per test.
//
// A test that cannot find Chromium skips with the reason on a developer
// machine and fails when CI is set, so CI can never pass by skipping.
package browsertest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Path returns the Chromium (or Chrome/Edge) binary to drive: $KFSIDEBAR_CHROMIUM
// when set, else the first browser found on PATH, else "".
func Path() string {
	if p := os.Getenv("KFSIDEBAR_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "microsoft-edge"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// Require returns the browser path, or stops the test: a skip with the
// reason on a developer machine, a failure when the CI variable is set.
func Require(tb testing.TB) string {
	tb.Helper()
	p := Path()
	if p != "" {
		return p
	}
	const why = "chromium not found (install Debian's chromium package or set KFSIDEBAR_CHROMIUM)"
	if os.Getenv("CI") != "" {
		tb.Fatal(why + "; CI is set, so browser tests must run")
	}
	tb.Skip(why)
	return ""
}

// Options say how the shared browser is launched.
type Options struct {
	// ProxyServer is passed as --proxy-server (e.g. "127.0.0.1:8787").
	// Empty means direct connections.
	ProxyServer string
	// SPKIList is passed as --ignore-certificate-errors-spki-list: the
	// browser then trusts certificates whose chain holds one of these
	// public keys. Tests only; it also lifts name constraints.
	SPKIList []string
	// Width and Height of the window; default 1400×900.
	Width, Height int
	// TimeZone is the browser's time zone (TZ), e.g. "Asia/Shanghai" so
	// that pages show the times an agent in China sees. Default: the
	// machine's.
	TimeZone string
	// Env is extra environment for the browser ("NAME=value"), e.g. a
	// HOME whose NSS database the test controls, so that certificate
	// trust comes from the trust store rather than from SPKIList.
	Env []string
	// Flags are more command-line flags, by name without the dashes
	// (true for a flag without a value), e.g. "host-resolver-rules".
	Flags map[string]any
}

// Browser is one running headless Chromium.
type Browser struct {
	ctx    context.Context // the browser's first tab; parent of every tab
	cancel func()
	dir    string
}

// Start launches Chromium with the flags that work headless as root here.
func Start(opts Options) (*Browser, error) {
	path := Path()
	if path == "" {
		return nil, fmt.Errorf("start browser: chromium not found")
	}
	dir, err := os.MkdirTemp("", "kfsidebar-chromium-*")
	if err != nil {
		return nil, fmt.Errorf("start browser: %w", err)
	}
	if opts.Width == 0 {
		opts.Width, opts.Height = 1400, 900
	}
	flags := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.UserDataDir(dir),
		chromedp.WindowSize(opts.Width, opts.Height),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("no-default-browser-check", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-features", "Translate,OptimizationHints,MediaRouter"),
		chromedp.Flag("password-store", "basic"),
		chromedp.Flag("use-mock-keychain", true),
	}
	if opts.ProxyServer != "" {
		flags = append(flags, chromedp.ProxyServer(opts.ProxyServer),
			// Chromium bypasses the proxy for loopback by default.
			chromedp.Flag("proxy-bypass-list", "<-loopback>"))
	}
	if opts.TimeZone != "" {
		flags = append(flags, chromedp.Env("TZ="+opts.TimeZone))
	}
	if len(opts.Env) > 0 {
		flags = append(flags, chromedp.Env(opts.Env...))
	}
	if len(opts.SPKIList) > 0 {
		flags = append(flags, chromedp.Flag("ignore-certificate-errors-spki-list", strings.Join(opts.SPKIList, ",")))
	}
	for name, v := range opts.Flags {
		flags = append(flags, chromedp.Flag(name, v))
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), flags...)
	ctx, cancelCtx := chromedp.NewContext(allocCtx)
	// No timeout here: the context of the first call owns the browser, and
	// its deadline would stop it. Tabs carry their own deadlines.
	if err := chromedp.Do(ctx); err != nil {
		cancelCtx()
		cancelAlloc()
		os.RemoveAll(dir)
		return nil, fmt.Errorf("start browser: %w", err)
	}
	return &Browser{ctx: ctx, dir: dir, cancel: func() { cancelCtx(); cancelAlloc() }}, nil
}

// Tab opens a new tab for one test. It is closed when the test ends; the
// page's console output and uncaught exceptions go to the test log.
func (b *Browser) Tab(tb testing.TB) context.Context {
	tb.Helper()
	ctx, cancel := chromedp.NewContext(b.ctx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 90*time.Second)
	var mu sync.Mutex
	done := false
	logf := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		if !done {
			tb.Logf(format, args...)
		}
	}
	if err := chromedp.Do(ctx); err != nil {
		cancelTimeout()
		cancel()
		tb.Fatalf("new tab: %v", err)
	}
	messages := chromedp.Console(ctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			logf("browser %s", m)
		}
	}()
	tb.Cleanup(func() {
		mu.Lock()
		done = true
		mu.Unlock()
		cancelTimeout()
		cancel()
	})
	return ctx
}

// Close stops the browser and removes its profile.
func (b *Browser) Close() {
	b.cancel()
	os.RemoveAll(b.dir)
}

// Shared starts one browser lazily, on the first test that asks for a tab,
// with options that may depend on servers the test binary started.
type Shared struct {
	// Options is called once, when the browser is first needed.
	Options func() Options

	once    sync.Once
	browser *Browser
	err     error
}

// Tab returns a new tab of the shared browser, starting it if needed. It
// skips or fails the test (see Require) when there is no Chromium.
func (s *Shared) Tab(tb testing.TB) context.Context {
	tb.Helper()
	Require(tb)
	s.once.Do(func() {
		var opts Options
		if s.Options != nil {
			opts = s.Options()
		}
		s.browser, s.err = Start(opts)
	})
	if s.err != nil {
		tb.Fatal(s.err)
	}
	return s.browser.Tab(tb)
}

// Close stops the browser if it was started. Call it from TestMain.
func (s *Shared) Close() {
	if s.browser != nil {
		s.browser.Close()
	}
}
