package sidebar

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/kfsidebar/kfsidebar/internal/browsertest"
	"github.com/kfsidebar/kfsidebar/proxy"
)

// The sidebar runs in a real Chromium against a small stand-in for the
// console page (testdata/page), with the Hub mounted on the page's own
// origin as the proxy mounts it on the console's.

var browser browsertest.Shared

var screenshots = flag.String("sidebar.screenshots", "", "write screenshots of the sidebar states to this directory")

func TestMain(m *testing.M) {
	code := m.Run()
	browser.Close()
	os.Exit(code)
}

const (
	avatarLate  = "https://wx.qlogo.cn/mmhead/late/132"
	avatarPlain = "https://thirdwx.qlogo.cn/mmopen/vi_32/plain/132"
	avatarFlaky = "https://wx.qlogo.cn/mmhead/flaky/132"
)

// richAlice is a customer with everything the sidebar can show.
var richAlice = &Customer{
	OpenID: "oAlice", Name: "王爱丽", Phone: "13812345678", Level: "金卡会员",
	Tags:     []string{"老客户", "爱买杯子", "已加企微"},
	Note:     "喜欢保温杯，发货前请电话确认地址。",
	AdminURL: "https://shop.example/admin/customers/42",
	Orders: []Order{
		{OrderNo: "2026112200001", OpenID: "oAlice", CreatedAt: time.Date(2026, 11, 20, 10, 4, 0, 0, time.Local),
			Status: "shipped", AmountFen: 12900, Carrier: "顺丰速运", TrackingNo: "SF1234567890",
			Items:    []Item{{Title: "保温杯", Qty: 1, PriceFen: 12900}, {Title: "杯套", Qty: 1}},
			Refund:   Refund{Status: "none"},
			AdminURL: "https://shop.example/admin/orders/2026112200001"},
		{OrderNo: "2026111800017", OpenID: "oAlice", CreatedAt: time.Date(2026, 11, 18, 21, 30, 0, 0, time.Local),
			Status: "completed", AmountFen: 5990, Carrier: "中通快递", TrackingNo: "ZT7788990011",
			Items:  []Item{{Title: "不锈钢吸管（4支装）", Qty: 2, PriceFen: 2995}},
			Refund: Refund{Status: "requested", AmountFen: 2995, Reason: "少发了一包"}},
		{OrderNo: "2026110300005", OpenID: "oAlice", CreatedAt: time.Date(2026, 11, 3, 9, 12, 0, 0, time.Local),
			Status: "pending", AmountFen: 199900,
			Items:  []Item{{Title: "家用意式咖啡机", Qty: 1, PriceFen: 199900}},
			Refund: Refund{Status: "none"}},
	},
}

// fakeConsole serves the stand-in page and, under the reserved prefix,
// whatever handler the test installs (normally a Hub).
type fakeConsole struct {
	t       *testing.T
	url     string
	origin  string
	table   *avatarTable
	res     *fakeResolver
	backend Backend
	prefix  atomic.Pointer[http.Handler]
}

