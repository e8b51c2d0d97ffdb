package main

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/kfsidebar/kfsidebar/internal/browsertest"
	"github.com/kfsidebar/kfsidebar/internal/sqlitedb/sqlitedbtest"
	"github.com/kfsidebar/kfsidebar/proxy/mpkftest"
	"github.com/kfsidebar/kfsidebar/sidebar/quickreply"
)

// The sidebar as an agent uses it, end to end: the real `kfsidebar run`
// in front of the simulated console, the demo shop in its SQLite
// database, Chromium clicking. The finer points of each view are tested
// against a stand-in page in sidebar/browser_test.go; these prove that
// the pieces work together.

// js evaluates expr in the tab.
func js[T any](t *testing.T, ctx context.Context, expr string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// waitJS polls a JS condition until it holds.
func waitJS(t *testing.T, ctx context.Context, what, cond string) {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.Poll[chromedp.Void](cond, chromedp.WithPollingTimeout(15*time.Second))); err != nil {
		t.Fatalf("waiting for %s: %v\nsidebar: %q\nkfsidebar log:\n%s", what, err, sidebarOf(t, ctx).Text(), logOf(ctx))
	}
}

func typeKeys(t *testing.T, ctx context.Context, keys string, opts ...chromedp.KeyOption) {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.KeyEvent(keys, opts...)); err != nil {
		t.Fatal(err)
	}
}

// ensureOpen gives f an open chat unless it has one: f joins the waiting
// list and the agent accepts by hand. The world is shared: use fans the
// accept tests of e2e_test.go do not move (赵先生 stays unknown to the shop
// either way), and never a transfer, which those tests count.
func ensureOpen(t *testing.T, ctx context.Context, w *e2eWorld, f mpkftest.Fan) {
	t.Helper()
	if js[bool](t, ctx, fmt.Sprintf(`!!document.querySelector(%q)`, string(cardSel(f)))) {
		return
	}
	w.sim.AddWaiting(f)
	accept := fmt.Sprintf(`.waiting_item[data-reactid$="$%d"] .btn_accept`, f.UIN)
	if err := browsertest.Click(ctx, accept); err != nil {
		t.Fatalf("accept %s: %v", f.Nickname, err)
	}
	if err := chromedp.Do(ctx, chromedp.WaitVisible(cardSel(f))); err != nil {
		t.Fatalf("no chat card for %s: %v", f.Nickname, err)
	}
}

// worldDB opens the running kfsidebar's database, as a second process
// would (WAL lets both in).
func worldDB(t *testing.T, w *e2eWorld) *sql.DB {
	t.Helper()
	return sqlitedbtest.Open(t, filepath.Join(w.dataDir, "data", dbFile))
}

// sentTexts are the messages the console sent with kfmsg send.
func sentTexts(w *e2eWorld) []string {
	var out []string
	for _, r := range w.sim.Requests() {
		if r.Action == "send" {
			out = append(out, r.Form.Get("content"))
		}
	}
	return out
}

