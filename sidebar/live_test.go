package sidebar

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kfsidebar/kfsidebar/proxy/console"
	"github.com/kfsidebar/kfsidebar/sidebar/shop"
)

func TestSourcePatterns(t *testing.T) {
	srcs, err := NewSources([]SourcePattern{
		{"order:{order_no}", "从订单进入"},
		{"goods:{sku}", "从商品页进入"},
		{"live:{room}-{anchor}", "从直播间进入"},
		{"home", "从首页进入"},
	})
	if err != nil {
		t.Fatal(err)
	}
	at := time.Unix(1763346720, 0)
	tests := []struct {
		raw, label, fields string
	}{
		{"order:E202611171032150023", "从订单进入", "order_no=E202611171032150023"},
		{"goods:CUP-500", "从商品页进入", "sku=CUP-500"},
		{"live:88-小王-2", "从直播间进入", "room=88 anchor=小王-2"},
		{"home", "从首页进入", ""},
		{"homepage", "", ""},
		{"order:", "", ""},
		{"ORDER:1", "", ""},
		{"{order_no}", "", ""},
	}
	for _, tt := range tests {
		info := srcs.read(tt.raw, at)
		var fields []string
		for _, f := range info.Fields {
			fields = append(fields, f.Name+"="+f.Value)
		}
		if info.Raw != tt.raw || info.Label != tt.label || strings.Join(fields, " ") != tt.fields || !info.At.Equal(at) {
			t.Errorf("read(%q) = %+v, want label %q fields %q", tt.raw, info, tt.label, tt.fields)
		}
	}
	if info := (*Sources)(nil).read("order:1", at); info.Raw != "order:1" || info.Label != "" {
		t.Errorf("no patterns: %+v", info)
	}

	for _, bad := range []SourcePattern{
		{"", "x"},
		{"order:{order_no}", ""},
		{"order:{Order-No}", "x"},
		{"{a}{b}", "x"},
		{"{a}-{a}", "x"},
		{"order:{order_no", "x"},
		{"order}:{order_no}", "x"},
	} {
		if _, err := NewSources([]SourcePattern{bad}); err == nil {
			t.Errorf("NewSources(%+v) accepted", bad)
		}
	}
}

func TestTrackingMatches(t *testing.T) {
	step := time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC)
	u := TrackingUpdate{WayBillID: "SF1234567890", OrderID: "2026112200001", ActionTime: step, ActionMsg: "到达广州集包地", Version: "3"}
	tests := []struct {
		name  string
		order shop.Order
		want  bool
	}{
		{"the waybill", shop.Order{OrderNo: "X", TrackingNo: "sf1234567890 "}, true},
		{"another parcel of the same order", shop.Order{OrderNo: "2026112200001", TrackingNo: "SF0000000000"}, false},
		{"no waybill yet, the order number", shop.Order{OrderNo: "2026112200001"}, true},
		{"no waybill, another order", shop.Order{OrderNo: "2026112200002"}, false},
	}
	for _, tt := range tests {
		if got := u.matches(tt.order); got != tt.want {
			t.Errorf("%s: matches = %v, want %v", tt.name, got, tt.want)
		}
	}
	if (TrackingUpdate{WayBillID: "W"}).matches(shop.Order{OrderNo: ""}) {
		t.Error("an update without an order id matches an order without a number")
	}
	older := u
	older.ActionTime = step.Add(-time.Hour)
	sameTimeLower := u
	sameTimeLower.Version = "2"
	if !u.newer(older) || older.newer(u) || !u.newer(sameTimeLower) || sameTimeLower.newer(u) || u.newer(u) {
		t.Error("newer does not order by step time, then version")
	}
}

// liveCustomer has an order with a waybill, one without, and one
// delivered long ago.
var liveCustomer = &shop.Customer{OpenID: "oAlice", Name: "Alice Wang", Orders: []shop.Order{
	{OrderNo: "2026112200001", Status: "shipped", TrackingNo: "SF1234567890", TrackingEvent: "已揽件",
		TrackingAt: ptr(time.Date(2026, 11, 21, 8, 0, 0, 0, time.UTC)), Refund: shop.Refund{Status: "none"}},
	{OrderNo: "2026112200002", Status: "paid", Refund: shop.Refund{Status: "none"}},
}}

