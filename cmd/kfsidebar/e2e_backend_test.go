package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/kfsidebar/kfsidebar/examples/shopapi/shop"
	"github.com/kfsidebar/kfsidebar/internal/browsertest"
	"github.com/kfsidebar/kfsidebar/proxy/mpkftest"
)

// The order backends end to end: `kfsidebar run --config FILE` for each
// backend against the simulated console, with an empty embedded database,
// so every order the sidebar shows came from that backend.

// worldKey marks a tab's context with the world it browses, so that a
// failing wait prints that world's kfsidebar log.
type worldKey struct{}

func withWorld(ctx context.Context, w *e2eWorld) context.Context {
	return context.WithValue(ctx, worldKey{}, w)
}

// logOf is the kfsidebar log of the world ctx browses: a backend world's,
// else the shared SQLite world's.
func logOf(ctx context.Context) fmt.Stringer {
	if w, ok := ctx.Value(worldKey{}).(*e2eWorld); ok {
		return w.log
	}
	if world != nil {
		return world.log
	}
	return &syncBuffer{}
}

// backendWorld runs kfsidebar with the config file and a browser of its
// own pointed at it (the shared browser goes through the SQLite world).
func backendWorld(t *testing.T, config string) (*e2eWorld, context.Context) {
	t.Helper()
	browsertest.Require(t)
	w, err := startWorldWith(config, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.stop)
	b, err := browsertest.Start(browsertest.Options{ProxyServer: w.addr, SPKIList: w.pins, TimeZone: "Asia/Shanghai"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	return w, withWorld(b.Tab(t), w)
}

// exampleShopConfig serves the example shop API (examples/shopapi) with
// its signature check on a loopback port and writes the kfsidebar.toml
// that points at it.
func exampleShopConfig(t *testing.T, wrap func(http.Handler) http.Handler) string {
	t.Helper()
	const secret = "e2e-shop-secret-0123456789abcdef"
	t.Setenv("KFSIDEBAR_E2E_SHOP_SECRET", secret)
	data, err := shop.Load(mpkftest.DemoOrdersJSON)
	if err != nil {
		t.Fatal(err)
	}
	h := (&shop.Verifier{Secret: []byte(secret)}).Require(data.Handler())
	if wrap != nil {
		h = wrap(h)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	path := filepath.Join(t.TempDir(), "kfsidebar.toml")
	text := fmt.Sprintf(`[orders]
backend = "http"

[orders.http]
lookup_url = "%[1]s/kfsidebar/customers/by-openid/{openid}"
customer_url = "%[1]s/kfsidebar/customers/{id}"
search_url = "%[1]s/kfsidebar/search?q={query}&limit={limit}"
secret_env = "KFSIDEBAR_E2E_SHOP_SECRET"
timeout = "20s"
`, srv.URL)
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// sampleDBConfig is the sample shop's kfsidebar.toml for a database
// .ci/run started; without it the test skips (or fails on CI).
func sampleDBConfig(t *testing.T, file, env string) string {
	t.Helper()
	if os.Getenv(env) == "" {
		why := env + " is not set: start the test databases with: eval \"$(.ci/run databases)\""
		if os.Getenv("CI") != "" {
			t.Fatal(why + "; CI is set, so the backend tests must run")
		}
		t.Skip(why)
	}
	return filepath.Join("..", "..", "sidebar", "shop", "shopsql", "testdata", file)
}

// orderNumbers reads the order numbers the sidebar shows.
func orderNumbers(t *testing.T, ctx context.Context) []string {
	t.Helper()
	nos, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...`+browsertest.SidebarJS+`.shadowRoot
		.querySelectorAll('[data-order-no]')].map(e => e.dataset.orderNo)`))
	if err != nil {
		t.Fatal(err)
	}
	return nos
}

// demoOrderNumbers are a demo customer's order numbers, newest first, as
// the shop has them (proxy/mpkftest's orders.json).
func demoOrderNumbers(t *testing.T, openid string) []string {
	t.Helper()
	type order struct {
		OrderNo   string    `json:"order_no"`
		OpenID    string    `json:"openid"`
		CreatedAt time.Time `json:"created_at"`
	}
	var f struct {
		Orders []order `json:"orders"`
	}
	if err := json.Unmarshal(mpkftest.DemoOrdersJSON, &f); err != nil {
		t.Fatal(err)
	}
	orders := slices.DeleteFunc(f.Orders, func(o order) bool { return o.OpenID != openid })
	slices.SortStableFunc(orders, func(a, b order) int { return b.CreatedAt.Compare(a.CreatedAt) })
	var nos []string
	for _, o := range orders {
		nos = append(nos, o.OrderNo)
	}
	return nos
}

func TestE2EOrderBackends(t *testing.T) {
	backends := []struct {
		name   string
		config func(t *testing.T) string
	}{
		{"http", func(t *testing.T) string { return exampleShopConfig(t, nil) }},
		{"postgres", func(t *testing.T) string {
			return sampleDBConfig(t, "postgres.toml", "KFSIDEBAR_TEST_POSTGRES_DSN")
		}},
		{"mariadb", func(t *testing.T) string {
			return sampleDBConfig(t, "mysql.toml", "KFSIDEBAR_TEST_MYSQL_DSN")
		}},
	}
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			browsertest.Require(t)
			w, ctx := backendWorld(t, be.config(t))
			openConsole(t, ctx, w)
			for _, name := range []string{"林小满", "陈晓雯"} {
				f := fan(t, name, 0)
				click(t, ctx, cardSel(f))
				sidebarOf(t, ctx).Wait("customer", f.OpenID)
				if got, want := orderNumbers(t, ctx), demoOrderNumbers(t, f.OpenID); !slices.Equal(got, want) {
					t.Errorf("%s: the sidebar shows orders %v, the %s backend has %v", name, got, be.name, want)
				}
			}
			f := fan(t, "赵先生", 0) // a chat the shop does not know
			w.sim.AddWaiting(f)
			click(t, ctx, chromedp.CSS(fmt.Sprintf(`.waiting_item[data-reactid$="$%d"] .btn_accept`, f.UIN)))
			click(t, ctx, cardSel(f))
			sidebarOf(t, ctx).Wait("unknown", "")
		})
	}
}

// TestE2EHangingShopNeverDelaysTheConsole: while the shop's API holds
// every request without answering, the console's own pages and API calls
// go through the proxy as usual.
func TestE2EHangingShopNeverDelaysTheConsole(t *testing.T) {
	browsertest.Require(t)
	release := make(chan struct{})
	var once sync.Once
	unblock := func() { once.Do(func() { close(release) }) }
	t.Cleanup(unblock)
	var waiting atomic.Int32
	config := exampleShopConfig(t, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			waiting.Add(1)
			defer waiting.Add(-1)
			select {
			case <-release:
			case <-r.Context().Done():
				return
			}
			next.ServeHTTP(w, r)
		})
	})
	w, ctx := backendWorld(t, config)
	openConsole(t, ctx, w)
	f := fan(t, "陈晓雯", 0)
	click(t, ctx, cardSel(f))
	deadline := time.Now().Add(15 * time.Second)
	for waiting.Load() == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("kfsidebar never asked the shop\n%s", w.log)
		}
		chromedp.Do(ctx, chromedp.Sleep(20*time.Millisecond))
	}

	// The console page (with the injected script) and its JSON API, from
	// inside the page, through the proxy, while the shop holds a lookup.
	ms, err := chromedp.Run(ctx, chromedp.Evaluate[[]float64](`(async () => {
		const times = [];
		for (const url of [location.href, '/cgi-bin/kfsettings?action=getsettings&f=json', location.href]) {
			const t0 = performance.now();
			const r = await fetch(url, {cache: 'no-store'});
			await r.text();
			if (!r.ok) throw new Error(url + ': ' + r.status);
			times.push(performance.now() - t0);
		}
		return times;
	})()`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("console requests: %v\n%s", err, w.log)
	}
	if waiting.Load() == 0 {
		t.Fatal("the shop was not holding a lookup while the console was used")
	}
	t.Logf("console requests through the proxy while the shop hangs: %.1f ms, %.1f ms, %.1f ms", ms[0], ms[1], ms[2])

	// The console's own UI keeps working too: accept a waiting user.
	g := fan(t, "王建国", 0)
	click(t, ctx, chromedp.CSS(fmt.Sprintf(`.waiting_item[data-reactid$="$%d"] .btn_accept`, g.UIN)))
	if err := chromedp.Do(ctx, chromedp.WaitVisible(cardSel(g))); err != nil {
		t.Fatal(err)
	}
	if waiting.Load() == 0 {
		t.Fatal("the shop was not holding a lookup while the console was used")
	}

	// Once the shop answers, the sidebar catches up by itself.
	unblock()
	click(t, ctx, cardSel(f))
	sidebarOf(t, ctx).Wait("customer", f.OpenID)
}
