package main

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/kfsidebar/kfsidebar/internal/browsertest"
	"github.com/kfsidebar/kfsidebar/internal/kftest"
	"github.com/kfsidebar/kfsidebar/proxy/admin"
	"github.com/kfsidebar/kfsidebar/proxy/mpkftest"
	"github.com/kfsidebar/kfsidebar/push"
	"github.com/kfsidebar/kfsidebar/push/feed"
	"github.com/kfsidebar/kfsidebar/push/store"
	"github.com/kfsidebar/kfsidebar/push/wechattest"
	"github.com/kfsidebar/kfsidebar/push/wire"
)

// The push gateway end to end, from the workstation's side: `kfsidebar
// run` subscribed to a real gateway (the push library behind TLS, as
// `kfsidebar gateway` serves it), WeChat's pushes sent to that gateway,
// the simulated console in Chromium.

const e2eGatewayToken = "e2e-workstation-token-0001"

// testGateway is a push gateway and its workstation feed.
type testGateway struct {
	url    string // the feed
	caFile string // its certificate, PEM
	sender *wechattest.Sender
}

func startTestGateway(t *testing.T) *testGateway {
	t.Helper()
	st, err := store.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "gateway.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	f, err := feed.New(feed.Config{Tokens: map[string]string{e2eGatewayToken: "e2e"}, Source: st, Logger: kftest.LevelLogger(t, slog.LevelWarn)})
	if err != nil {
		t.Fatal(err)
	}
	account := wechattest.Account{Token: "e2eToken", EncodingAESKey: "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
		AppID: "wxba5fad812f8e6fb9", OriginalID: "gh_97417a04a28d"}
	srv, err := push.New(push.Config{Token: account.Token, EncodingAESKey: account.EncodingAESKey, AppID: account.AppID,
		OriginalID: account.OriginalID, OnFeed: f.Wake, Logger: kftest.LevelLogger(t, slog.LevelWarn)}, st)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/wechat", srv)
	mux.Handle("/feed", f)
	hs := httptest.NewTLSServer(mux)
	t.Cleanup(hs.Close)
	caFile := filepath.Join(t.TempDir(), "gateway-ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: hs.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	return &testGateway{url: hs.URL + "/feed", caFile: caFile,
		sender: &wechattest.Sender{URL: hs.URL + "/wechat", Account: account, Mode: wire.Safe, Format: wire.JSON, Client: hs.Client()}}
}

func (g *testGateway) send(t *testing.T, p wechattest.Push) {
	t.Helper()
	if r, err := g.sender.Send(context.Background(), p); err != nil || r.Status != http.StatusOK {
		t.Fatalf("push to the gateway: %v %+v", err, r)
	}
}

// statusOf reads the running kfsidebar's /status.json.
func statusOf(t *testing.T, addr string) admin.Status {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/status.json")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var st admin.Status
	body, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(body, &st); err != nil {
		t.Fatalf("status.json: %v\n%s", err, body)
	}
	return st
}

