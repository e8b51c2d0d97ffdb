package feed_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/kfsidebar/kfsidebar/internal/kftest"
	"github.com/kfsidebar/kfsidebar/push"
	"github.com/kfsidebar/kfsidebar/push/feed"
	"github.com/kfsidebar/kfsidebar/push/store"
	"github.com/kfsidebar/kfsidebar/push/wechattest"
	"github.com/kfsidebar/kfsidebar/push/wire"
)

const wsToken = "workstation-token-0001"

var account = wechattest.Account{Token: "feedToken1", EncodingAESKey: "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
	AppID: "wxba5fad812f8e6fb9", OriginalID: "gh_97417a04a28d"}

// stack is a gateway and its feed on one listener, as cmd will mount them.
type stack struct {
	url    string
	sender *wechattest.Sender
	feed   *feed.Feed
}

func startStack(t *testing.T) *stack {
	t.Helper()
	st, err := store.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "gateway.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	f, err := feed.New(feed.Config{Tokens: map[string]string{wsToken: "前台一号机"}, Source: st, PollInterval: 20 * time.Millisecond,
		Logger: kftest.Logger(t)})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := push.New(push.Config{Token: account.Token, EncodingAESKey: account.EncodingAESKey, AppID: account.AppID,
		OriginalID: account.OriginalID, OnFeed: f.Wake, Logger: kftest.Logger(t)}, st)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/wechat", srv)
	mux.Handle("/feed", f)
	hs := httptest.NewServer(mux)
	t.Cleanup(hs.Close)
	return &stack{url: hs.URL, feed: f,
		sender: &wechattest.Sender{URL: hs.URL + "/wechat", Account: account, Mode: wire.Safe, Format: wire.XML}}
}

func dial(t *testing.T, s *stack, query string, header http.Header) (*websocket.Conn, *http.Response, error) {
	t.Helper()
	if header == nil {
		header = http.Header{"Authorization": {"Bearer " + wsToken}}
	}
	return websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(s.url, "http")+"/feed"+query, header)
}

