package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/kfsidebar/kfsidebar/proxy/mpkftest"
	"github.com/kfsidebar/kfsidebar/push/wechattest"
	"github.com/kfsidebar/kfsidebar/push/wire"
)

// The demo mini program, as its admin would be set up: a safe-mode push
// URL. The ids are made up in WeChat's formats; the key is new each run.
const (
	demoToken      = "kfsidebardemo"
	demoAppID      = "wx5d3c2e1f0a9b8c7d"
	demoOriginalID = "gh_6b8f2c1d4e5a"
	// demoWorkstation is the demo's one workstation on the feed.
	demoWorkstation = "demo"
)

// demoEvery is how often something happens on the demo's WeChat side
// (a customer writes in, a parcel moves): often enough to see, rarely
// enough to follow.
const demoEvery = 20 * time.Second

// demoArrival is a user who opens the mini program's customer-service chat
// from a contact button and writes: SessionFrom is the button's
// session-from (来源), "" when the chat was opened from the menu.
type demoArrival struct {
	uin         int64
	sessionFrom string
	text        string
}

// demoArrivals are the idle fans of mpkftest.DemoOptions, in the order
// they write in through the gateway, each from where a shop's page would
// send them.
var demoArrivals = []demoArrival{
	{3311902457, "order:E202611210948220131", "我的快递怎么还没到？"},
	{3250649981, "order:E202611221009570005", "这单什么时候发货？"},
	{3402287716, "goods:TEA-LJ-250", "这款龙井还有货吗？"},
	{2987123305, "order:E202611081107260199", "退款什么时候到账？"},
	{2960015547, "", "你好"},
	{3311905236, "order:E202611220851130226", "怎么付款？"},
	{3189034420, "", "你们店在哪里？"},
	{3311902618, "order:E202611181605440135", "能开发票吗？"},
	{3311906017, "order:E202611121933040233", "已经签收了，谢谢"},
}

// demoParcel is a demo order on its way, whose track grows by one step
// per update (add_express_path), from the step the demo data shows.
type demoParcel struct {
	openid, delivery, waybill, order string
	steps                            []wechattest.Action // the track so far, then the steps to come
	shown                            int                 // steps sent so far
}

func demoParcels() []*demoParcel {
	day := func(d int) int64 { return time.Date(2026, 11, d, 9, 0, 0, 0, time.FixedZone("CST", 8*3600)).Unix() }
	return []*demoParcel{
		{openid: "oVx3k5PtYgjmUhBel31iEl2hpChY", delivery: "SF", waybill: "SF1408812345672", order: "E202611171032150023", shown: 2,
			steps: []wechattest.Action{
				{Time: day(17), Type: 100001, Msg: "揽件成功，顺丰速运杭州西湖营业点已收件"},
				{Time: day(18), Type: 200001, Msg: "运输中，已到达杭州转运中心"},
				{Type: 200001, Msg: "运输中，已从杭州转运中心发出，下一站杭州文三路营业点"},
				{Type: 300002, Msg: "派送中，快递员正在为您派件"},
				{Type: 300003, Msg: "已签收，本人签收，感谢使用顺丰速运"},
			}},
		{openid: "oVx3k5tDDb_xHKas1VOqg6YYZYn9", delivery: "ZTO", waybill: "78431267750082", order: "E202611210948220131", shown: 2,
			steps: []wechattest.Action{
				{Time: day(21), Type: 100001, Msg: "揽件成功，中通快递杭州分部已收件"},
				{Time: day(22), Type: 200001, Msg: "已到达上海浦东分拨中心"},
				{Type: 200001, Msg: "运输中，已从上海浦东分拨中心发出，下一站南京"},
				{Type: 200001, Msg: "已到达南京鼓楼区营业部"},
				{Type: 300002, Msg: "派送中，快递员正在为您派件"},
				{Type: 300003, Msg: "已签收，放在门口快递柜"},
			}},
	}
}

