package sidebar

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/kfsidebar/kfsidebar/internal/browsertest"
	"github.com/kfsidebar/kfsidebar/internal/kftest"
	"github.com/kfsidebar/kfsidebar/internal/sqlitedb/sqlitedbtest"
	"github.com/kfsidebar/kfsidebar/proxy/console"
	"github.com/kfsidebar/kfsidebar/sidebar/quickreply"
	"github.com/kfsidebar/kfsidebar/sidebar/shop"
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
var richAlice = &shop.Customer{
	OpenID: "oAlice", Name: "王爱丽", Phone: "13812345678", Level: "金卡会员",
	Tags:          []string{"老客户", "爱买杯子", "已加企微"},
	Note:          "喜欢保温杯，发货前请电话确认地址。",
	AdminURL:      "https://shop.example/admin/customers/42",
	OrderCount:    12,
	TotalSpentFen: 358600,
	LastOrderAt:   ptr(time.Date(2026, 11, 20, 10, 4, 0, 0, time.Local)),
	Extra: []shop.Extra{
		{Label: "积分", Value: "1,280"},
		{Label: "企业微信", Value: "wxid_alice42", Copy: true},
		{Label: "身份证", Value: "330106199001011234", Mask: true},
		{Label: "会员中心", Value: "查看会员卡", Href: "https://shop.example/member/42"},
	},
	Orders: []shop.Order{
		{OrderNo: "2026112200001", OpenID: "oAlice", CreatedAt: time.Date(2026, 11, 20, 10, 4, 0, 0, time.Local),
			Status: "shipped", AmountFen: 12900, Carrier: "顺丰速运", TrackingNo: "SF1234567890",
			Address:       "浙江省杭州市西湖区文三路398号 东信大厦5楼 王爱丽 收",
			TrackingEvent: "已到达杭州转运中心", TrackingAt: ptr(time.Date(2026, 11, 21, 8, 30, 0, 0, time.Local)),
			Items:    []shop.Item{{Title: "保温杯", SKU: "CUP-500", Qty: 1, PriceFen: 12900}, {Title: "杯套", Qty: 1}},
			Refund:   shop.Refund{Status: "none"},
			AdminURL: "https://shop.example/admin/orders/2026112200001"},
		{OrderNo: "2026111800017", OpenID: "oAlice", CreatedAt: time.Date(2026, 11, 18, 21, 30, 0, 0, time.Local),
			Status: "completed", AmountFen: 5990, Carrier: "中通快递", TrackingNo: "ZT7788990011",
			Address: "浙江省杭州市西湖区文三路398号 东信大厦5楼 王爱丽 收",
			Items:   []shop.Item{{Title: "不锈钢吸管（4支装）", Qty: 2, PriceFen: 2995}},
			Refund:  shop.Refund{Status: "approved", AmountFen: 2995, Reason: "少发了一包"}},
		{OrderNo: "2026110300005", OpenID: "oAlice", CreatedAt: time.Date(2026, 11, 3, 9, 12, 0, 0, time.Local),
			Status: "pending", AmountFen: 199900,
			Items:  []shop.Item{{Title: "家用意式咖啡机", Qty: 1, PriceFen: 199900}},
			Refund: shop.Refund{Status: "none"}},
	},
}

func ptr[T any](v T) *T { return &v }

const (
	avatarStale = "https://wx.qlogo.cn/mmhead/stale/132"
	avatarDown  = "https://wx.qlogo.cn/mmhead/down/132"
)

// consoleShop is the order backend behind the stand-in console: a few
// customers, and the troubles a real shop has. It is a Fresher and
// reports its health, like the cache in front of a real backend.
type consoleShop struct {
	customers map[string]*shop.Customer // by id, which is the openid unless ID is set
	flaky     atomic.Int32
	health    atomic.Pointer[shop.Health]
}

func newConsoleShop() *consoleShop {
	s := &consoleShop{customers: map[string]*shop.Customer{}}
	for _, c := range []*shop.Customer{
		richAlice,
		{OpenID: "oTwinB", Name: "李小明", Level: "普通会员"},
		{OpenID: "oPlain", Name: "钩子测试"},
		{OpenID: "oLate", Name: "赵迟到"},
		{OpenID: "oFlaky", Name: "钱网络"},
		{OpenID: "oStale", Name: "孙旧", Phone: "13600001234"},
		{OpenID: "oDown", Name: "周恢复"},
		{ID: "c-77", Name: "吴绑定", Phone: "13700007777", Level: "银卡会员",
			Orders: []shop.Order{{OrderNo: "2026101000077", CreatedAt: time.Date(2026, 10, 10, 12, 0, 0, 0, time.Local),
				Status: "delivered", AmountFen: 8800, Items: []shop.Item{{Title: "围巾", Qty: 1, PriceFen: 8800}}, Refund: shop.Refund{Status: "none"}}}},
	} {
		id := c.ID
		if id == "" {
			id = c.OpenID
		}
		s.customers[id] = c
	}
	s.health.Store(&shop.Health{State: shop.HealthOK})
	return s
}