func newFakeConsole(t *testing.T) *fakeConsole {
	t.Helper()
	page, err := os.ReadFile(filepath.Join("testdata", "page", "index.html"))
	if err != nil {
		t.Fatal(err)
	}
	frame, err := os.ReadFile(filepath.Join("testdata", "page", "frame.html"))
	if err != nil {
		t.Fatal(err)
	}
	fill := func(b []byte) []byte { return bytes.ReplaceAll(b, []byte("{{TOKEN}}"), []byte(testToken)) }
	page, frame = fill(page), fill(frame)

	table := newAvatarTable(map[string]proxy.Resolution{
		avatarAlice: known(alice),
		avatarTwins: {Candidates: []proxy.Record{twinA, twinB}},
		avatarGhost: known(ghost),
		avatarPlain: known(record("oPlain", "无钩子", avatarPlain)),
		avatarFlaky: known(record("oFlaky", "网不好", avatarFlaky)),
	})
	shop := customers(map[string]*Customer{
		"oAlice": richAlice,
		"oTwinB": {OpenID: "oTwinB", Name: "李小明", Level: "普通会员"},
		"oPlain": {OpenID: "oPlain", Name: "钩子测试"},
		"oLate":  {OpenID: "oLate", Name: "赵迟到"},
		"oFlaky": {OpenID: "oFlaky", Name: "钱网络"},
	})
	var flaky atomic.Int32
	fc := &fakeConsole{
		t:     t,
		table: table,
		res:   &fakeResolver{resolve: table.resolve},
		// oFlaky's first lookup fails.
		backend: fakeBackend{lookup: func(ctx context.Context, openid string) (*Customer, error) {
			if openid == "oFlaky" && flaky.Add(1) == 1 {
				return nil, errors.New("shop api: 502")
			}
			return shop.Lookup(ctx, openid)
		}},
	}
	srv := httptest.NewUnstartedServer(nil)
	fc.origin = "http://" + srv.Listener.Addr().String()
	fc.url = fc.origin + "/"
	fc.use(fc.newHub())
	mux := http.NewServeMux()
	html := func(b []byte) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.Write(b)
		}
	}
	mux.Handle("GET /{$}", html(page))
	mux.Handle("GET /frame.html", html(frame))
	mux.HandleFunc(proxy.ReservedPrefix, func(w http.ResponseWriter, r *http.Request) {
		(*fc.prefix.Load()).ServeHTTP(w, r)
	})
	srv.Config.Handler = mux
	srv.Start()
	t.Cleanup(srv.Close)
	return fc
}

// newHub makes a hub for the page's origin; it is closed when the test
// ends.
func (fc *fakeConsole) newHub() *Hub {
	h, err := NewHub(HubOptions{Resolver: fc.res, Backend: fc.backend, Token: testToken,
		AllowedOrigins: []string{fc.origin}, Logger: testLogger(fc.t)})
	if err != nil {
		fc.t.Fatal(err)
	}
	fc.t.Cleanup(h.Close)
	return h
}

// use routes the reserved prefix to h.
func (fc *fakeConsole) use(h http.Handler) { fc.prefix.Store(&h) }

// open loads the page in a new tab and waits for the sidebar to connect.
func (fc *fakeConsole) open(t *testing.T) *tab {
	t.Helper()
	tb := &tab{t: t, ctx: browser.Tab(t)}
	if err := chromedp.Do(tb.ctx, chromedp.Navigate(fc.url)); err != nil {
		t.Fatal(err)
	}
	tb.waitState("idle")
	return tb
}

// tab is one page of the console with the sidebar in it.
type tab struct {
	t   *testing.T
	ctx context.Context
}

const hostJS = `document.getElementById('kfsidebar-root')`

