package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/kfsidebar/kfsidebar/certs"
	"github.com/kfsidebar/kfsidebar/internal/browsertest"
	"github.com/kfsidebar/kfsidebar/internal/msg"
	"github.com/kfsidebar/kfsidebar/proxy/console"
	"github.com/kfsidebar/kfsidebar/proxy/mpkftest"
)

// The end-to-end tests drive kfsidebar the way an agent does: the real
// command line (orders import, run), the real proxy on a loopback port, the
// simulated console behind it, and Chromium clicking the console's page.

var (
	world     *e2eWorld
	worldOnce sync.Once
	worldErr  error
	chromium  = browsertest.Shared{Options: func() browsertest.Options {
		return browsertest.Options{ProxyServer: world.addr, SPKIList: world.pins, TimeZone: "Asia/Shanghai"}
	}}
)

func TestMain(m *testing.M) {
	fakeBrowserMain()
	cliProcessMain()
	// The tests read what the commands print in English, whatever the
	// machine's language (msg.Detect).
	os.Setenv(msg.EnvLang, "en")
	code := m.Run()
	chromium.Close()
	if world != nil {
		world.stop()
	}
	os.Exit(code)
}

// e2eWorld is a running `kfsidebar run` in front of a simulated console.
type e2eWorld struct {
	sim     *mpkftest.Server
	addr    string
	dataDir string
	pins    []string
	run     *started
	log     *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// theWorld starts the shared kfsidebar and simulated console once.
func theWorld(t *testing.T) *e2eWorld {
	t.Helper()
	browsertest.Require(t)
	worldOnce.Do(func() { world, worldErr = startWorld() })
	if worldErr != nil {
		t.Fatal(worldErr)
	}
	return world
}

func startWorld() (*e2eWorld, error) { return startWorldWith("", nil) }

// startWorldWith starts `kfsidebar run` in front of a new simulated
// console. With config "" the embedded database gets the demo orders;
// else kfsidebar runs with that config file, and prepare, when not nil,
// sets up the data directory first (an empty embedded database otherwise).
func startWorldWith(config string, prepare func(dataDir string) error) (*e2eWorld, error) {
	return startWorldSim(mpkftest.Options{}, config, prepare)
}

// startWorldSim is startWorldWith in front of a console made with opts,
// with extra arguments for run.
func startWorldSim(opts mpkftest.Options, config string, prepare func(dataDir string) error, extra ...string) (*e2eWorld, error) {
	dir, err := os.MkdirTemp("", "kfsidebar-e2e-*")
	if err != nil {
		return nil, err
	}
	sim, err := mpkftest.NewServer(opts)
	if err != nil {
		return nil, err
	}
	simCA := filepath.Join(dir, "sim-ca.pem")
	orders := filepath.Join(dir, "orders.json")
	if err := os.WriteFile(simCA, sim.CA().CertPEM, 0o600); err != nil {
		return nil, err
	}
	if err := os.WriteFile(orders, mpkftest.DemoOrdersJSON, 0o600); err != nil {
		return nil, err
	}
	data := filepath.Join(dir, "data")
	var out strings.Builder
	args := append([]string{"run", "--listen", "127.0.0.1:0", "--data-dir", data, "--upstream-ca", simCA}, extra...)
	if config == "" {
		if err := Run(context.Background(), []string{"orders", "import", "--data-dir", data, orders}, &out, &out); err != nil {
			return nil, fmt.Errorf("orders import: %v\n%s", err, out.String())
		}
	} else {
		args = append(args, "--config", config)
	}
	if prepare != nil {
		if err := prepare(data); err != nil {
			return nil, err
		}
	}
	for _, h := range mpkftest.Hosts {
		args = append(args, "--dial", h+":443="+sim.Addr())
	}
	r, err := startCommand(nil, args...)
	if err != nil {
		return nil, err
	}
	w := &e2eWorld{sim: sim, dataDir: dir, run: r, addr: r.addr, log: r.log}
	ca, _, err := certs.LoadOrCreate(data, certs.Options{Hosts: []string{console.DefaultConsoleHost}})
	if err != nil {
		return nil, err
	}
	w.pins = []string{ca.SPKIHash(), sim.CA().SPKIHash()}
	return w, nil
}

func (w *e2eWorld) stop() {
	w.run.stop()
	w.sim.Close()
	os.RemoveAll(w.dataDir)
}

// fan returns the simulated console's roster entry with that nickname and
// uin suffix (two fans share "微信用户").
func fan(t *testing.T, nickname string, nth int) mpkftest.Fan {
	t.Helper()
	for _, f := range mpkftest.Roster {
		if f.Nickname == nickname {
			if nth == 0 {
				return f
			}
			nth--
		}
	}
	t.Fatalf("no fan %q in the roster", nickname)
	return mpkftest.Fan{}
}

func cardSel(f mpkftest.Fan) chromedp.CSS {
	return chromedp.CSS(fmt.Sprintf(`.card[data-reactid$="$%d"]`, f.UIN))
}

// sidebarOf is the page object of the sidebar in the tab ctx, which
// browses the world logOf(ctx) names.
func sidebarOf(t *testing.T, ctx context.Context) *browsertest.Sidebar {
	sb := browsertest.SidebarOf(t, ctx)
	sb.Logs = func() string { return logOf(ctx).String() }
	return sb
}

func openConsole(t *testing.T, ctx context.Context, w *e2eWorld) {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.Navigate(w.sim.URL()), chromedp.WaitVisible(chromedp.CSS(".card"))); err != nil {
		t.Fatalf("open console: %v\n%s", err, w.log)
	}
	sidebarOf(t, ctx).WaitReady()
}