func TestE2ESidebarCustomerOrdersAndReveal(t *testing.T) {
	w := theWorld(t)
	ctx := chromium.Tab(t)
	openConsole(t, ctx, w)
	f := fan(t, "林小满", 0)
	click(t, ctx, cardSel(f))
	sidebarOf(t, ctx).Wait("customer", f.OpenID)

	text := sidebarOf(t, ctx).Text()
	for _, want := range []string{"林小满", "金卡会员", "回头客", "喜欢礼盒包装", "138****3406", "订单", "累计消费",
		"最近下单", "在店铺后台查看", "E202611171032150023", "已发货", "E202605090811270023"} {
		if !strings.Contains(text, want) {
			t.Errorf("sidebar lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(js[string](t, ctx, browsertest.SidebarJS+`.shadowRoot.innerHTML`), "13857123406") {
		t.Error("the phone number reached the page before it was revealed")
	}

	// The latest order, expanded: logistics, the address masked.
	sidebarOf(t, ctx).Click(`[data-order-no="E202611171032150023"] .order-head`)
	waitJS(t, ctx, "the order detail", browsertest.SidebarJS+`.shadowRoot.querySelector('[data-order-no="E202611171032150023"] .order-detail')?.hidden === false`)
	detail := sidebarOf(t, ctx).ShadowText(`[data-order-no="E202611171032150023"] .order-detail`)
	for _, want := range []string{"顺丰速运", "SF1408812345672", "浙江省杭州市西湖区****", "插入到回复"} {
		if !strings.Contains(detail, want) {
			t.Errorf("order detail lacks %q:\n%s", want, detail)
		}
	}

	// Reveal the phone: shown, and recorded in the database.
	db := worldDB(t, w)
	before := revealCount(t, db, f.OpenID, "phone")
	sidebarOf(t, ctx).Click(`[data-reveal="phone"]`)
	waitJS(t, ctx, "the phone revealed", browsertest.SidebarJS+`.shadowRoot.querySelector('[data-field="phone"]').textContent === '13857123406'`)
	if got := revealCount(t, db, f.OpenID, "phone"); got != before+1 {
		t.Errorf("reveals of the phone recorded: %d, want %d", got, before+1)
	}
}

func revealCount(t *testing.T, db *sql.DB, openid, field string) int {
	t.Helper()
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM kf_reveals WHERE openid = ? AND field = ?`, openid, field).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestE2EQuickReplySentByTheConsole inserts a quick reply with variables
// from the keyboard and sends it with the console's own Enter: the
// console sends exactly the filled text.
func TestE2EQuickReplySentByTheConsole(t *testing.T) {
	w := theWorld(t)
	ctx := chromium.Tab(t)
	openConsole(t, ctx, w)
	f := fan(t, "林小满", 0)
	click(t, ctx, cardSel(f))
	sidebarOf(t, ctx).Wait("customer", f.OpenID)

	// Alt+K from the console page.
	typeKeys(t, ctx, "k", chromedp.KeyModifiers(chromedp.ModifierAlt))
	waitJS(t, ctx, "the search focused", browsertest.SidebarJS+`.shadowRoot.activeElement?.classList.contains('qr-search')`)
	// The console's own quick replies, scanned from its settings, are a
	// group of their own.
	waitJS(t, ctx, "the console's group", browsertest.SidebarJS+`.shadowRoot.querySelector('.qr-list').innerText.includes(`+jsQuote(quickreply.ConsoleGroupName)+`)`)
	if list := sidebarOf(t, ctx).ShadowText(".qr-list"); !strings.Contains(list, "您好，请问有什么可以帮您？") || !strings.Contains(list, "工作时间：周一至周日 9:00-22:00") {
		t.Errorf("the console's replies are not listed:\n%s", list)
	}

	sentBefore := len(sentTexts(w))
	typeKeys(t, ctx, "wlcx") // 物流查询, by its pinyin initials
	waitJS(t, ctx, "one match", browsertest.SidebarJS+`.shadowRoot.querySelectorAll('[data-quick-reply]').length === 1`)
	typeKeys(t, ctx, kb.Enter)
	want := "林小满您好，您的订单E202611171032150023已由顺丰速运发出，运单号SF1408812345672，可以在微信里查看物流进度哦～"
	waitJS(t, ctx, "the reply in the console's reply box", `document.getElementById('editor').innerText === `+jsQuote(want))
	if sent := sentTexts(w); len(sent) != sentBefore {
		t.Fatalf("sent %q before the agent pressed Enter", sent[sentBefore:])
	}
	// The focus is in the console's reply box, the caret after the text:
	// the console's Enter sends it.
	typeKeys(t, ctx, kb.Enter)
	deadline := time.Now().Add(15 * time.Second)
	for {
		sent := sentTexts(w)[sentBefore:]
		if len(sent) == 1 && sent[0] == want {
			break
		}
		if len(sent) > 1 || time.Now().After(deadline) {
			t.Fatalf("the console sent %q, want exactly %q", sent, want)
		}
		chromedp.Do(ctx, chromedp.Sleep(50*time.Millisecond))
	}
}

func jsQuote(s string) string { return fmt.Sprintf("%q", s) }

func TestE2EIdentityFallbackBindsAChat(t *testing.T) {
	w := theWorld(t)
	ctx := chromium.Tab(t)
	openConsole(t, ctx, w)
	stranger := fan(t, "赵先生", 0) // not a customer of the demo shop
	ensureOpen(t, ctx, w, stranger)
	db := worldDB(t, w)
	t.Cleanup(func() {
		db.Exec(`DELETE FROM kf_bindings WHERE chat_key IN (?, ?)`, stranger.OpenID, fmt.Sprintf("uin:%d", stranger.UIN))
	})

	click(t, ctx, cardSel(stranger))
	sidebarOf(t, ctx).Wait("unknown", "")
	sidebarOf(t, ctx).Click(".find-input")
	typeKeys(t, ctx, "8895") // the agent asks for the last four digits
	waitJS(t, ctx, "a search result", browsertest.SidebarJS+`.shadowRoot.querySelector('.find-results .bind') !== null`)
	if got := sidebarOf(t, ctx).ShadowText(".find-results"); !strings.Contains(got, "王建国") || !strings.Contains(got, "136****8895") {
		t.Fatalf("results %q, want 王建国 with a masked phone", got)
	}
	sidebarOf(t, ctx).Click(".find-results .bind")
	waitJS(t, ctx, "the bound customer", browsertest.SidebarJS+`.dataset.state === 'customer' && !!`+browsertest.SidebarJS+`.shadowRoot.querySelector('.bound-notice')`)
	if text := sidebarOf(t, ctx).Text(); !strings.Contains(text, "王建国") || !strings.Contains(text, "E202610300857410057") {
		t.Errorf("bound customer not shown:\n%s", text)
	}

	// Later lookups of this chat use the binding.
	other := fan(t, "林小满", 0)
	click(t, ctx, cardSel(other))
	sidebarOf(t, ctx).Wait("customer", other.OpenID)
	click(t, ctx, cardSel(stranger))
	waitJS(t, ctx, "the binding used", browsertest.SidebarJS+`.dataset.state === 'customer' && `+browsertest.SidebarJS+`.shadowRoot.querySelector('.panel').innerText.includes('王建国')`)

	// Undo.
	sidebarOf(t, ctx).Click(".bound-notice .unbind")
	sidebarOf(t, ctx).Wait("unknown", "")
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM kf_bindings WHERE chat_key = ?`, stranger.OpenID).Scan(&n); err != nil || n != 0 {
		t.Errorf("bindings of the chat after undo: %d (%v)", n, err)
	}
}

// TestE2ETwoTabs: each tab follows its own chat.
func TestE2ETwoTabs(t *testing.T) {
	w := theWorld(t)
	a, b := chromium.Tab(t), chromium.Tab(t)
	// 小桃子: a fan the other end-to-end tests leave alone.
	lin, chen, peach := fan(t, "林小满", 0), fan(t, "陈晓雯", 0), fan(t, "🌸小桃子", 0)
	// Open before the second tab loads: a transfer reaches one tab only.
	openConsole(t, a, w)
	ensureOpen(t, a, w, peach)
	openConsole(t, b, w)
	click(t, a, cardSel(lin))
	click(t, b, cardSel(chen))
	sidebarOf(t, a).Wait("customer", lin.OpenID)
	sidebarOf(t, b).Wait("customer", chen.OpenID)
	if err := chromedp.Do(b, chromedp.WaitVisible(cardSel(peach))); err != nil {
		t.Fatal(err)
	}
	click(t, b, cardSel(peach))
	sidebarOf(t, b).Wait("customer", peach.OpenID)
	if s := sidebarOf(t, a).Wait("customer", ""); s.OpenID != lin.OpenID {
		t.Errorf("tab A shows %s after tab B moved on, want %s", s.OpenID, lin.OpenID)
	}
}

// TestE2EFollowsTheConsole: the console's keyboard navigation moves the
// sidebar, and the sidebar comes back when the page throws it out.
func TestE2EFollowsTheConsole(t *testing.T) {
	w := theWorld(t)
	ctx := chromium.Tab(t)
	openConsole(t, ctx, w)
	lin, chen := fan(t, "林小满", 0), fan(t, "陈晓雯", 0)
	click(t, ctx, cardSel(lin))
	sidebarOf(t, ctx).Wait("customer", lin.OpenID)

	// The console selects the next chat with ↓ (focus on the page, not
	// in the reply box).
	if err := chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](`document.activeElement.blur()`)); err != nil {
		t.Fatal(err)
	}
	typeKeys(t, ctx, kb.ArrowDown)
	moved := js[bool](t, ctx, `!document.querySelector('.card_selected')?.dataset.reactid?.endsWith('$`+fmt.Sprint(lin.UIN)+`')`)
	if !moved {
		t.Fatal("the console did not move its selection")
	}
	waitJS(t, ctx, "the sidebar to follow", `(() => {
		const r = `+browsertest.SidebarJS+`;
		const nick = document.querySelector('.card_selected .card_content_nick').textContent;
		return r.shadowRoot.querySelector('.head-name').textContent === nick &&
			['customer', 'unknown', 'ambiguous'].includes(r.dataset.state);
	})()`)

	// The page removes the element: it comes back, and works.
	if err := chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](browsertest.SidebarJS+`.remove()`)); err != nil {
		t.Fatal(err)
	}
	waitJS(t, ctx, "the element back", `document.querySelectorAll('kf-sidebar').length === 1 && !!`+browsertest.SidebarJS+`?.isConnected`)
	click(t, ctx, cardSel(chen))
	sidebarOf(t, ctx).Wait("customer", chen.OpenID)
}