// TestE2EGatewayFeed: with [gateway] configured, run subscribes (the
// status page and doctor say so); a user's 来源 shows in their card and
// opens the order it names; a logistics push updates that order's latest
// step while the agent looks at it.
func TestE2EGatewayFeed(t *testing.T) {
	browsertest.Require(t)
	gw := startTestGateway(t)
	t.Setenv("KFSIDEBAR_E2E_GATEWAY_TOKEN", e2eGatewayToken)
	dir := t.TempDir()
	config := filepath.Join(dir, "kfsidebar.toml")
	if err := os.WriteFile(config, fmt.Appendf(nil, `
log_level = "debug"

[gateway]
url = %q
token_env = "KFSIDEBAR_E2E_GATEWAY_TOKEN"
ca_file = %q

[[gateway.sources]]
pattern = "order:{order_no}"
label = "从订单进入"
`, gw.url, gw.caFile), 0o600); err != nil {
		t.Fatal(err)
	}
	orders := filepath.Join(dir, "orders.json")
	if err := os.WriteFile(orders, mpkftest.DemoOrdersJSON, 0o600); err != nil {
		t.Fatal(err)
	}
	w, err := startWorldWith(config, func(data string) error {
		var out strings.Builder
		if err := Run(context.Background(), []string{"orders", "import", "--data-dir", data, orders}, &out, &out); err != nil {
			return fmt.Errorf("orders import: %v\n%s", err, out.String())
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.stop)
	ok := false
	for deadline := time.Now().Add(kftest.PollTimeout); !ok && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		g := statusOf(t, w.addr).Gateway
		ok = g != nil && g.Connected
	}
	if !ok {
		t.Fatalf("status says gateway %+v\n%s", statusOf(t, w.addr).Gateway, w.log)
	}
	out, _, _ := runCLI(t, "doctor", "--data-dir", filepath.Join(w.dataDir, "data"), "--listen", w.addr, "--config", config)
	if !strings.Contains(out, "✔ push gateway: subscribed to "+gw.url) {
		t.Errorf("doctor says:\n%s", out)
	}

	f := fan(t, "林小满", 0)
	gw.send(t, wechattest.EnterSession(f.OpenID, "order:E202605090811270023", time.Now()))

	b, err := browsertest.Start(browsertest.Options{ProxyServer: w.addr, SPKIList: w.pins, TimeZone: "Asia/Shanghai"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	ctx := withWorld(b.Tab(t), w)
	openConsole(t, ctx, w)
	click(t, ctx, cardSel(f))
	sb := sidebarOf(t, ctx)
	sb.Wait("customer", f.OpenID)
	root := browsertest.SidebarJS + `.shadowRoot`
	waitJS(t, ctx, "the 来源", root+`.querySelector('.source')?.dataset.sourceRaw === 'order:E202605090811270023'`)
	if box := sb.ShadowText(".source"); !strings.Contains(box, "从订单进入") || !strings.Contains(box, "E202605090811270023") {
		t.Errorf("来源 box: %q", box)
	}
	waitJS(t, ctx, "the order the 来源 names, open", root+`.querySelector('[data-order-no="E202605090811270023"]')?.classList.contains('open')`)

	// The parcel on its way moves on: the logistics assistant's push.
	now := time.Now()
	gw.send(t, wechattest.ExpressPath(f.OpenID, "SF", "SF1408812345672", "E202611171032150023", 4, []wechattest.Action{
		{Time: now.Unix() - 3600, Type: 200001, Msg: "运输中"}, {Time: now.Unix(), Type: 300002, Msg: "派送中，快递员小周正在派件"}}, now))
	waitJS(t, ctx, "the live step", root+`.querySelector('[data-order-no="E202611171032150023"]')?.dataset.live === '1'`)
	if row := sb.ShadowText(`[data-order-no="E202611171032150023"] .order-track`); !strings.Contains(row, "派送中，快递员小周正在派件") {
		t.Errorf("order row: %q", row)
	}
	if st := sb.Read(); st.State != "customer" || st.OpenID != f.OpenID {
		t.Errorf("sidebar %+v after the pushes", st)
	}

	// A user queues with a message of their own: the gateway has it with
	// the openid, the console's waiting list (which the page polls) with
	// the uin, and the resolver ties the two once the feed has delivered
	// everything the gateway had when the list was seen.
	q := mpkftest.Fan{UIN: 3999000001, OpenID: "oE2EQueuedFan00000000000001", Nickname: "排队的客人", AvatarID: "e2equeued"}
	text := "订单 E202611171032150023 能改个地址吗？"
	scans := strings.Count(w.log.String(), `msg="scanned the waiting list"`)
	w.sim.AddWaiting(q)
	w.sim.SendFromFan(q.UIN, text)
	gw.send(t, wechattest.Text(q.OpenID, text, time.Now(), wechattest.NextMsgID()))
	kftest.Poll(t, "the waiting list scanned", func() bool {
		return strings.Count(w.log.String(), `msg="scanned the waiting list"`) > scans
	})
	gw.send(t, wechattest.EnterSession(q.OpenID, "goods:CUP-500", time.Now())) // a push ends the feed's waiting poll
	tie := fmt.Sprintf(`msg="sessions: a queued message ties a uin to an openid" uin=%d openid=%s`, q.UIN, q.OpenID)
	kftest.Poll(t, "the tie", func() bool { return strings.Contains(w.log.String(), tie) })
}

// TestE2EDemoShowsSourceAndTracking: `kfsidebar demo` as a newcomer sees
// it: a customer who came in from an order page, once accepted, shows
// that 来源 with the order opened; the parcel on its way shows the steps
// the demo's gateway pushed, newer than the shop's own data.
func TestE2EDemoShowsSourceAndTracking(t *testing.T) {
	browsertest.Require(t)
	demo := start(t, "demo", "--listen", "127.0.0.1:0", "--data-dir", t.TempDir(), "--gateway-every", "300ms")
	out := demo.stdout.String()
	_, pins, ok := strings.Cut(out, "--ignore-certificate-errors-spki-list=")
	pins, _, _ = strings.Cut(pins, " ")
	_, console, _ := strings.Cut(out, "console:")
	console = strings.Fields(console)[0]
	if !ok || console == "" {
		t.Fatalf("the demo's banner lacks the browser's pins or the console:\n%s", out)
	}
	b, err := browsertest.Start(browsertest.Options{ProxyServer: demo.addr, SPKIList: strings.Split(strings.Trim(pins, `'"`), ","), TimeZone: "Asia/Shanghai"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	ctx := b.Tab(t)
	if err := chromedp.Do(ctx, chromedp.Navigate(console), chromedp.WaitVisible(chromedp.CSS(".card"))); err != nil {
		t.Fatalf("open the demo console: %v\n%s", err, demo.log)
	}
	sb := browsertest.SidebarOf(t, ctx)
	sb.Logs = demo.log.String
	sb.WaitReady()
	root := browsertest.SidebarJS + `.shadowRoot`
	wait := func(what, cond string) {
		t.Helper()
		if err := chromedp.Do(ctx, chromedp.Poll[chromedp.Void](cond, chromedp.WithPollingTimeout(20*time.Second))); err != nil {
			t.Fatalf("waiting for %s: %v\nsidebar: %q\n%s", what, err, sb.Text(), demo.log)
		}
	}

	// The first demo arrival came from an order page and waits.
	first := demoArrivals[0]
	accept := fmt.Sprintf(`.waiting_item[data-reactid$="$%d"] .btn_accept`, first.uin)
	card := fmt.Sprintf(`.card[data-reactid$="$%d"]`, first.uin)
	for _, sel := range []string{accept, card} {
		if err := browsertest.Click(ctx, sel); err != nil {
			t.Fatalf("accept the first arrival: %s: %v\n%s", sel, err, demo.log)
		}
	}
	sb.Wait("customer", "")
	order := strings.TrimPrefix(first.sessionFrom, "order:")
	wait("the 来源", root+fmt.Sprintf(`.querySelector('.source')?.dataset.sourceRaw === %q`, first.sessionFrom))
	wait("the order the 来源 names, open", root+fmt.Sprintf(`.querySelector('[data-order-no=%q]')?.classList.contains('open')`, order))
	if box := sb.ShadowText(".source"); !strings.Contains(box, "从订单进入") {
		t.Errorf("来源 box: %q", box)
	}

	// 林小满's parcel has moved on from what the shop's data says (运输中，
	// 已到达杭州转运中心): live while her card is open, or in the card
	// when it opens after the push.
	f := fan(t, "林小满", 0)
	click(t, ctx, cardSel(f))
	sb.Wait("customer", f.OpenID)
	sb.Click(`[data-order-no="E202611171032150023"] .order-head`)
	wait("the parcel moved on", root+`.querySelector('[data-order-no="E202611171032150023"] .order-detail')?.textContent.match(/已从杭州转运中心发出|派送中|已签收/) != null`)
}