func click(t *testing.T, ctx context.Context, sel chromedp.CSS) {
	t.Helper()
	if err := browsertest.Click(ctx, string(sel)); err != nil {
		t.Fatalf("click %s: %v", sel, err)
	}
}

// acceptedBy reports which console endpoint accepted the fan: the accept
// requests name the fan's uin; gettransferinfo names nobody, so it counts
// when it came after since.
func acceptedBy(w *e2eWorld, f mpkftest.Fan, since time.Time) string {
	uin := fmt.Sprint(f.UIN)
	for _, r := range w.sim.Requests() {
		switch r.Action {
		case "kfcreatesession", "kfbatchcreatesession":
			for _, u := range strings.Split(r.Form.Get("fansuinlist"), ",") {
				if u == uin {
					return r.Action
				}
			}
		case "gettransferinfo":
			if r.Time.After(since) {
				return r.Action
			}
		}
	}
	return ""
}

func TestE2EEveryAcceptPathShowsTheCustomer(t *testing.T) {
	w := theWorld(t)
	ctx := chromium.Tab(t)
	openConsole(t, ctx, w)

	t.Run("no console control is covered by the sidebar", func(t *testing.T) {
		for _, sel := range []string{".auto_accept", ".state_description", ".btn_send"} {
			covered, err := chromedp.Run(ctx, chromedp.Evaluate[bool](fmt.Sprintf(`(() => {
				const el = document.querySelector(%q);
				const r = el.getBoundingClientRect();
				const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
				return !el.contains(hit);
			})()`, sel)))
			if err != nil {
				t.Fatal(err)
			}
			if covered {
				t.Errorf("%s is covered: clicks on it would not reach the console", sel)
			}
		}
	})
	t.Run("open at page load (inline bootstrap)", func(t *testing.T) {
		f := fan(t, "林小满", 0)
		click(t, ctx, cardSel(f))
		s := sidebarOf(t, ctx).Wait("customer", f.OpenID)
		if s.Orders == 0 {
			t.Fatalf("no orders shown: %+v", s)
		}
	})
	t.Run("manual accept", func(t *testing.T) {
		f := fan(t, "王建国", 0)
		click(t, ctx, chromedp.CSS(fmt.Sprintf(`.waiting_item[data-reactid$="$%d"] .btn_accept`, f.UIN)))
		click(t, ctx, cardSel(f))
		if s := sidebarOf(t, ctx).Wait("customer", f.OpenID); s.Orders == 0 {
			t.Fatalf("no orders shown: %+v", s)
		}
		if got := acceptedBy(w, f, time.Time{}); got != "kfcreatesession" {
			t.Fatalf("accepted by %q, want kfcreatesession", got)
		}
	})
	t.Run("auto accept (batch)", func(t *testing.T) {
		click(t, ctx, chromedp.CSS(".auto_accept"))
		f := fan(t, "孙浩然", 0)
		w.sim.AddWaiting(f)
		if err := chromedp.Do(ctx, chromedp.WaitVisible(cardSel(f))); err != nil {
			t.Fatal(err)
		}
		click(t, ctx, cardSel(f))
		if s := sidebarOf(t, ctx).Wait("customer", f.OpenID); s.Orders != 6 {
			t.Fatalf("孙浩然 has 6 orders, sidebar shows %d", s.Orders)
		}
		if got := acceptedBy(w, f, time.Time{}); got != "kfbatchcreatesession" {
			t.Fatalf("accepted by %q, want kfbatchcreatesession", got)
		}
	})
	t.Run("transfer from another agent", func(t *testing.T) {
		f := fan(t, "吴佩琪", 0)
		before := time.Now()
		w.sim.TransferIn(f)
		if err := chromedp.Do(ctx, chromedp.WaitVisible(cardSel(f))); err != nil {
			t.Fatal(err)
		}
		click(t, ctx, cardSel(f))
		if s := sidebarOf(t, ctx).Wait("customer", f.OpenID); s.Orders == 0 {
			t.Fatalf("no orders shown: %+v", s)
		}
		if got := acceptedBy(w, f, before); got != "gettransferinfo" {
			t.Fatalf("learned through %q, want gettransferinfo", got)
		}
	})
	t.Run("same default avatar and nickname, told apart by fans_uin", func(t *testing.T) {
		a, b := fan(t, "微信用户", 0), fan(t, "微信用户", 1)
		w.sim.AddWaiting(a)
		w.sim.AddWaiting(b)
		for _, f := range []mpkftest.Fan{a, b, a} {
			if err := chromedp.Do(ctx, chromedp.WaitVisible(cardSel(f))); err != nil {
				t.Fatal(err)
			}
			click(t, ctx, cardSel(f))
			sidebarOf(t, ctx).Wait("customer", f.OpenID)
		}
	})
	t.Run("known chat, not a customer of the shop", func(t *testing.T) {
		f := fan(t, "赵先生", 0)
		w.sim.AddWaiting(f)
		if err := chromedp.Do(ctx, chromedp.WaitVisible(cardSel(f))); err != nil {
			t.Fatal(err)
		}
		click(t, ctx, cardSel(f))
		sidebarOf(t, ctx).Wait("unknown", "")
	})
	t.Run("page reload keeps working", func(t *testing.T) {
		if err := chromedp.Do(ctx, chromedp.Reload()); err != nil {
			t.Fatal(err)
		}
		sidebarOf(t, ctx).WaitReady()
		f := fan(t, "王建国", 0)
		click(t, ctx, cardSel(f))
		sidebarOf(t, ctx).Wait("customer", f.OpenID)
	})
}