var (
	_ shop.Fresher        = (*consoleShop)(nil)
	_ shop.HealthReporter = (*consoleShop)(nil)
)

// LookupResult: oFlaky's first lookup fails, oStale's data is five
// minutes old and its refresh fails, oDown fails while the circuit is
// open.
func (s *consoleShop) LookupResult(_ context.Context, openid string) shop.Result {
	switch {
	case openid == "oFlaky" && s.flaky.Add(1) == 1:
		return shop.Result{Err: errors.New("shop api: 502")}
	case openid == "oStale":
		return shop.Result{Customer: s.customers[openid], FetchedAt: time.Now().Add(-5 * time.Minute), Err: errors.New("shop api: 502")}
	case openid == "oDown" && s.Health().State == shop.HealthOpen:
		return shop.Result{Err: shop.ErrCircuitOpen}
	}
	c, ok := s.customers[openid]
	if !ok || c.ID != "" {
		return shop.Result{Err: shop.ErrNotFound}
	}
	return shop.Result{Customer: c, FetchedAt: time.Now()}
}

func (s *consoleShop) Lookup(ctx context.Context, openid string) (*shop.Customer, error) {
	r := s.LookupResult(ctx, openid)
	return r.Customer, r.Err
}

func (s *consoleShop) Customer(_ context.Context, id string) (*shop.Customer, error) {
	if c, ok := s.customers[id]; ok {
		return c, nil
	}
	return nil, shop.ErrNotFound
}

// Search finds by phone suffix, order number or name.
func (s *consoleShop) Search(_ context.Context, q string, limit int) ([]shop.Customer, error) {
	out := []shop.Customer{}
	for _, c := range s.customers {
		hit := strings.Contains(c.Name, q) || (len(q) >= 4 && strings.HasSuffix(c.Phone, q))
		for _, o := range c.Orders {
			hit = hit || o.OrderNo == q
		}
		if hit && len(out) < limit {
			out = append(out, shop.Customer{ID: c.ID, OpenID: c.OpenID, Name: c.Name, Phone: c.Phone, Level: c.Level})
		}
	}
	return out, nil
}

func (s *consoleShop) Health() shop.Health { return *s.health.Load() }

// testReplies are the quick replies of the stand-in console: a local
// group with variables and the console's own group.
func testReplies() []quickreply.Group {
	r := func(id, title, text string) quickreply.Reply {
		initials := quickreply.Initials(text)
		if title != "" {
			initials = quickreply.Initials(title) + " " + initials
		}
		return quickreply.Reply{ID: id, Title: title, Text: text, Initials: initials}
	}
	return []quickreply.Group{
		{Name: "售后常用", Source: quickreply.SourceLocal, Replies: []quickreply.Reply{
			r("1", "物流查询", "{nickname}您好，您的订单{order_no}已由{carrier}发出，运单号{tracking_no}。"),
			r("2", "退款进度", "订单{order_no}的退款{amount}已原路退回，1-3个工作日到账。"),
			r("3", "结束语", "感谢您的耐心等待，祝您生活愉快！"),
		}},
		{Name: quickreply.ConsoleGroupName, Source: quickreply.SourceConsole, Replies: []quickreply.Reply{
			r("c1", "", "您好，请问有什么可以帮您？"),
		}},
	}
}

// fakeConsole serves the stand-in page and, under the reserved prefix,
// whatever handler the test installs (normally a Hub).
type fakeConsole struct {
	t        *testing.T
	url      string
	origin   string
	table    *avatarTable
	res      *fakeResolver
	shop     *consoleShop
	bindings *Bindings
	reveals  *RevealLog
	replies  *fakeReplies
	prefix   atomic.Pointer[http.Handler]
	selects  atomic.Int64 // select requests the hubs received
}

// selectCounter counts the hub's "select" log records, one per select
// request, and passes every record on.
type selectCounter struct {
	slog.Handler
	n *atomic.Int64
}

func (h selectCounter) Handle(ctx context.Context, r slog.Record) error {
	if r.Message == "select" {
		h.n.Add(1)
	}
	return h.Handler.Handle(ctx, r)
}

func (h selectCounter) WithAttrs(a []slog.Attr) slog.Handler {
	return selectCounter{h.Handler.WithAttrs(a), h.n}
}

