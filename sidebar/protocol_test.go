package sidebar

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/kfsidebar/kfsidebar/proxy/console"
	"github.com/kfsidebar/kfsidebar/sidebar/quickreply"
	"github.com/kfsidebar/kfsidebar/sidebar/shop"
)

// fakeBindings is a BindingStore in a map; fail makes every call fail.
type fakeBindings struct {
	mu   sync.Mutex
	m    map[string]string
	fail error
}

func newFakeBindings() *fakeBindings { return &fakeBindings{m: map[string]string{}} }

func (f *fakeBindings) Bind(_ context.Context, key, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil {
		return f.fail
	}
	f.m[key] = id
	return nil
}

func (f *fakeBindings) Unbind(_ context.Context, key string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil {
		return f.fail
	}
	delete(f.m, key)
	return nil
}

func (f *fakeBindings) Lookup(_ context.Context, key string) (string, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil {
		return "", false, f.fail
	}
	id, ok := f.m[key]
	return id, ok, nil
}

func (f *fakeBindings) snapshot() map[string]string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string]string{}
	for k, v := range f.m {
		out[k] = v
	}
	return out
}

// fakeReveals records reveals; fail makes Record fail.
type fakeReveals struct {
	mu   sync.Mutex
	got  []string // "subject field"
	fail error
}

func (f *fakeReveals) Record(_ context.Context, subject, field string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil {
		return f.fail
	}
	f.got = append(f.got, subject+" "+field)
	return nil
}

func (f *fakeReveals) records() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.got...)
}

// fakeReplies is a QuickReplySource whose groups a test changes.
type fakeReplies struct {
	fakeResolver // for its Subscribe and signal
	mu           sync.Mutex
	groups       []quickreply.Group
}

func (f *fakeReplies) Groups(context.Context) ([]quickreply.Group, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.groups, nil
}

func (f *fakeReplies) set(g []quickreply.Group) {
	f.mu.Lock()
	f.groups = g
	f.mu.Unlock()
	f.signal()
}

// freshBackend is a Backend that is also a Fresher and a HealthReporter.
type freshBackend struct {
	fakeBackend
	result func(openid string) shop.Result
	health func() shop.Health
}

func (f freshBackend) LookupResult(_ context.Context, openid string) shop.Result {
	return f.result(openid)
}
func (f freshBackend) Health() shop.Health { return f.health() }

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// raw reads the next message as JSON text, to check what is on the wire.
func raw(t *testing.T, conn *websocket.Conn) string {
	t.Helper()
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, data, err := conn.ReadMessage()
	if err != nil {
		t.Fatalf("receive: %v", err)
	}
	return string(data)
}

// richCustomer has everything that is masked.
var richCustomer = &shop.Customer{OpenID: "oAlice", Name: "Alice Wang", Phone: "13812345678",
	Extra: []shop.Extra{{Label: "身份证", Value: "330106199001011234", Mask: true}},
	Orders: []shop.Order{{OrderNo: "N1", Status: "shipped", AmountFen: 100, Items: []shop.Item{{Title: "杯", Qty: 1}},
		Address: "浙江省杭州市西湖区文三路398号 林小满 收"}}}