// demoGateway is the demo's push gateway: the real one, as `kfsidebar
// gateway` runs it, on a loopback port, with a simulated WeChat
// (push/wechattest) in front of it in safe mode. As on WeChat, a user's
// message reaches the simulated console's waiting list only when the
// gateway answers transfer_customer_service (Sender.OnTransfer). A small
// demo shop system behind it receives every push, so the status page
// shows a target at work.
type demoGateway struct {
	g      *gatewayServer
	sender *wechattest.Sender
	sim    *mpkftest.Server
	log    *slog.Logger
	// FeedToken is the demo workstation's token for the feed at
	// g.url + gatewayFeedPath: what a sidebar subscribes with.
	FeedToken string
	shop      *http.Server
	delivered atomic.Int64 // pushes the demo shop received
	parcels   []*demoParcel
	next      int // the next arrival
	tick      int
}

// startDemoGateway starts the gateway on listen, with its store in
// dataDir and the demo shop behind it. It serves once serve is called.
func startDemoGateway(ctx context.Context, dataDir, listen string, sim *mpkftest.Server, log *slog.Logger) (*demoGateway, error) {
	d := &demoGateway{sim: sim, log: log, FeedToken: randomHex(16), parcels: demoParcels()}
	shopLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("demo shop: %w", err)
	}
	d.shop = &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, io.LimitReader(r.Body, 1<<20))
		d.delivered.Add(1)
		w.WriteHeader(http.StatusNoContent)
	})}
	go d.shop.Serve(shopLn)
	cfg := DefaultGatewayConfig()
	cfg.DataDir, cfg.Listen = dataDir, listen
	cfg.Token, cfg.EncodingAESKey, cfg.AppID, cfg.OriginalID = demoToken, randomAlnum(43), demoAppID, demoOriginalID
	// A store of this run's own: the key is new each run, and a reply the
	// last run stored (the answer to a duplicate) was sealed with the old
	// one; the demo's message ids start again, too.
	cfg.Store = filepath.Join(dataDir, gatewayDBFile)
	for _, suffix := range []string{"", "-wal", "-shm"} {
		if err := os.Remove(cfg.Store + suffix); err != nil && !errors.Is(err, fs.ErrNotExist) {
			d.shop.Close()
			return nil, fmt.Errorf("demo gateway: %w", err)
		}
	}
	cfg.Targets = map[string]gatewayTarget{"demo-shop": {URL: "http://" + shopLn.Addr().String() + "/wechat-push", Secret: randomHex(16)}}
	cfg.Workstations = map[string]gatewayWorkstation{demoWorkstation: {Token: d.FeedToken}}
	setup := cfg.setup(func(string) string { return "" })
	if !setup.ok() {
		d.shop.Close()
		return nil, fmt.Errorf("demo gateway config: %v", setup.problems)
	}
	if d.g, err = startGateway(ctx, cfg, setup, log.With("component", "gateway")); err != nil {
		d.shop.Close()
		return nil, err
	}
	d.sender = &wechattest.Sender{
		URL:        d.g.url + cfg.Path,
		Account:    wechattest.Account{Token: cfg.Token, EncodingAESKey: cfg.EncodingAESKey, AppID: cfg.AppID, OriginalID: cfg.OriginalID},
		Mode:       wire.Safe,
		Format:     wire.XML,
		OnTransfer: d.transferred,
	}
	return d, nil
}