// TestWebsocketLive: a subscribed workstation sees 来源, a tracking update
// and a queued message as the pushes arrive, and nothing the sidebar has
// no use for.
func TestWebsocketLive(t *testing.T) {
	s := startStack(t)
	conn, _, err := dial(t, s, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	kftest.Poll(t, "the subscription", func() bool { return s.feed.Subscribers() == 1 })
	at := time.Now()
	for _, p := range []wechattest.Push{
		wechattest.EnterSession("oUserFeed", "order:202405010001", at),
		wechattest.RemindAccessAPI("oUserFeed", at), // not for the sidebar
		wechattest.ExpressPath("oUserFeed", "SF", "SF1234567890", "202405010001", 2, []wechattest.Action{
			{Time: at.Unix() - 60, Type: 100001, Msg: "揽件成功"}, {Time: at.Unix(), Type: 200001, Msg: "到达广州集包地"}}, at),
		wechattest.Text("oUserFeed", "在吗", at, wechattest.NextMsgID()),
	} {
		if r, err := s.sender.Send(context.Background(), p); err != nil || r.Status != 200 {
			t.Fatalf("%v %+v", err, r)
		}
	}
	var got []push.FeedEvent
	conn.SetReadDeadline(time.Now().Add(15 * time.Second))
	for len(got) < 3 {
		var ev push.FeedEvent
		if err := conn.ReadJSON(&ev); err != nil {
			t.Fatalf("after %d events: %v", len(got), err)
		}
		got = append(got, ev)
	}
	if got[0].Kind != push.FeedSessionFrom || got[0].SessionFrom != "order:202405010001" || got[0].OpenID != "oUserFeed" {
		t.Errorf("first event %+v, want 来源", got[0])
	}
	if l := got[1].Logistics; got[1].Kind != push.FeedLogistics || l == nil || l.WayBillID != "SF1234567890" || l.OrderID != "202405010001" || l.ActionMsg != "到达广州集包地" {
		t.Errorf("second event %+v %+v, want the latest tracking step", got[1], l)
	}
	if got[2].Kind != push.FeedMessage || got[2].Text != "在吗" || got[2].CreateTime != at.Unix() {
		t.Errorf("third event %+v, want the queued message", got[2])
	}
	if !(got[0].ID < got[1].ID && got[1].ID < got[2].ID) {
		t.Errorf("ids not increasing: %d %d %d", got[0].ID, got[1].ID, got[2].ID)
	}
	// Resuming after the first event gives the other two, once.
	conn2, _, err := dial(t, s, "?after="+itoa(got[0].ID), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn2.Close()
	conn2.SetReadDeadline(time.Now().Add(15 * time.Second))
	var ev push.FeedEvent
	if err := conn2.ReadJSON(&ev); err != nil || ev.ID != got[1].ID {
		t.Errorf("resumed at %+v, %v; want id %d", ev, err, got[1].ID)
	}
}

func itoa(n int64) string { b, _ := json.Marshal(n); return string(b) }

// TestRefused: no token, a wrong token, and a web page's request.
func TestRefused(t *testing.T) {
	s := startStack(t)
	for name, h := range map[string]http.Header{
		"no token":    {},
		"wrong token": {"Authorization": {"Bearer workstation-token-0002"}},
		"web page":    {"Authorization": {"Bearer " + wsToken}, "Origin": {"https://evil.example"}},
	} {
		_, resp, err := dial(t, s, "", h)
		if err == nil || resp == nil || (resp.StatusCode != 401 && resp.StatusCode != 403) {
			t.Errorf("%s: %v %v", name, err, resp)
		}
	}
	resp, err := http.Get(s.url + "/feed?wait=0")
	if err != nil || resp.StatusCode != 401 {
		t.Errorf("poll without a token: %v %v", err, resp)
	}
	resp.Body.Close()
}

// TestLongPoll serves the same events over plain HTTP.
func TestLongPoll(t *testing.T) {
	s := startStack(t)
	poll := func(query string) (events []push.FeedEvent, after int64) {
		req, _ := http.NewRequest("GET", s.url+"/feed"+query, nil)
		req.Header.Set("Authorization", "Bearer "+wsToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("poll: %v %v", err, resp)
		}
		defer resp.Body.Close()
		var body struct {
			Events []push.FeedEvent
			After  int64
		}
		if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
			t.Fatal(err)
		}
		return body.Events, body.After
	}
	if evs, _ := poll("?wait=0"); len(evs) != 0 {
		t.Errorf("empty feed: %+v", evs)
	}
	var (
		wg  sync.WaitGroup
		got []push.FeedEvent
	)
	wg.Go(func() { got, _ = poll("?wait=20") })
	kftest.Poll(t, "the long poll", func() bool { return s.feed.Subscribers() == 1 })
	s.sender.Send(context.Background(), wechattest.EnterSession("oUserPoll", "goods:A100", time.Now()))
	wg.Wait()
	if len(got) != 1 || got[0].SessionFrom != "goods:A100" {
		t.Errorf("long poll got %+v", got)
	}
}

// TestSubscriberCap refuses subscribers beyond MaxSubscribers.
func TestSubscriberCap(t *testing.T) {
	st, err := store.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "gateway.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	f, err := feed.New(feed.Config{Tokens: map[string]string{wsToken: "pc"}, Source: st, MaxSubscribers: 1})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(f)
	defer hs.Close()
	h := http.Header{"Authorization": {"Bearer " + wsToken}}
	c1, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(hs.URL, "http"), h)
	if err != nil {
		t.Fatal(err)
	}
	defer c1.Close()
	kftest.Poll(t, "the first subscriber", func() bool { return f.Subscribers() == 1 })
	if _, resp, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(hs.URL, "http"), h); err == nil || resp.StatusCode != 503 {
		t.Errorf("second subscriber: %v %v, want 503", err, resp)
	}
}

func TestNewRefuses(t *testing.T) {
	st := fakeSource(nil)
	for name, cfg := range map[string]feed.Config{
		"no source":   {Tokens: map[string]string{wsToken: "pc"}},
		"no tokens":   {Source: st},
		"short token": {Source: st, Tokens: map[string]string{"short": "pc"}},
	} {
		if _, err := feed.New(cfg); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