func TestCustomerIsMaskedAndRevealed(t *testing.T) {
	reveals := &fakeReveals{}
	clock := newTestClock()
	th := newTestHub(t, HubOptions{Resolver: standardResolver(),
		Backend: customers(map[string]*shop.Customer{"oAlice": richCustomer}), Reveals: reveals},
		func(h *Hub) { h.now = clock.now })
	conn := th.dial(t)
	send(t, conn, request{Type: typeSelect, Seq: 1, Avatar: avatarAlice})
	expect(t, conn, message{Type: typeLoading, Seq: 1, OpenID: "oAlice"})
	wire := raw(t, conn)
	for _, secret := range []string{"13812345678", "文三路", "林小满", "330106199001011234"} {
		if strings.Contains(wire, secret) {
			t.Errorf("the customer message carries %q: %s", secret, wire)
		}
	}
	var m message
	if err := json.Unmarshal([]byte(wire), &m); err != nil {
		t.Fatal(err)
	}
	if want := []string{"phone", "extra:身份证", "address:N1"}; !reflect.DeepEqual(m.Masked, want) {
		t.Errorf("masked = %v, want %v", m.Masked, want)
	}
	if m.Customer.Phone != "138****5678" || m.Customer.Orders[0].Address != "浙江省杭州市西湖区****" || m.FetchedAt == nil {
		t.Errorf("customer = %+v, fetched_at %v", m.Customer, m.FetchedAt)
	}
	if richCustomer.Phone != "13812345678" {
		t.Fatal("the backend's customer was changed")
	}

	tests := []struct {
		field string
		want  message
	}{
		{"phone", message{Type: typeRevealed, Field: "phone", Value: "13812345678"}},
		{"address:N1", message{Type: typeRevealed, Field: "address:N1", Value: "浙江省杭州市西湖区文三路398号 林小满 收"}},
		{"extra:身份证", message{Type: typeRevealed, Field: "extra:身份证", Value: "330106199001011234"}},
		{"address:N2", message{Type: typeError, Field: "address:N2", Message: msgBadReveal}},
		{"name", message{Type: typeError, Field: "name", Message: msgBadReveal}},
	}
	for i, tt := range tests {
		seq := int64(10 + i)
		send(t, conn, request{Type: typeReveal, Seq: seq, Field: tt.field})
		tt.want.Seq = seq
		expect(t, conn, tt.want)
	}
	if got, want := reveals.records(), []string{"oAlice phone", "oAlice address:N1", "oAlice extra:身份证"}; !reflect.DeepEqual(got, want) {
		t.Errorf("recorded %v, want %v", got, want)
	}

	// A reveal that cannot be recorded is refused (a minute later: within
	// it, the phone was recorded already).
	clock.add(revealWindow)
	reveals.mu.Lock()
	reveals.fail = errors.New("disk full")
	reveals.mu.Unlock()
	send(t, conn, request{Type: typeReveal, Seq: 20, Field: "phone"})
	expect(t, conn, message{Type: typeError, Seq: 20, Field: "phone", Message: msgRevealFailed})

	// Another selection: nothing of Alice can be revealed any more.
	send(t, conn, request{Type: typeSelect, Seq: 21, Avatar: avatarNoOne})
	expect(t, conn, pendingMsg(21), message{Type: typeUnknown, Seq: 21, Reason: reasonNoSession})
	send(t, conn, request{Type: typeReveal, Seq: 22, Field: "phone"})
	expect(t, conn, message{Type: typeError, Seq: 22, Field: "phone", Message: msgBadReveal})
}