// serve runs the gateway and the demo's WeChat side until ctx ends:
// every interval a customer writes in or a parcel moves, in turn, the
// first customer at once.
func (d *demoGateway) serve(ctx context.Context, every time.Duration) error {
	defer d.shop.Close()
	ticking := make(chan struct{})
	go func() {
		defer close(ticking)
		if every <= 0 {
			return
		}
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			d.step(ctx)
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	err := d.g.serve(ctx)
	<-ticking
	return err
}

// step is one thing happening on WeChat's side.
func (d *demoGateway) step(ctx context.Context) {
	d.tick++
	var err error
	if d.tick%2 == 1 {
		err = d.arrive(ctx)
	} else {
		err = d.track(ctx)
	}
	if err != nil && ctx.Err() == nil {
		d.log.Warn("demo push failed", "err", err)
	}
}

// arrive has the next idle fan open the chat from a contact button and
// write: user_enter_tempsession with the session-from, then the text.
func (d *demoGateway) arrive(ctx context.Context) error {
	if d.next >= len(demoArrivals) {
		return nil // everyone came in once
	}
	a := demoArrivals[d.next]
	d.next++
	f, ok := demoFan(a.uin)
	if !ok {
		return nil
	}
	now := time.Now()
	if _, err := d.sender.Send(ctx, wechattest.EnterSession(f.OpenID, a.sessionFrom, now)); err != nil {
		return err
	}
	r, err := d.sender.Send(ctx, wechattest.Text(f.OpenID, a.text, now, wechattest.NextMsgID()))
	if err == nil && r.Invalid != nil {
		err = fmt.Errorf("WeChat would refuse the gateway's reply: %w", r.Invalid)
	}
	return err
}

// transferred is WeChat handing a message to the console: the user
// joins the waiting list with it.
func (d *demoGateway) transferred(p wechattest.Push, _ *wechattest.Result) {
	f, ok := demoFanByOpenID(p.OpenID)
	if !ok {
		return
	}
	d.sim.AddWaiting(f)
	for _, n := range p.Fields {
		if n.Name == "Content" {
			d.sim.SendFromFan(f.UIN, n.Text)
		}
	}
}

// track sends the next step of the next parcel that has one to go.
func (d *demoGateway) track(ctx context.Context) error {
	for range d.parcels {
		p := d.parcels[0]
		d.parcels = append(d.parcels[1:], p)
		if p.shown >= len(p.steps) {
			continue
		}
		now := time.Now()
		p.steps[p.shown].Time = now.Unix()
		p.shown++
		_, err := d.sender.Send(ctx, wechattest.ExpressPath(p.openid, p.delivery, p.waybill, p.order, int64(p.shown), p.steps[:p.shown], now))
		return err
	}
	return nil
}

func demoFan(uin int64) (mpkftest.Fan, bool) {
	for _, f := range mpkftest.Roster {
		if f.UIN == uin {
			return f, true
		}
	}
	return mpkftest.Fan{}, false
}

func demoFanByOpenID(openid string) (mpkftest.Fan, bool) {
	for _, f := range mpkftest.Roster {
		if f.OpenID == openid {
			return f, true
		}
	}
	return mpkftest.Fan{}, false
}

// FeedURL is the demo workstation's feed: a sidebar subscribes to it with
// FeedToken.
func (d *demoGateway) FeedURL() string { return d.g.url + gatewayFeedPath }

// print says where the demo's gateway is and what it shows.
func (d *demoGateway) print(w io.Writer, every time.Duration) {
	fmt.Fprintf(w, "  push gateway:   %s/  (status page: pushes per minute, transfers, the demo shop's deliveries)\n", d.g.url)
	if every <= 0 {
		fmt.Fprint(w, "                  (--gateway-every 0: the simulated WeChat sends nothing)\n")
		return
	}
	fmt.Fprintf(w, "                  a simulated WeChat posts to %s%s in safe mode: every %v a customer\n", d.g.url, d.g.cfg.Path, every)
	fmt.Fprint(w, "                  opens the chat from an order page (来源 order:…) and writes, and joins the\n"+
		"                  waiting list only because the gateway answered transfer_customer_service;\n"+
		"                  in between, a demo parcel moves (add_express_path, e.g. 林小满's SF1408812345672)\n")
	fmt.Fprintf(w, "  gateway feed:   %s  (workstation token %s)\n", d.FeedURL(), d.FeedToken)
}