func (h selectCounter) WithGroup(name string) slog.Handler {
	return selectCounter{h.Handler.WithGroup(name), h.n}
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

	table := newAvatarTable(map[string]console.Resolution{
		avatarAlice: known(alice),
		avatarTwins: {Candidates: []console.Record{twinA, twinB}},
		avatarGhost: known(ghost),
		avatarPlain: known(record("oPlain", "无钩子", avatarPlain)),
		avatarFlaky: known(record("oFlaky", "网不好", avatarFlaky)),
		avatarStale: known(record("oStale", "旧资料", avatarStale)),
		avatarDown:  known(record("oDown", "店铺挂了", avatarDown)),
	})
	db := sqlitedbtest.Open(t, filepath.Join(t.TempDir(), "kfsidebar.db"))
	ctx := context.Background()
	bindings, err := OpenBindings(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	reveals, err := OpenRevealLog(ctx, db, nil)
	if err != nil {
		t.Fatal(err)
	}
	fc := &fakeConsole{
		t:        t,
		table:    table,
		res:      &fakeResolver{resolve: table.resolve},
		shop:     newConsoleShop(),
		bindings: bindings,
		reveals:  reveals,
		replies:  &fakeReplies{groups: testReplies()},
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
	mux.HandleFunc(console.ReservedPrefix, func(w http.ResponseWriter, r *http.Request) {
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
	h, err := NewHub(HubOptions{Resolver: fc.res, Backend: fc.shop, Token: testToken,
		AllowedOrigins: []string{fc.origin}, Logger: slog.New(selectCounter{kftest.Logger(fc.t).Handler(), &fc.selects}),
		QuickReplies: fc.replies, Bindings: fc.bindings, Reveals: fc.reveals, IdentifyWait: 300 * time.Millisecond})
	if err != nil {
		fc.t.Fatal(err)
	}
	fc.t.Cleanup(h.Close)
	return h
}

// revealCount is the number of reveals recorded.
func (fc *fakeConsole) revealCount(t *testing.T) int {
	t.Helper()
	got, err := fc.reveals.Recent(context.Background(), 100)
	if err != nil {
		t.Fatal(err)
	}
	return len(got)
}

// lastReveal is the latest reveal recorded, as "openid field".
func (fc *fakeConsole) lastReveal(t *testing.T) string {
	t.Helper()
	got, err := fc.reveals.Recent(context.Background(), 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) == 0 {
		return ""
	}
	return got[0].OpenID + " " + got[0].Field
}

// use routes the reserved prefix to h.
func (fc *fakeConsole) use(h http.Handler) { fc.prefix.Store(&h) }

// open loads the page in a new tab and waits for the sidebar to connect.
func (fc *fakeConsole) open(t *testing.T) *tab {
	t.Helper()
	ctx := browser.Tab(t)
	tb := &tab{t: t, ctx: ctx, Sidebar: browsertest.SidebarOf(t, ctx)}
	if err := chromedp.Do(tb.ctx, chromedp.Navigate(fc.url)); err != nil {
		t.Fatal(err)
	}
	tb.waitState("idle")
	return tb
}

// tab is one page of the console with the sidebar in it; the sidebar's
// own page object does what it can.
type tab struct {
	t   *testing.T
	ctx context.Context
	*browsertest.Sidebar
}

const hostJS = browsertest.SidebarJS

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

// wait polls a JS condition until it holds; on failure it reports the
// sidebar's state and text, and the values of the show expressions.
func (tb *tab) wait(what, cond string, show ...string) {
	tb.t.Helper()
	if err := chromedp.Do(tb.ctx, chromedp.Poll[chromedp.Void](cond, chromedp.WithPollingTimeout(15*time.Second))); err != nil {
		var values []string
		for _, expr := range show {
			values = append(values, fmt.Sprintf("%s = %q", expr, eval[string](tb, expr)))
		}
		tb.t.Fatalf("waiting for %s: %v\nstate %q, sidebar text: %q\n%s", what, err,
			eval[string](tb, hostJS+`?.dataset.state ?? "none"`), tb.Text(), strings.Join(values, "\n"))
	}
}

func (tb *tab) waitState(state string) {
	tb.t.Helper()
	tb.Wait(state, "")
}

func (tb *tab) clickCard(uin string) {
	tb.t.Helper()
	if err := chromedp.Do(tb.ctx, chromedp.Click(chromedp.CSS(`.card[data-reactid$="$`+uin+`"] .card_content_nick`))); err != nil {
		tb.t.Fatal(err)
	}
}

// keys types with real key events into whatever has the focus.
func (tb *tab) keys(keys string, opts ...chromedp.KeyOption) {
	tb.t.Helper()
	if err := chromedp.Do(tb.ctx, chromedp.KeyEvent(keys, opts...)); err != nil {
		tb.t.Fatal(err)
	}
}

// setSearch replaces the quick reply search text, as typing would.
func (tb *tab) setSearch(q string) {
	tb.t.Helper()
	tb.await(fmt.Sprintf(`(async () => { const i = %s.shadowRoot.querySelector('.qr-search'); i.value = %q;
		i.dispatchEvent(new Event('input', {bubbles: true})); })()`, hostJS, q))
}

func (tb *tab) reload() {
	tb.t.Helper()
	if err := chromedp.Do(tb.ctx, chromedp.Reload()); err != nil {
		tb.t.Fatal(err)
	}
	tb.waitState("idle")
}

// drag presses the mouse at (x, y), moves to (toX, y) and releases.
func (tb *tab) drag(x, y, toX float64) {
	tb.t.Helper()
	err := chromedp.Do(tb.ctx,
		chromedp.MouseEvent(chromedp.MouseMoved, x, y),
		chromedp.MouseEvent(chromedp.MousePressed, x, y, chromedp.ButtonLeft, chromedp.ClickCount(1)),
		chromedp.MouseEvent(chromedp.MouseMoved, (x+toX)/2, y, chromedp.ButtonLeft),
		chromedp.MouseEvent(chromedp.MouseMoved, toX, y, chromedp.ButtonLeft),
		chromedp.MouseEvent(chromedp.MouseReleased, toX, y, chromedp.ButtonLeft, chromedp.ClickCount(1)))
	if err != nil {
		tb.t.Fatal(err)
	}
}

// grantClipboard lets the page read the clipboard, so the test can check
// what the copy buttons put there.
func (tb *tab) grantClipboard(origin string) {
	tb.t.Helper()
	for _, name := range []string{"clipboard-read", "clipboard-write"} {
		err := chromedp.Do(tb.ctx, chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
			_, err := cdp.Call(ctx, t, cdpbrowser.SetPermission, cdpbrowser.SetPermissionParams{
				Permission: &cdpbrowser.PermissionDescriptor{Name: name}, Setting: cdpbrowser.PermissionSettingGranted, Origin: origin})
			return err
		}))
		if err != nil {
			tb.t.Fatalf("grant %s: %v", name, err)
		}
	}
}

// waitClipboard polls the clipboard until it holds want.
func (tb *tab) waitClipboard(want string) {
	tb.t.Helper()
	var got string
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		v, err := chromedp.Run(tb.ctx, chromedp.Evaluate[string](`navigator.clipboard.readText()`, chromedp.EvalAwaitPromise))
		if err == nil && v == want {
			return
		}
		got = v
		chromedp.Do(tb.ctx, chromedp.Sleep(50*time.Millisecond))
	}
	tb.t.Fatalf("clipboard holds %q, want %q", got, want)
}

// caretOffset is where the caret is in the reply box, in characters from
// its start; negative when the selection is not a caret in it.
const caretOffset = `(() => {
	const ed = document.getElementById('editor'), s = getSelection();
	if (!s.rangeCount || document.activeElement !== ed) return -1;
	const r = s.getRangeAt(0);
	if (!r.collapsed || !ed.contains(r.startContainer)) return -2;
	const before = document.createRange();
	before.selectNodeContents(ed);
	before.setEnd(r.startContainer, r.startOffset);
	return [...before.toString()].length;
})()`

func (tb *tab) screenshot(name string) {
	tb.t.Helper()
	if *screenshots == "" {
		return
	}
	browsertest.RequireCJKFont(tb.t)
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
	if n := fc.selects.Load(); n != 0 {
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
	if q := fc.res.lastQuery(); q != (console.Query{UIN: "1001", Avatar: avatarAlice, Nickname: "爱丽丝", Peers: 1}) {
		t.Errorf("select sent %+v", q)
	}
	orders := eval[[]string](tb, `[...`+hostJS+`.shadowRoot.querySelectorAll('[data-order-no]')].map(e => e.dataset.orderNo)`)
	if want := []string{"2026112200001", "2026111800017", "2026110300005"}; fmt.Sprint(orders) != fmt.Sprint(want) {
		t.Errorf("orders = %v, want %v", orders, want)
	}
	text := tb.Text()
	for _, want := range []string{
		// header: name, level, tags, note, extras, the summary of all orders
		"王爱丽", "金卡会员", "老客户", "138****5678", "喜欢保温杯", "积分", "1,280", "wxid_alice42",
		"330****1234", "查看会员卡", "12\n订单", "¥3,586.00\n累计消费", "11-20\n最近下单", "在店铺后台查看",
		// compact order rows with their badges
		"保温杯 ×1 等2件", "¥129.00", "已发货", "不锈钢吸管（4支装） ×2", "已完成", "退款已同意",
		"¥1,999.00", "待付款", "3 / 12",
	} {
		want = strings.ReplaceAll(want, `\n`, "\n")
		if !strings.Contains(text, want) {
			t.Errorf("sidebar text lacks %q:\n%s", want, text)
		}
	}
	badges := eval[[]string](tb, `[...`+hostJS+`.shadowRoot.querySelectorAll('[data-order-no="2026111800017"] [data-badge]')].map(b => b.dataset.badge + ':' + b.textContent)`)
	if want := "[ship:已完成 refund:退款已同意]"; fmt.Sprint(badges) != want {
		t.Errorf("badges = %v, want %s", badges, want)
	}
	full := eval[string](tb, hostJS+`.shadowRoot.innerHTML + `+hostJS+`.outerHTML`)
	for _, secret := range []string{"13812345678", "330106199001011234", "文三路"} {
		if strings.Contains(full, secret) {
			t.Errorf("%q is in the DOM before any reveal", secret)
		}
	}
	links := eval[[]string](tb, `[...`+hostJS+`.shadowRoot.querySelectorAll('a')].map(a => a.href + ' ' + a.target + ' ' + a.rel)`)
	if want := "[https://shop.example/member/42 _blank noopener noreferrer https://shop.example/admin/customers/42 _blank noopener noreferrer]"; fmt.Sprint(links) != want {
		t.Errorf("links = %q, want %s", links, want)
	}
	tb.screenshot("customer")
}

// TestBrowserOrderDetail expands an order: items, address (masked until
// revealed, and the reveal recorded), logistics, after-sales steps, the
// copy buttons and "insert".
func TestBrowserOrderDetail(t *testing.T) {
	fc := newFakeConsole(t)
	tb := fc.open(t)
	tb.grantClipboard(fc.origin)
	tb.clickCard("1001")
	tb.waitState("customer")

	tb.Click(`[data-order-no="2026112200001"] .order-head`)
	tb.wait("the order to open", hostJS+`.shadowRoot.querySelector('[data-order-no="2026112200001"] .order-detail')?.hidden === false`)
	detail := tb.ShadowText(`[data-order-no="2026112200001"] .order-detail`)
	for _, want := range []string{"保温杯", "CUP-500", "×1", "¥129.00", "杯套", "收货地址", "浙江省杭州市西湖区****",
		"顺丰速运", "SF1234567890", "已到达杭州转运中心", "11-21 08:30", "复制单号", "插入到回复", "后台 ↗"} {
		if !strings.Contains(detail, want) {
			t.Errorf("order detail lacks %q:\n%s", want, detail)
		}
	}
	tb.screenshot("order")

	// Copy buttons: the order number, the tracking number as they are.
	for _, c := range []struct{ sel, want string }{
		{`[data-order-no="2026112200001"] [data-copy="order_no"]`, "2026112200001"},
		{`[data-order-no="2026112200001"] [data-copy="tracking_no"]`, "SF1234567890"},
	} {
		tb.Click(c.sel)
		tb.waitClipboard(c.want)
	}
	if got := fc.revealCount(t); got != 0 {
		t.Fatalf("%d reveals recorded before any", got)
	}

	// Copying the hidden address reveals it: the reveal is recorded.
	tb.Click(`[data-order-no="2026112200001"] [data-copy="address"]`)
	tb.waitClipboard("浙江省杭州市西湖区文三路398号 东信大厦5楼 王爱丽 收")
	tb.wait("the address shown", hostJS+`.shadowRoot.querySelector('[data-field="address:2026112200001"]').textContent.includes('文三路398号')`)
	if got := fc.lastReveal(t); got != "oAlice address:2026112200001" {
		t.Errorf("recorded reveal %q", got)
	}

	// The phone: revealed with a click, recorded.
	tb.Click(`[data-reveal="phone"]`)
	tb.wait("the phone shown", hostJS+`.shadowRoot.querySelector('[data-field="phone"]').textContent === '13812345678'`)
	if got := fc.lastReveal(t); got != "oAlice phone" {
		t.Errorf("recorded reveal %q", got)
	}
	if n := eval[int](tb, hostJS+`.shadowRoot.querySelectorAll('[data-reveal="phone"]').length`); n != 0 {
		t.Errorf("%d reveal buttons left for the revealed phone", n)
	}

	// After-sales: approved is the second of four steps.
	tb.Click(`[data-order-no="2026111800017"] .order-head`)
	steps := eval[[]string](tb, `[...`+hostJS+`.shadowRoot.querySelectorAll('[data-refund="approved"] li')].map(l => l.dataset.step + ':' + l.className)`)
	if want := "[requested:done approved:now returned: refunded:]"; fmt.Sprint(steps) != want {
		t.Errorf("after-sales steps = %v, want %s", steps, want)
	}
	refund := tb.ShadowText(`[data-order-no="2026111800017"] .refund`)
	for _, want := range []string{"售后：退款已同意", "¥29.95", "原因：少发了一包"} {
		if !strings.Contains(refund, want) {
			t.Errorf("after-sales lacks %q: %q", want, refund)
		}
	}

	// "insert" puts a summary into the reply box, as typing would.
	tb.Click(`[data-order-no="2026112200001"] .insert`)
	want := "订单 2026112200001：保温杯 ×1 等2件，¥129.00，已发货，顺丰速运 SF1234567890"
	tb.wait("the summary in the draft", fmt.Sprintf(`fakeConsole.draft() === %q`, want))
	if n := eval[int](tb, `fakeConsole.sent.length`); n != 0 {
		t.Errorf("insert sent %d messages; it must never send", n)
	}
}

func TestBrowserQuickReplies(t *testing.T) {
	fc := newFakeConsole(t)
	tb := fc.open(t)
	tb.clickCard("1001")
	tb.waitState("customer")

	// Keyboard only: Alt+K from the page focuses the search.
	tb.keys("k", chromedp.KeyModifiers(chromedp.ModifierAlt))
	tb.wait("the search focused", hostJS+`.shadowRoot.activeElement?.classList.contains('qr-search')`)
	items := func() []string {
		return eval[[]string](tb, `[...`+hostJS+`.shadowRoot.querySelectorAll('[data-quick-reply]')].map(b => b.dataset.quickReply)`)
	}
	if got := fmt.Sprint(items()); got != "[1 2 3 c1]" {
		t.Fatalf("quick replies = %s, want all four", got)
	}
	groups := tb.ShadowText(".qr-list")
	if !strings.Contains(groups, "售后常用") || !strings.Contains(groups, quickreply.ConsoleGroupName+"\n控制台") {
		t.Errorf("groups not shown: %q", groups)
	}
	// The variables are filled from the customer and the latest order.
	first := tb.ShadowText(`[data-quick-reply="1"]`)
	if want := "爱丽丝您好，您的订单2026112200001已由顺丰速运发出，运单号SF1234567890。"; !strings.Contains(first, want) {
		t.Errorf("reply preview %q, want %q", first, want)
	}

	tests := []struct{ query, want string }{
		{"退款", "[2]"},     // substring
		{"wlcx", "[1]"},   // pinyin initials of the title 物流查询
		{"qwysm", "[c1]"}, // initials of the console's reply
		{"有什么", "[c1]"},
		{"没有这条", "[]"},
	}
	for _, tt := range tests {
		tb.setSearch(tt.query)
		if got := fmt.Sprint(items()); got != tt.want {
			t.Errorf("search %q: %s, want %s", tt.query, got, tt.want)
		}
	}
	tb.screenshot("quick-replies")

	// Type into the search, choose with the arrows, insert with Enter.
	tb.setSearch("")
	tb.keys("wl")
	tb.keys(kb.ArrowDown)
	tb.keys(kb.ArrowUp)
	tb.keys(kb.Enter)
	want := "爱丽丝您好，您的订单2026112200001已由顺丰速运发出，运单号SF1234567890。"
	tb.wait("the reply in the draft", fmt.Sprintf(`fakeConsole.draft() === %q`, want), `fakeConsole.draft()`)
	// The caret is after the inserted text, in the reply box: typing
	// goes on from there, and Enter sends exactly that.
	if got := eval[int](tb, caretOffset); got != len([]rune(want)) {
		t.Errorf("caret at %d, want %d (after the reply)", got, len([]rune(want)))
	}
	tb.keys("～")
	tb.keys(kb.Enter)
	tb.wait("the message sent", `fakeConsole.sent.length === 1`)
	if got := eval[string](tb, `fakeConsole.sent[0]`); got != want+"～" {
		t.Errorf("sent %q, want %q", got, want+"～")
	}

	// Where the agent was typing: the reply goes at the caret.
	if err := chromedp.Do(tb.ctx, chromedp.Click(chromedp.CSS("#editor"))); err != nil {
		t.Fatal(err)
	}
	tb.keys("好的。")
	tb.Click(`[data-tab="replies"]`)
	tb.setSearch("结束")
	tb.Click(`[data-quick-reply="3"]`)
	tb.wait("the reply after the typed text", `fakeConsole.draft() === "好的。感谢您的耐心等待，祝您生活愉快！"`, `fakeConsole.draft()`, `document.getElementById("editor").innerHTML`)
	if n := eval[int](tb, `fakeConsole.sent.length`); n != 1 {
		t.Errorf("a quick reply was sent (%d messages)", n)
	}
}

func TestBrowserQuickReplyMissingVariable(t *testing.T) {
	fc := newFakeConsole(t)
	tb := fc.open(t)
	tb.clickCard("1001")
	tb.waitState("customer")
	// The agent opens the unpaid order: it has no parcel yet.
	tb.Click(`[data-order-no="2026110300005"] .order-head`)
	tb.Click(`[data-tab="replies"]`)
	if ctx := tb.ShadowText(".qr-context"); !strings.Contains(ctx, "2026110300005") {
		t.Errorf("context %q does not name the opened order", ctx)
	}
	missing := eval[[]string](tb, `[...`+hostJS+`.shadowRoot.querySelectorAll('[data-quick-reply="1"] .var.missing')].map(v => v.dataset.var)`)
	if fmt.Sprint(missing) != "[carrier tracking_no]" {
		t.Errorf("missing variables marked %v", missing)
	}
	tb.Click(`[data-quick-reply="1"]`)
	tb.wait("the notice", hostJS+`.shadowRoot.querySelector('.qr-notice').hidden === false`)
	if got := tb.ShadowText(".qr-notice"); !strings.Contains(got, "快递公司 {carrier}") || !strings.Contains(got, "物流单号 {tracking_no}") {
		t.Errorf("notice %q does not name the missing variables", got)
	}
	tb.screenshot("quick-replies-missing")
	if got := eval[string](tb, `fakeConsole.draft() + document.getElementById('editor').textContent`); got != "" {
		t.Errorf("a reply with a missing variable was inserted: %q", got)
	}
	// A reply it can fill still goes in.
	tb.Click(`[data-quick-reply="2"]`)
	tb.wait("the refund reply", `fakeConsole.draft() === "订单2026110300005的退款¥1,999.00已原路退回，1-3个工作日到账。"`)
}

func TestBrowserIdentityFallback(t *testing.T) {
	fc := newFakeConsole(t)
	tb := fc.open(t)
	tb.clickCard("1002") // nobody known has this avatar
	tb.waitState("unknown")
	tb.Click(".find-input")
	tb.keys("7777")
	tb.wait("a result", hostJS+`.shadowRoot.querySelector('[data-customer-id="c-77"]') !== null`)
	if got := tb.ShadowText(".find-results"); !strings.Contains(got, "吴绑定") || !strings.Contains(got, "137****7777") {
		t.Errorf("results %q", got)
	}
	tb.screenshot("unknown-search")
	tb.Click(`[data-customer-id="c-77"]`)
	tb.wait("the bound customer", hostJS+`.dataset.state === 'customer' && `+hostJS+`.shadowRoot.querySelector('.bound-notice') !== null`)
	if text := tb.Text(); !strings.Contains(text, "吴绑定") || !strings.Contains(text, "2026101000077") {
		t.Errorf("bound customer not shown: %q", text)
	}
	if id, ok, err := fc.bindings.Lookup(context.Background(), "uin:1002"); err != nil || !ok || id != "c-77" {
		t.Errorf("binding = %q %v %v, want c-77", id, ok, err)
	}

	// Later lookups of the chat use the binding.
	tb.clickCard("1001")
	tb.waitState("customer")
	tb.clickCard("1002")
	tb.wait("the bound customer again", hostJS+`.dataset.state === 'customer' && `+hostJS+`.shadowRoot.querySelector('.panel').innerText.includes('吴绑定')`)

	// Undo.
	tb.Click(".bound-notice .unbind")
	tb.waitState("unknown")
	if _, ok, _ := fc.bindings.Lookup(context.Background(), "uin:1002"); ok {
		t.Error("binding still stored after undo")
	}

	// A known user the shop does not know: search by order number.
	tb.clickCard("1005")
	tb.wait("not in shop", hostJS+`.dataset.state === 'unknown' && `+hostJS+`.shadowRoot.querySelector('.panel').innerText.includes('店铺里没有这位客户')`)
	tb.Click(".find-input")
	tb.keys("2026101000077" + kb.Enter)
	tb.Click(`[data-customer-id="c-77"]`)
	tb.wait("bound by openid", hostJS+`.shadowRoot.querySelector('.bound-notice') !== null`)
	if id, ok, _ := fc.bindings.Lookup(context.Background(), "oGhost"); !ok || id != "c-77" {
		t.Errorf("binding of oGhost = %q %v", id, ok)
	}
}

func TestBrowserStaleData(t *testing.T) {
	fc := newFakeConsole(t)
	tb := fc.open(t)
	tb.clickCard("1007")
	tb.waitState("customer")
	notice := tb.ShadowText(".stale-notice")
	for _, want := range []string{msgStale, "5 分钟前更新", "重试"} {
		if !strings.Contains(notice, want) {
			t.Errorf("stale notice %q lacks %q", notice, want)
		}
	}
	tb.screenshot("stale")
}

func TestBrowserCircuitOpen(t *testing.T) {
	fc := newFakeConsole(t)
	fc.shop.health.Store(&shop.Health{State: shop.HealthOpen, RetryAt: time.Now().Add(3 * time.Second)})
	tb := fc.open(t)
	tb.clickCard("1008")
	tb.waitState("error")
	tb.wait("the countdown", hostJS+`.shadowRoot.querySelector('.error-text').textContent.includes('秒后重试')`)
	if got := tb.ShadowText(".error-text"); !strings.HasPrefix(got, "店铺系统暂时不可用，") {
		t.Errorf("error text %q", got)
	}
	tb.screenshot("circuit-open")
	// The shop recovers; at zero the sidebar asks again by itself.
	fc.shop.health.Store(&shop.Health{State: shop.HealthOK})
	tb.waitState("customer")
	if got := eval[string](tb, hostJS+`.dataset.openid`); got != "oDown" {
		t.Errorf("data-openid = %q after the retry", got)
	}
}

func TestBrowserComesBack(t *testing.T) {
	fc := newFakeConsole(t)
	tb := fc.open(t)
	tb.clickCard("1001")
	tb.waitState("customer")
	// The console re-renders and throws our element out.
	tb.await(`(async () => { ` + hostJS + `.remove();
		await new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r))); })()`)
	tb.wait("the element back", `document.querySelectorAll('kf-sidebar').length === 1 && `+hostJS+`?.isConnected`)
	tb.clickCard("1003")
	tb.waitState("ambiguous")
	if got := eval[string](tb, `getComputedStyle(document.body).marginRight`); got != "340px" {
		t.Errorf("body margin-right = %s after coming back, want 340px", got)
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
	if width != 340 {
		t.Errorf("panel width = %v, want 340", width)
	}

	tb.Click(".collapse")
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
	tb.reload()
	if !eval[bool](tb, hostJS+`.hasAttribute('data-collapsed')`) {
		t.Fatal("collapsed state forgotten after reload")
	}
	tb.Click(".tab")
	tb.wait("expanded", `!`+hostJS+`.hasAttribute('data-collapsed')`)
	if !visible(".panel") {
		t.Error("expanded: the panel is not shown")
	}
	if got := eval[string](tb, `localStorage.getItem('kfsidebar.collapsed') ?? ''`); got != "" {
		t.Errorf("localStorage after expanding = %q", got)
	}
}

// TestBrowserResizeAndOverlay drags the panel's edge and switches between
// narrowing the page and floating over it; both are remembered.
func TestBrowserResizeAndOverlay(t *testing.T) {
	fc := newFakeConsole(t)
	tb := fc.open(t)
	layout := func() (panel float64, margin string) {
		panel = eval[float64](tb, hostJS+`.shadowRoot.querySelector('.panel').getBoundingClientRect().width`)
		margin = eval[string](tb, `document.body.style.marginRight`)
		return
	}
	x := eval[float64](tb, hostJS+`.shadowRoot.querySelector('.panel').getBoundingClientRect().left`)
	tb.drag(x, 300, x-100)
	tb.wait("the drag to end", `!`+hostJS+`.hasAttribute('data-resizing')`)
	if panel, margin := layout(); panel != 440 || margin != "440px" {
		t.Errorf("after dragging 100px left: panel %v, page margin %q; want 440 and 440px", panel, margin)
	}
	// The keyboard works on the edge too.
	if err := chromedp.Do(tb.ctx, chromedp.Focus(chromedp.JSPath(hostJS+`.shadowRoot.querySelector('.resize')`))); err != nil {
		t.Fatal(err)
	}
	tb.keys(kb.ArrowRight)
	if panel, _ := layout(); panel != 430 {
		t.Errorf("after ArrowRight: panel %v, want 430", panel)
	}

	tb.Click(".layout")
	tb.wait("overlay", hostJS+`.hasAttribute('data-overlay')`)
	if panel, margin := layout(); panel != 430 || margin != "" {
		t.Errorf("overlay: panel %v, page margin %q; want 430 and none", panel, margin)
	}
	tb.reload()
	if panel, margin := layout(); !eval[bool](tb, hostJS+`.hasAttribute('data-overlay')`) || panel != 430 || margin != "" {
		t.Errorf("after reload: overlay %v, panel %v, margin %q", eval[bool](tb, hostJS+`.hasAttribute('data-overlay')`), panel, margin)
	}
	tb.Click(".layout")
	tb.wait("narrowing again", `document.body.style.marginRight === '430px'`)
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
	if text := tb.Text(); !bytes.Contains([]byte(text), []byte(msgLookupFailed)) {
		t.Errorf("error state text %q lacks %q", text, msgLookupFailed)
	}
	tb.screenshot("error")
	tb.Click(".btn")
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
	before := fc.selects.Load()
	tb.Click(`button.choice[data-openid="oTwinB"]`)
	tb.waitState("customer")
	if got := eval[string](tb, hostJS+`.dataset.openid`); got != "oTwinB" {
		t.Errorf("data-openid = %q, want oTwinB", got)
	}
	if n := fc.selects.Load(); n != before {
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
	before := fc.selects.Load()
	tb.await(`fakeConsole.rerender()`)
	tb.await(`fakeConsole.select(1003)`)
	tb.waitState("ambiguous")
	// Requests arrive in order, so a select caused by the re-render would
	// have been counted before the one of the moved selection.
	if n := fc.selects.Load(); n != before+1 {
		t.Errorf("%d selects after a re-render and a move, want 1", n-before)
	}
	if q := fc.res.lastQuery(); q.UIN != "1003" {
		t.Errorf("last select %+v, want uin 1003", q)
	}

	// A click in the open chat's messages (on the agent's own avatar)
	// is not a chat selection.
	before = fc.selects.Load()
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
	if n := fc.selects.Load(); n != before+1 {
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
	before := fc.selects.Load()
	fc.use(fc.newHub())
	tb.waitState("customer")
	if got := eval[string](tb, hostJS+`.dataset.openid`); got != "oAlice" {
		t.Errorf("data-openid after reconnect = %q, want oAlice", got)
	}
	if q := fc.res.lastQuery(); fc.selects.Load() <= before || q.UIN != "1001" {
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