func TestSearchBindUnbind(t *testing.T) {
	inShop := map[string]*shop.Customer{
		"oAlice": {OpenID: "oAlice", Name: "王爱丽", Phone: "13812345678", Level: "金卡"},
		"c-42":   {ID: "c-42", Name: "王小二", Phone: "13900001111"},
	}
	backend := fakeBackend{
		lookup: customers(inShop).lookup,
		search: func(_ context.Context, q string, limit int) ([]shop.Customer, error) {
			if limit != searchLimit {
				t.Errorf("search limit %d, want %d", limit, searchLimit)
			}
			if q == "boom" {
				return nil, errors.New("shop api: 500")
			}
			var out []shop.Customer
			for _, id := range []string{"oAlice", "c-42"} {
				if c := inShop[id]; strings.Contains(c.Name, q) {
					out = append(out, *c)
				}
			}
			return out, nil
		},
	}
	table := newAvatarTable(map[string]console.Resolution{})
	res := &fakeResolver{resolve: table.resolve}
	bindings := newFakeBindings()
	th := newTestHub(t, HubOptions{Resolver: res, Backend: backend, Bindings: bindings})
	conn := th.dial(t)

	sel := request{Type: typeSelect, Seq: 1, UIN: "4242", Avatar: avatarNoOne, Nickname: "陌生人"}
	send(t, conn, sel)
	expect(t, conn, pendingMsg(1), message{Type: typeUnknown, Seq: 1, Reason: reasonNoSession})

	// Binding needs a search result first.
	send(t, conn, request{Type: typeBind, Seq: 2, CustomerID: "c-42"})
	expect(t, conn, message{Type: typeError, Seq: 2, Message: msgBadBind})

	send(t, conn, request{Type: typeSearch, Seq: 3, Query: "  王 "})
	var got message
	if err := json.Unmarshal([]byte(raw(t, conn)), &got); err != nil {
		t.Fatal(err)
	}
	want := []searchHit{{ID: "oAlice", OpenID: "oAlice", Name: "王爱丽", Phone: "138****5678", Level: "金卡"},
		{ID: "c-42", Name: "王小二", Phone: "139****1111"}}
	if got.Type != typeResults || got.Seq != 3 || got.Query != "王" || !reflect.DeepEqual(got.Customers, want) {
		t.Fatalf("search answer %+v, want results %+v", got, want)
	}
	send(t, conn, request{Type: typeSearch, Seq: 4, Query: "nobody"})
	if w := raw(t, conn); !strings.Contains(w, `"customers":[]`) {
		t.Errorf("empty results %s, want customers: []", w)
	}
	send(t, conn, request{Type: typeSearch, Seq: 5, Query: "boom"})
	expect(t, conn, message{Type: typeError, Seq: 5, Message: msgSearchFailed})
	// The last search found nobody: its results are what bind accepts.
	send(t, conn, request{Type: typeBind, Seq: 6, CustomerID: "c-42"})
	expect(t, conn, message{Type: typeError, Seq: 6, Message: msgBadBind})

	send(t, conn, request{Type: typeSearch, Seq: 7, Query: "小二"})
	raw(t, conn)
	send(t, conn, request{Type: typeBind, Seq: 8, CustomerID: "c-42"})
	expect(t, conn,
		message{Type: typeLoading, Seq: 8},
		message{Type: typeCustomer, Seq: 8, Nickname: "陌生人", Customer: inShop["c-42"], Bound: true})
	if got := bindings.snapshot(); !reflect.DeepEqual(got, map[string]string{"uin:4242": "c-42"}) {
		t.Errorf("bindings = %v", got)
	}

	// Selecting the chat again shows the bound customer at once.
	sel.Seq = 9
	send(t, conn, sel)
	expect(t, conn,
		message{Type: typeLoading, Seq: 9},
		message{Type: typeCustomer, Seq: 9, Nickname: "陌生人", Customer: inShop["c-42"], Bound: true})

	// The openid becomes known: the binding made by uin still holds.
	table.set(avatarNoOne, known(record("oStranger", "陌生人", avatarNoOne)))
	sel.Seq = 10
	send(t, conn, sel)
	expect(t, conn,
		message{Type: typeLoading, Seq: 10, OpenID: "oStranger"},
		message{Type: typeCustomer, Seq: 10, OpenID: "oStranger", Nickname: "陌生人", Customer: inShop["c-42"], Bound: true})

	// Undo: every key of the chat is forgotten and the chat resolved again.
	send(t, conn, request{Type: typeUnbind, Seq: 11})
	expect(t, conn,
		message{Type: typeLoading, Seq: 11, OpenID: "oStranger"},
		message{Type: typeUnknown, Seq: 11, Reason: reasonNotInShop, OpenID: "oStranger"})
	if got := bindings.snapshot(); len(got) != 0 {
		t.Errorf("bindings after unbind = %v", got)
	}

	// Now the chat is bound by its openid.
	send(t, conn, request{Type: typeSearch, Seq: 12, Query: "爱丽"})
	raw(t, conn)
	send(t, conn, request{Type: typeBind, Seq: 13, CustomerID: "oAlice"})
	expect(t, conn,
		message{Type: typeLoading, Seq: 13, OpenID: "oStranger"},
		message{Type: typeCustomer, Seq: 13, OpenID: "oStranger", Nickname: "陌生人", Customer: inShop["oAlice"], Bound: true})
	if got := bindings.snapshot(); !reflect.DeepEqual(got, map[string]string{"oStranger": "oAlice"}) {
		t.Errorf("bindings = %v", got)
	}

	// A store that fails: the agent is told, and lookups fall back to the
	// automatic match.
	bindings.mu.Lock()
	bindings.fail = errors.New("database is locked")
	bindings.mu.Unlock()
	send(t, conn, request{Type: typeUnbind, Seq: 14})
	expect(t, conn, message{Type: typeError, Seq: 14, Message: msgBindFailed})
	sel.Seq = 15
	send(t, conn, sel)
	expect(t, conn,
		message{Type: typeLoading, Seq: 15, OpenID: "oStranger"},
		message{Type: typeUnknown, Seq: 15, Reason: reasonNotInShop, OpenID: "oStranger"})
}

func TestBindRefused(t *testing.T) {
	tests := []struct {
		name     string
		bindings BindingStore
		sel      request
		want     string
	}{
		{"no store", nil, request{Type: typeSelect, Seq: 1, UIN: "1"}, msgNoBindings},
		// Two users share the avatar and the page gave no uin: binding
		// the avatar would bind both.
		{"shared avatar", newFakeBindings(), request{Type: typeSelect, Seq: 1, Avatar: avatarTwins}, msgCannotBind},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			backend := fakeBackend{lookup: standardBackend().lookup,
				search: func(context.Context, string, int) ([]shop.Customer, error) { return []shop.Customer{*custA}, nil }}
			th := newTestHub(t, HubOptions{Resolver: standardResolver(), Backend: backend, Bindings: tt.bindings})
			conn := th.dial(t)
			send(t, conn, tt.sel)
			recv(t, conn)
			send(t, conn, request{Type: typeSearch, Seq: 2, Query: "Alice"})
			recv(t, conn)
			send(t, conn, request{Type: typeBind, Seq: 3, CustomerID: "oAlice"})
			expect(t, conn, message{Type: typeError, Seq: 3, Message: tt.want})
		})
	}
}