// eval evaluates a JS expression in the page.
func eval[T any](tb *tab, expr string) T {
	tb.t.Helper()
	v, err := chromedp.Run(tb.ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		tb.t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// await evaluates an expression whose value is a promise.
func (tb *tab) await(expr string) {
	tb.t.Helper()
	if err := chromedp.Do(tb.ctx, chromedp.Evaluate[chromedp.Void](expr, chromedp.EvalAwaitPromise)); err != nil {
		tb.t.Fatalf("evaluate %s: %v", expr, err)
	}
}

// wait polls a JS condition until it holds.
func (tb *tab) wait(what, cond string) {
	tb.t.Helper()
	if err := chromedp.Do(tb.ctx, chromedp.Poll[chromedp.Void](cond, chromedp.WithPollingTimeout(15*time.Second))); err != nil {
		tb.t.Fatalf("waiting for %s: %v\nstate %q, sidebar text: %q", what, err,
			eval[string](tb, hostJS+`?.dataset.state ?? "none"`), tb.text())
	}
}

func (tb *tab) waitState(state string) {
	tb.t.Helper()
	tb.wait("data-state "+state, fmt.Sprintf(`%s?.dataset.state === %q`, hostJS, state))
}

// text is what the agent reads in the sidebar.
func (tb *tab) text() string {
	tb.t.Helper()
	return eval[string](tb, hostJS+`?.shadowRoot?.querySelector('.panel')?.innerText ?? ""`)
}

func (tb *tab) clickCard(uin string) {
	tb.t.Helper()
	if err := chromedp.Do(tb.ctx, chromedp.Click(chromedp.CSS(`.card[data-reactid$="$`+uin+`"] .card_content_nick`))); err != nil {
		tb.t.Fatal(err)
	}
}

// clickShadow clicks, with the mouse, the first element inside the
// sidebar's shadow root that matches sel.
func (tb *tab) clickShadow(sel string) {
	tb.t.Helper()
	tb.wait(sel, fmt.Sprintf(`%s.shadowRoot.querySelector(%q)?.getBoundingClientRect().width > 0`, hostJS, sel))
	pt := eval[[]float64](tb, fmt.Sprintf(`(() => { const r = %s.shadowRoot.querySelector(%q).getBoundingClientRect();
		return [r.left + r.width / 2, r.top + r.height / 2]; })()`, hostJS, sel))
	if err := chromedp.Do(tb.ctx, chromedp.MouseClickXY(pt[0], pt[1])); err != nil {
		tb.t.Fatal(err)
	}
}

func (tb *tab) screenshot(name string) {
	tb.t.Helper()
	if *screenshots == "" {
		return
	}
	png, err := chromedp.Run(tb.ctx, chromedp.CaptureScreenshot())
	if err != nil {
		tb.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(*screenshots, "sidebar-"+name+".png"), png, 0o644); err != nil {
		tb.t.Fatal(err)
	}
}

func TestBrowserStartsOnce(t *testing.T) {
	fc := newFakeConsole(t)
	tb := fc.open(t)
	checks := map[string]string{
		"one element":          `document.querySelectorAll('kf-sidebar').length === 1`,
		"open shadow root":     hostJS + `.shadowRoot !== null && ` + hostJS + `.shadowRoot.mode === 'open'`,
		"custom element":       hostJS + ` instanceof customElements.get('kf-sidebar')`,
		"no openid":            `!` + hostJS + `.hasAttribute('data-openid')`,
		"nothing in the frame": `document.getElementById('frame').contentWindow.customElements.get('kf-sidebar') === undefined`,
	}
	tb.wait("the frame to load", `document.getElementById('frame').contentDocument?.readyState === 'complete'`)
	for name, js := range checks {
		if !eval[bool](tb, js) {
			t.Errorf("%s: %s is false", name, js)
		}
	}
	if n := fc.res.queryCount(); n != 0 {
		t.Errorf("%d selects before any chat was selected", n)
	}
	tb.screenshot("idle")
}

func TestBrowserShowsCustomer(t *testing.T) {
	fc := newFakeConsole(t)
	tb := fc.open(t)
	tb.clickCard("1001")
	tb.waitState("customer")
	if got := eval[string](tb, hostJS+`.dataset.openid`); got != "oAlice" {
		t.Errorf("data-openid = %q, want oAlice", got)
	}
	if q := fc.res.lastQuery(); q != (proxy.Query{UIN: "1001", Avatar: avatarAlice, Nickname: "爱丽丝"}) {
		t.Errorf("select sent %+v", q)
	}
	orders := eval[[]string](tb, `[...`+hostJS+`.shadowRoot.querySelectorAll('[data-order-no]')].map(e => e.dataset.orderNo)`)
	if want := []string{"2026112200001", "2026111800017", "2026110300005"}; fmt.Sprint(orders) != fmt.Sprint(want) {
		t.Errorf("orders = %v, want %v", orders, want)
	}
	text := tb.text()
	for _, want := range []string{"王爱丽", "金卡会员", "老客户", "138****5678", "喜欢保温杯",
		"保温杯 ×1 等2件", "¥129.00", "已发货", "顺丰速运 SF1234567890",
		"不锈钢吸管（4支装） ×2", "申请退款", "¥29.95", "少发了一包", "¥1,999.00", "待付款"} {
		if !bytes.Contains([]byte(text), []byte(want)) {
			t.Errorf("sidebar text lacks %q:\n%s", want, text)
		}
	}
	full := eval[string](tb, hostJS+`.shadowRoot.innerHTML + `+hostJS+`.outerHTML`)
	if bytes.Contains([]byte(full), []byte("13812345678")) {
		t.Error("the full phone number is in the DOM")
	}
	links := eval[[]string](tb, `[...`+hostJS+`.shadowRoot.querySelectorAll('a')].map(a => a.href + ' ' + a.target + ' ' + a.rel)`)
	if len(links) != 2 || links[0] != "https://shop.example/admin/customers/42 _blank noopener noreferrer" {
		t.Errorf("links = %q", links)
	}
	tb.screenshot("customer")
}

func TestBrowserUnknown(t *testing.T) {
	fc := newFakeConsole(t)
	tb := fc.open(t)
	tests := []struct{ uin, want string }{
		{"1002", "还没认出这位客户"},
		{"1005", "店铺里没有这位客户"},
	}
	for _, tt := range tests {
		tb.clickCard(tt.uin)
		tb.wait(tt.want, fmt.Sprintf(`%s.dataset.state === 'unknown' && %s.shadowRoot.querySelector('.body').innerText.includes(%q)`,
			hostJS, hostJS, tt.want))
		if eval[bool](tb, hostJS+`.hasAttribute('data-openid')`) {
			t.Errorf("%s: data-openid set in state unknown", tt.uin)
		}
		tb.screenshot("unknown-" + tt.uin)
	}
}

func TestBrowserErrorRetry(t *testing.T) {
	fc := newFakeConsole(t)
	tb := fc.open(t)
	tb.clickCard("1006")
	tb.waitState("error")
	if text := tb.text(); !bytes.Contains([]byte(text), []byte(msgLookupFailed)) {
		t.Errorf("error state text %q lacks %q", text, msgLookupFailed)
	}
	tb.screenshot("error")
	tb.clickShadow(".btn")
	tb.waitState("customer")
	if got := eval[string](tb, hostJS+`.dataset.openid`); got != "oFlaky" {
		t.Errorf("data-openid after retry = %q, want oFlaky", got)
	}
}

func TestBrowserAmbiguousPick(t *testing.T) {
	fc := newFakeConsole(t)
	tb := fc.open(t)
	tb.clickCard("1003")
	tb.waitState("ambiguous")
	got := eval[[]string](tb, `[...`+hostJS+`.shadowRoot.querySelectorAll('button.choice')].map(b => b.dataset.openid)`)
	if fmt.Sprint(got) != "[oTwinA oTwinB]" {
		t.Fatalf("choices = %v, want [oTwinA oTwinB]", got)
	}
	tb.screenshot("ambiguous")
	before := fc.res.queryCount()
	tb.clickShadow(`button.choice[data-openid="oTwinB"]`)
	tb.waitState("customer")
	if got := eval[string](tb, hostJS+`.dataset.openid`); got != "oTwinB" {
		t.Errorf("data-openid = %q, want oTwinB", got)
	}
	if n := fc.res.queryCount(); n != before {
		t.Errorf("a click inside the sidebar sent %d selects", n-before)
	}
}

func TestBrowserFollowsSelection(t *testing.T) {
	fc := newFakeConsole(t)
	tb := fc.open(t)

	// Keyboard navigation: the console moves .card_selected, no click.
	tb.await(`fakeConsole.select(1001)`)
	tb.waitState("customer")

	// React re-renders the list with identical nodes: no new select.
	before := fc.res.queryCount()
	tb.await(`fakeConsole.rerender()`)
	tb.await(`fakeConsole.select(1003)`)
	tb.waitState("ambiguous")
	// Requests arrive in order, so a select caused by the re-render would
	// have been counted before the one of the moved selection.
	if n := fc.res.queryCount(); n != before+1 {
		t.Errorf("%d selects after a re-render and a move, want 1", n-before)
	}
	if q := fc.res.lastQuery(); q.UIN != "1003" {
		t.Errorf("last select %+v, want uin 1003", q)
	}

	// A click in the open chat's messages (on the agent's own avatar)
	// is not a chat selection.
	before = fc.res.queryCount()
	if err := chromedp.Do(tb.ctx, chromedp.Click(chromedp.CSS(`#agent-message img`))); err != nil {
		t.Fatal(err)
	}
	// Without the console's class names, the avatar near the click still
	// names the chat.
	if err := chromedp.Do(tb.ctx, chromedp.Click(chromedp.CSS(`#plain-item span`))); err != nil {
		t.Fatal(err)
	}
	tb.waitState("customer")
	if got := eval[string](tb, hostJS+`.dataset.openid`); got != "oPlain" {
		t.Errorf("data-openid = %q, want oPlain", got)
	}
	if n := fc.res.queryCount(); n != before+1 {
		t.Errorf("%d selects for a message click and a chat click, want 1", n-before)
	}
	if q := fc.res.lastQuery(); q.Avatar != avatarPlain || q.Nickname != "无钩子" {
		t.Errorf("fallback select %+v", q)
	}
}

func TestBrowserReconnects(t *testing.T) {
	fc := newFakeConsole(t)
	first := *fc.prefix.Load()
	tb := fc.open(t)
	tb.clickCard("1001")
	tb.waitState("customer")

	// The proxy goes away: connections drop and reconnects are refused.
	fc.use(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "down", http.StatusServiceUnavailable)
	}))
	first.(*Hub).Close()
	tb.waitState("connecting")
	tb.screenshot("connecting")
	if !eval[bool](tb, hostJS+`.shadowRoot.querySelector('.banner').hidden === false`) {
		t.Error("no reconnecting banner over the last customer")
	}

	// It comes back: the sidebar reconnects and asks for its chat again.
	before := fc.res.queryCount()
	fc.use(fc.newHub())
	tb.waitState("customer")
	if got := eval[string](tb, hostJS+`.dataset.openid`); got != "oAlice" {
		t.Errorf("data-openid after reconnect = %q, want oAlice", got)
	}
	if q := fc.res.lastQuery(); fc.res.queryCount() <= before || q.UIN != "1001" {
		t.Errorf("no select of the current chat after reconnecting (last %+v)", q)
	}
}