// clickToCustomer clicks a card from inside the page and measures, with the
// page's own clock, the time until the sidebar shows that customer's orders.
const clickToCustomer = `(sel, openid) => new Promise((resolve, reject) => {
	const root = ` + browsertest.SidebarJS + `;
	const card = document.querySelector(sel);
	if (!root || !card) return reject(new Error('no sidebar or card'));
	const done = () => root.dataset.state === 'customer' && root.dataset.openid === openid &&
		root.shadowRoot.querySelector('[data-order-no]');
	const t0 = performance.now();
	const check = () => { if (done()) { obs.disconnect(); resolve(performance.now() - t0); return true; } return false; };
	const obs = new MutationObserver(check);
	obs.observe(root, {attributes: true, subtree: true, childList: true});
	obs.observe(root.shadowRoot, {subtree: true, childList: true, attributes: true});
	card.click();
	check();
	setTimeout(() => { obs.disconnect(); reject(new Error('timeout')); }, 10000);
})`

// TestE2EClickToOrdersTime measures click → orders shown in the browser
// and logs the figures; speed targets live in benchmarks, not assertions.
func TestE2EClickToOrdersTime(t *testing.T) {
	w := theWorld(t)
	ctx := chromium.Tab(t)
	openConsole(t, ctx, w)
	a, b := fan(t, "林小满", 0), fan(t, "陈晓雯", 0)
	var ms []float64
	for i := 0; i < 20; i++ {
		f := a
		if i%2 == 1 {
			f = b
		}
		d, err := chromedp.Run(ctx, chromedp.Evaluate[float64](
			fmt.Sprintf(`(%s)(%q, %q)`, clickToCustomer, string(cardSel(f)), f.OpenID), chromedp.EvalAwaitPromise))
		if err != nil {
			t.Fatalf("click %d: %v\n%s", i, err, w.log)
		}
		ms = append(ms, d)
	}
	sort.Float64s(ms)
	t.Logf("click → orders shown in Chromium over %d clicks: p50 %.1f ms, p95 %.1f ms, max %.1f ms",
		len(ms), ms[len(ms)/2], ms[len(ms)*95/100], ms[len(ms)-1])
}

var screenshotDir = flag.String("screenshots", "", "write README screenshots of the demo to this `dir` (e.g. ../../docs)")

// TestE2EScreenshot renders the sidebar beside the simulated console for
// the README. It runs only with -screenshots.
func TestE2EScreenshot(t *testing.T) {
	if *screenshotDir == "" {
		t.Skip("README screenshots are written only with -screenshots DIR")
	}
	browsertest.RequireCJKFont(t)
	w := theWorld(t)
	ctx := chromium.Tab(t)
	openConsole(t, ctx, w)
	f := fan(t, "林小满", 0)
	click(t, ctx, cardSel(f))
	sidebarOf(t, ctx).Wait("customer", f.OpenID)
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(*screenshotDir, "sidebar-demo.png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}