func TestQuickRepliesPushed(t *testing.T) {
	replies := &fakeReplies{groups: []quickreply.Group{{Name: "常用", Source: "local", Replies: []quickreply.Reply{{ID: "1", Text: "您好"}}}}}
	th := newTestHub(t, HubOptions{Resolver: standardResolver(), Backend: standardBackend(), QuickReplies: replies})
	a := th.dial(t)
	b := th.dial(t)
	for _, conn := range []*websocket.Conn{a, b} {
		m := recv(t, conn)
		if m.Type != typeQuickReplies || len(m.Groups) != 1 || m.Groups[0].Replies[0].Text != "您好" {
			t.Fatalf("first message %+v, want the quick replies", m)
		}
	}
	replies.set([]quickreply.Group{
		{Name: "常用", Source: "local", Replies: []quickreply.Reply{{ID: "1", Text: "您好，{nickname}"}}},
		{Name: "控制台", Source: "console", Replies: []quickreply.Reply{{ID: "c1", Text: "稍等"}}},
	})
	for _, conn := range []*websocket.Conn{a, b} {
		m := recv(t, conn)
		if m.Type != typeQuickReplies || len(m.Groups) != 2 || m.Groups[1].Source != "console" {
			t.Fatalf("after a change got %+v, want the new quick replies", m)
		}
	}
	// Quick replies are not an answer: the selection protocol goes on.
	send(t, a, request{Type: typeSelect, Seq: 1, Avatar: avatarNoOne})
	expect(t, a, pendingMsg(1), message{Type: typeUnknown, Seq: 1, Reason: reasonNoSession})
	replies.set(nil)
	if w := raw(t, b); w != `{"type":"quick_replies","seq":0,"groups":[]}` {
		t.Errorf("no groups: %s", w)
	}
}

func TestFreshnessAndHealth(t *testing.T) {
	fetched := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	retry := time.Date(2026, 11, 20, 10, 0, 30, 0, time.UTC)
	tests := []struct {
		name        string
		result      shop.Result
		health      shop.Health
		want        message
		wantFetched *time.Time
		wantHealth  *healthInfo
	}{
		{"fresh", shop.Result{Customer: custA, FetchedAt: fetched}, shop.Health{State: "ok"},
			message{Type: typeCustomer, Seq: 1, OpenID: "oAlice", Nickname: "爱丽丝", Customer: custA}, &fetched, nil},
		{"stale", shop.Result{Customer: custA, FetchedAt: fetched, Err: errors.New("shop api: 502")},
			shop.Health{State: "degraded", LastError: "shop api: 502"},
			message{Type: typeCustomer, Seq: 1, OpenID: "oAlice", Nickname: "爱丽丝", Customer: custA, Stale: true, Error: msgStale},
			&fetched, &healthInfo{State: "degraded"}},
		{"circuit open", shop.Result{Err: errors.New("circuit open")}, shop.Health{State: "open", RetryAt: retry},
			message{Type: typeError, Seq: 1, Message: msgUnavailable}, nil, &healthInfo{State: "open", RetryAt: &retry}},
		{"not found", shop.Result{Err: fmt.Errorf("lookup: %w", shop.ErrNotFound)}, shop.Health{State: "ok"},
			message{Type: typeUnknown, Seq: 1, Reason: reasonNotInShop, OpenID: "oAlice"}, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			backend := freshBackend{
				fakeBackend: fakeBackend{lookup: func(context.Context, string) (*shop.Customer, error) {
					t.Error("Lookup called on a Fresher")
					return nil, shop.ErrNotFound
				}},
				result: func(string) shop.Result { return tt.result },
				health: func() shop.Health { return tt.health },
			}
			th := newTestHub(t, HubOptions{Resolver: standardResolver(), Backend: backend})
			conn := th.dial(t)
			send(t, conn, request{Type: typeSelect, Seq: 1, Avatar: avatarAlice})
			got := expect(t, conn, message{Type: typeLoading, Seq: 1, OpenID: "oAlice"}, tt.want)[1]
			if !reflect.DeepEqual(got.FetchedAt, tt.wantFetched) {
				t.Errorf("fetched_at = %v, want %v", got.FetchedAt, tt.wantFetched)
			}
			if !reflect.DeepEqual(got.Health, tt.wantHealth) {
				t.Errorf("health = %+v, want %+v", got.Health, tt.wantHealth)
			}
		})
	}
}