func TestBrowserPush(t *testing.T) {
	fc := newFakeConsole(t)
	tb := fc.open(t)
	tb.clickCard("1004")
	tb.waitState("unknown")
	// The accept response is scanned only now.
	fc.table.set(avatarLate, known(record("oLate", "迟到的人", avatarLate)))
	fc.res.signal()
	tb.waitState("customer")
	if got := eval[string](tb, hostJS+`.dataset.openid`); got != "oLate" {
		t.Errorf("data-openid = %q, want oLate", got)
	}
}

func TestBrowserCollapse(t *testing.T) {
	fc := newFakeConsole(t)
	tb := fc.open(t)
	visible := func(sel string) bool {
		return eval[bool](tb, fmt.Sprintf(`%s.shadowRoot.querySelector(%q).getBoundingClientRect().width > 0`, hostJS, sel))
	}
	if !visible(".panel") || visible(".tab") {
		t.Fatal("the sidebar does not start expanded")
	}
	width := eval[float64](tb, hostJS+`.shadowRoot.querySelector('.panel').getBoundingClientRect().width`)
	if width < 300 || width > 380 {
		t.Errorf("panel width = %v, want about 340", width)
	}

	tb.clickShadow(".collapse")
	tb.wait("collapsed", hostJS+`.hasAttribute('data-collapsed')`)
	if visible(".panel") || !visible(".tab") {
		t.Error("collapsed: the panel is still shown or the tab is not")
	}
	tb.screenshot("collapsed")
	// The page's right edge is usable again, but for the tab.
	if got := eval[string](tb, `document.elementFromPoint(innerWidth - 100, 20).tagName`); got == "KF-SIDEBAR" {
		t.Error("the collapsed sidebar still covers the page")
	}

	// Remembered across page loads.
	if err := chromedp.Do(tb.ctx, chromedp.Reload()); err != nil {
		t.Fatal(err)
	}
	tb.waitState("idle")
	if !eval[bool](tb, hostJS+`.hasAttribute('data-collapsed')`) {
		t.Fatal("collapsed state forgotten after reload")
	}
	tb.clickShadow(".tab")
	tb.wait("expanded", `!`+hostJS+`.hasAttribute('data-collapsed')`)
	if !visible(".panel") {
		t.Error("expanded: the panel is not shown")
	}
	if got := eval[string](tb, `localStorage.getItem('kfsidebar.collapsed') ?? ''`); got != "" {
		t.Errorf("localStorage after expanding = %q", got)
	}
}