// TestE2ESidebarScreenshots renders the main states beside the simulated
// console for the README. It runs only with -screenshots DIR.
func TestE2ESidebarScreenshots(t *testing.T) {
	if *screenshotDir == "" {
		t.Skip("README screenshots are written only with -screenshots DIR")
	}
	browsertest.RequireCJKFont(t)
	// A world of its own: the shots move chats around.
	w, ctx := backendWorld(t, "")
	openConsole(t, ctx, w)
	shot := func(ctx context.Context, name string) {
		t.Helper()
		// Let transitions (the chevron, the focus ring) settle.
		chromedp.Do(ctx, chromedp.Sleep(300*time.Millisecond))
		png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(*screenshotDir, "sidebar-"+name+".png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	// A customer with orders.
	f := fan(t, "孙浩然", 0)
	ensureOpen(t, ctx, w, f)
	click(t, ctx, cardSel(f))
	sidebarOf(t, ctx).Wait("customer", f.OpenID)
	shot(ctx, "customer")

	// An order opened: logistics and a refund on its way.
	chen := fan(t, "陈晓雯", 0)
	click(t, ctx, cardSel(chen))
	sidebarOf(t, ctx).Wait("customer", chen.OpenID)
	sidebarOf(t, ctx).Click(`[data-order-no="E202611141420330041"] .order-head`)
	waitJS(t, ctx, "the order open", browsertest.SidebarJS+`.shadowRoot.querySelector('.order.open .steps') !== null`)
	shot(ctx, "order")

	// Quick replies, with the variables filled from that order.
	typeKeys(t, ctx, "k", chromedp.KeyModifiers(chromedp.ModifierAlt))
	typeKeys(t, ctx, "退")
	waitJS(t, ctx, "the search", browsertest.SidebarJS+`.shadowRoot.querySelectorAll('[data-quick-reply]').length >= 1`)
	shot(ctx, "quick-replies")

	// Someone the shop does not know: the search to bind them.
	stranger := fan(t, "赵先生", 0)
	ensureOpen(t, ctx, w, stranger)
	click(t, ctx, cardSel(stranger))
	sidebarOf(t, ctx).Wait("unknown", "")
	sidebarOf(t, ctx).Click(".find-input")
	typeKeys(t, ctx, "王")
	waitJS(t, ctx, "results", browsertest.SidebarJS+`.shadowRoot.querySelector('.find-results .bind') !== null`)
	shot(ctx, "unknown")

	// The shop's API is down.
	dead := deadShopConfig(t)
	dw, dctx := backendWorld(t, dead)
	openConsole(t, dctx, dw)
	lin := fan(t, "林小满", 0)
	click(t, dctx, cardSel(lin))
	sidebarOf(t, dctx).Wait("error", "")
	shot(dctx, "error")
}

// deadShopConfig is a kfsidebar.toml whose shop API refuses every
// connection.
func deadShopConfig(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "kfsidebar.toml")
	text := `[orders]
backend = "http"

[orders.http]
lookup_url = "http://127.0.0.1:9/kfsidebar/customers/by-openid/{openid}"
customer_url = "http://127.0.0.1:9/kfsidebar/customers/{id}"
search_url = "http://127.0.0.1:9/kfsidebar/search?q={query}&limit={limit}"
secret = "e2e-dead-shop-secret-0123456789"
`
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestE2EShopTrouble: the shop's API fails. The last good answer stays,
// marked stale; after repeated failures kfsidebar pauses the shop and
// says when it tries again, and at that moment the sidebar asks again by
// itself and shows fresh data.
func TestE2EShopTrouble(t *testing.T) {
	var failing atomic.Bool
	config := exampleShopConfig(t, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if failing.Load() {
				http.Error(w, "shop down", http.StatusBadGateway)
				return
			}
			h.ServeHTTP(w, r)
		})
	})
	text, err := os.ReadFile(config)
	if err != nil {
		t.Fatal(err)
	}
	// Every click asks the shop; two failures pause it for three seconds.
	tuned := strings.Replace(string(text), "[orders]\n", "[orders]\ncache_ttl = \"1ms\"\nfailure_threshold = 2\nopen_for = \"3s\"\n", 1)
	if err := os.WriteFile(config, []byte(tuned), 0o600); err != nil {
		t.Fatal(err)
	}
	w, ctx := backendWorld(t, config)
	openConsole(t, ctx, w)
	lin, chen := fan(t, "林小满", 0), fan(t, "陈晓雯", 0)
	click(t, ctx, cardSel(lin))
	sidebarOf(t, ctx).Wait("customer", lin.OpenID)

	failing.Store(true)
	click(t, ctx, cardSel(chen)) // never answered before: an error
	sidebarOf(t, ctx).Wait("error", "")
	click(t, ctx, cardSel(lin)) // the second failure: the last good answer, stale, and the pause
	sidebarOf(t, ctx).Wait("customer", lin.OpenID)
	waitJS(t, ctx, "the pause announced", browsertest.SidebarJS+`.shadowRoot.querySelector('.stale-notice')?.innerText.includes('秒后重试')`)
	if got := sidebarOf(t, ctx).ShadowText(".stale-notice"); !strings.Contains(got, "店铺系统暂时不可用") {
		t.Errorf("stale notice %q", got)
	}

	failing.Store(false)
	waitJS(t, ctx, "fresh data after the pause", browsertest.SidebarJS+`.dataset.state === 'customer' && !`+browsertest.SidebarJS+`.shadowRoot.querySelector('.stale-notice')`)
}