// TestSourceAndTrackingMessages: a 来源 arriving for the user on screen
// is sent at once, and again after every answer naming them; a tracking
// push updates the matching order of the customer on screen and only
// that, never twice, never older, and later answers carry it.
func TestSourceAndTrackingMessages(t *testing.T) {
	srcs, err := NewSources([]SourcePattern{{"order:{order_no}", "从订单进入"}})
	if err != nil {
		t.Fatal(err)
	}
	var lookups atomic.Int32
	backend := fakeBackend{lookup: func(_ context.Context, openid string) (*shop.Customer, error) {
		lookups.Add(1)
		switch openid {
		case "oAlice":
			return liveCustomer, nil
		case "oGhost":
			return nil, shop.ErrNotFound
		}
		return nil, shop.ErrNotFound
	}}
	th := newTestHub(t, HubOptions{Resolver: standardResolver(), Backend: backend, Sources: srcs})
	conn := th.dial(t)
	at := time.Now().Add(-time.Minute).Truncate(time.Second)

	send(t, conn, request{Type: typeSelect, Seq: 1, Avatar: avatarAlice, Nickname: "爱丽丝"})
	expect(t, conn, message{Type: typeLoading, Seq: 1, OpenID: "oAlice"}, message{Type: typeCustomer, Seq: 1, OpenID: "oAlice", Nickname: "爱丽丝", Customer: liveCustomer})

	th.SessionFrom("oAlice", "order:2026112200002", at)
	th.SessionFrom("oSomeoneElse", "order:1", at) // nobody shows them
	m := recv(t, conn)
	if m.Type != typeSource || m.Seq != 1 || m.OpenID != "oAlice" || m.Source == nil || m.Source.Label != "从订单进入" ||
		len(m.Source.Fields) != 1 || m.Source.Fields[0] != (sourceField{"order_no", "2026112200002"}) || !m.Source.At.Equal(at) {
		t.Fatalf("got %+v (source %+v), want the 来源", m, m.Source)
	}

	// The waybill's step, then an older one (ignored), then the order
	// without a waybill by its number.
	th.Tracking(TrackingUpdate{WayBillID: "SF1234567890", OrderID: "internal-77", ActionTime: at, ActionMsg: "到达广州集包地", Version: "2"})
	th.Tracking(TrackingUpdate{WayBillID: "SF1234567890", ActionTime: at.Add(-time.Hour), ActionMsg: "揽件成功", Version: "1"})
	th.Tracking(TrackingUpdate{WayBillID: "YT555", OrderID: "2026112200002", ActionTime: at, ActionMsg: "已发货"})
	th.Tracking(TrackingUpdate{WayBillID: "ZT999", OrderID: "2026112299999", ActionTime: at, ActionMsg: "别人的"})
	for _, want := range []trackingInfo{
		{OrderNo: "2026112200001", TrackingNo: "SF1234567890", Event: "到达广州集包地", At: at},
		{OrderNo: "2026112200002", TrackingNo: "YT555", Event: "已发货", At: at},
	} {
		m := recv(t, conn)
		if m.Type != typeTracking || m.Seq != 1 || m.OpenID != "oAlice" || m.Tracking == nil ||
			m.Tracking.OrderNo != want.OrderNo || m.Tracking.TrackingNo != want.TrackingNo || m.Tracking.Event != want.Event || !m.Tracking.At.Equal(want.At) {
			t.Fatalf("got %+v (tracking %+v), want %+v", m, m.Tracking, want)
		}
	}
	if n := lookups.Load(); n != 1 {
		t.Errorf("%d lookups: a tracking push must not ask the shop", n)
	}

	// Selecting the chat again: the customer carries the live steps, then
	// the 来源 follows.
	send(t, conn, request{Type: typeSelect, Seq: 2, Avatar: avatarAlice, Nickname: "爱丽丝"})
	got := expect(t, conn, message{Type: typeLoading, Seq: 2, OpenID: "oAlice"}, message{Type: typeCustomer, Seq: 2, OpenID: "oAlice", Nickname: "爱丽丝", Customer: liveCustomer})
	orders := got[1].Customer.Orders
	if orders[0].TrackingEvent != "到达广州集包地" || !orders[0].TrackingAt.Equal(at) || orders[1].TrackingEvent != "已发货" || orders[1].TrackingNo != "YT555" {
		t.Errorf("orders after the pushes: %+v", orders)
	}
	if liveCustomer.Orders[0].TrackingEvent != "已揽件" || liveCustomer.Orders[1].TrackingNo != "" {
		t.Error("the backend's customer was changed")
	}
	if m := recv(t, conn); m.Type != typeSource || m.Seq != 2 || m.Source.Raw != "order:2026112200002" {
		t.Fatalf("got %+v, want the 来源 after the customer", m)
	}

	// The same step again is no news; a user not in the shop gets the
	// 来源 too.
	th.Tracking(TrackingUpdate{WayBillID: "SF1234567890", ActionTime: at, ActionMsg: "到达广州集包地", Version: "2"})
	th.SessionFrom("oGhost", "goods:CUP-500", at)
	send(t, conn, request{Type: typeSelect, Seq: 3, Avatar: avatarGhost})
	expect(t, conn, message{Type: typeLoading, Seq: 3, OpenID: "oGhost"}, message{Type: typeUnknown, Seq: 3, Reason: reasonNotInShop, OpenID: "oGhost"})
	if m := recv(t, conn); m.Type != typeSource || m.Seq != 3 || m.Source.Raw != "goods:CUP-500" || m.Source.Label != "" {
		t.Fatalf("got %+v, want the unmatched 来源", m)
	}
}

// TestQueuedIdentity: the resolver's queued-message evidence reaches the
// page as identity queued.
func TestQueuedIdentity(t *testing.T) {
	rec := record("oAlice", "爱丽丝", avatarAlice)
	res := &fakeResolver{resolve: func(console.Query) console.Resolution {
		return console.Resolution{Record: &rec, Evidence: console.EvidenceQueued, Candidates: []console.Record{rec}}
	}}
	th := newTestHub(t, HubOptions{Resolver: res, Backend: standardBackend()})
	conn := th.dial(t)
	send(t, conn, request{Type: typeSelect, Seq: 1, UIN: "3000000001", Avatar: avatarAlice})
	expect(t, conn, message{Type: typeLoading, Seq: 1, OpenID: "oAlice", Identity: identityQueued},
		message{Type: typeCustomer, Seq: 1, OpenID: "oAlice", Nickname: "爱丽丝", Customer: custA, Identity: identityQueued})
}