// TestE2ELayout: the agent widens the sidebar and lets it float over the
// console; the console is narrowed to match, and the choices are kept.
func TestE2ELayout(t *testing.T) {
	w := theWorld(t)
	ctx := chromium.Tab(t)
	openConsole(t, ctx, w)
	t.Cleanup(func() {
		// The browser is shared: later tests start from the defaults.
		chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](`['kfsidebar.width', 'kfsidebar.layout'].forEach(k => localStorage.removeItem(k))`))
	})
	uncovered := func() bool {
		return js[bool](t, ctx, `[...document.querySelectorAll('.btn_send, .auto_accept, .state_description')].every(el => {
			const r = el.getBoundingClientRect();
			return el.contains(document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2));
		})`)
	}
	x := js[float64](t, ctx, browsertest.SidebarJS+`.shadowRoot.querySelector('.panel').getBoundingClientRect().left`)
	err := chromedp.Do(ctx,
		chromedp.MouseEvent(chromedp.MouseMoved, x, 400),
		chromedp.MouseEvent(chromedp.MousePressed, x, 400, chromedp.ButtonLeft, chromedp.ClickCount(1)),
		chromedp.MouseEvent(chromedp.MouseMoved, x-60, 400, chromedp.ButtonLeft),
		chromedp.MouseEvent(chromedp.MouseMoved, x-120, 400, chromedp.ButtonLeft),
		chromedp.MouseEvent(chromedp.MouseReleased, x-120, 400, chromedp.ButtonLeft, chromedp.ClickCount(1)))
	if err != nil {
		t.Fatal(err)
	}
	waitJS(t, ctx, "the page narrowed to the new width", `document.body.style.marginRight === '460px' && localStorage.getItem('kfsidebar.width') === '460'`)
	if !uncovered() {
		t.Error("a console control is under the widened sidebar")
	}

	sidebarOf(t, ctx).Click(".layout")
	waitJS(t, ctx, "the sidebar floating", `document.body.style.marginRight === '' && localStorage.getItem('kfsidebar.layout') === 'overlay'`)
	if err := chromedp.Do(ctx, chromedp.Reload()); err != nil {
		t.Fatal(err)
	}
	sidebarOf(t, ctx).WaitReady()
	if got := js[float64](t, ctx, browsertest.SidebarJS+`.shadowRoot.querySelector('.panel').getBoundingClientRect().width`); got != 460 {
		t.Errorf("panel width after reload = %v, want 460", got)
	}
	if !js[bool](t, ctx, browsertest.SidebarJS+`.hasAttribute('data-overlay') && document.body.style.marginRight === ''`) {
		t.Error("floating forgotten after reload")
	}
	sidebarOf(t, ctx).Click(".layout")
	waitJS(t, ctx, "the page narrowed again", `document.body.style.marginRight === '460px'`)
	if !uncovered() {
		t.Error("a console control is under the sidebar")
	}
}
