package sidebar

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/kfsidebar/kfsidebar/internal/kftest"
	"github.com/kfsidebar/kfsidebar/sidebar/quickreply"
	"github.com/kfsidebar/kfsidebar/sidebar/shop"
)

// The channel tests: what the hub does with a tab that asks a lot at once,
// one that sends garbage and one that stops reading.

// showRich selects Alice with everything masked and reads the answer, so
// that reveals have something to show.
func showRich(t *testing.T, conn *websocket.Conn, seq int64) {
	t.Helper()
	send(t, conn, request{Type: typeSelect, Seq: seq, Avatar: avatarAlice})
	expect(t, conn, message{Type: typeLoading, Seq: seq, OpenID: "oAlice"})
	if m := recv(t, conn); m.Type != typeCustomer || m.Seq != seq {
		t.Fatalf("got %s, want the customer", summary(m))
	}
}

// TestBurstIsAnsweredInFull sends 100 requests that are all answered at
// once (reveals and searches, then unknown types and picks without an
// offer) before reading any answer, as a page does after a reconnect or a
// script does in a loop: the hub must answer every one, in full, and keep
// the tab.
func TestBurstIsAnsweredInFull(t *testing.T) {
	const burst = 100
	backend := fakeBackend{lookup: customers(map[string]*shop.Customer{"oAlice": richCustomer}).lookup,
		search: func(context.Context, string, int) ([]shop.Customer, error) { return []shop.Customer{*custA}, nil }}
	th := newTestHub(t, HubOptions{Resolver: standardResolver(), Backend: backend, Reveals: &fakeReveals{},
		Logger: kftest.LevelLogger(t, slog.LevelInfo)})
	conn := th.dial(t)
	showRich(t, conn, 1)

	// Side requests first: a selection request (an unknown type counts as
	// one) takes the customer off the screen, and with it what a reveal
	// can show.
	side := []request{{Type: typeReveal, Field: "phone"}, {Type: typeSearch, Query: "Alice"},
		{Type: typeReveal, Field: "address:N1"}, {Type: typeReveal, Field: "extra:身份证"}}
	selection := []request{{Type: "explode"}, {Type: typePick, OpenID: "oNobody"}}
	want := map[int64]string{} // seq → the request's type
	var lastSearch int64
	start := time.Now()
	for i := range burst {
		req := side[i%len(side)]
		if i >= burst/2 {
			req = selection[i%len(selection)]
		}
		req.Seq = int64(10 + i)
		want[req.Seq] = req.Type
		if req.Type == typeSearch {
			lastSearch = req.Seq
		}
		if err := conn.WriteMessage(websocket.TextMessage, []byte(mustJSON(t, req))); err != nil {
			t.Fatalf("send request %d: %v", i, err)
		}
	}
	// A newer search supersedes a running one, which then never answers:
	// every other request, and the last search, must be answered.
	got := map[int64]int{}
	for !answeredAll(got, want, lastSearch) {
		conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		var m message
		if err := conn.ReadJSON(&m); err != nil {
			t.Fatalf("after %d answers to %d requests: %v", len(got), burst, err)
		}
		kind, ok := want[m.Seq]
		if !ok {
			t.Fatalf("answer %s to no request of the burst", summary(m))
		}
		got[m.Seq]++
		if got[m.Seq] > 1 {
			t.Fatalf("seq %d (%s) answered twice: %s", m.Seq, kind, summary(m))
		}
		switch kind {
		case "explode":
			if m.Type != typeError || m.Message != msgBadRequest {
				t.Errorf("unknown type answered with %s", summary(m))
			}
		case typePick:
			if m.Type != typeError || m.Message != msgBadPick {
				t.Errorf("pick answered with %s", summary(m))
			}
		case typeReveal:
			if m.Type != typeRevealed && (m.Type != typeError || m.Message != msgRevealTooFast) {
				t.Errorf("reveal answered with %s", summary(m))
			}
		case typeSearch:
			if m.Type != typeResults {
				t.Errorf("search answered with %s", summary(m))
			}
		}
	}
	t.Logf("%d requests answered in %v", burst, time.Since(start))
	if n := th.Clients(); n != 1 {
		t.Fatalf("Clients() = %d after the burst, want the tab still connected", n)
	}
	// The selection protocol goes on as before.
	send(t, conn, request{Type: typeSelect, Seq: 1000, Avatar: avatarNoOne})
	expect(t, conn, pendingMsg(1000), message{Type: typeUnknown, Seq: 1000, Reason: reasonNoSession})
}

func answeredAll(got map[int64]int, want map[int64]string, lastSearch int64) bool {
	for seq, kind := range want {
		if got[seq] == 0 && (kind != typeSearch || seq == lastSearch) {
			return false
		}
	}
	return true
}

// TestBadInputClosesWithAReason: a message the hub cannot take ends the
// connection with a close frame that says why, after the answers already
// queued, so the page (and whoever reads its console) can tell a protocol
// error from a network one.
func TestBadInputClosesWithAReason(t *testing.T) {
	tests := []struct {
		name string
		kind int
		data []byte
		code int
	}{
		{"too large", websocket.TextMessage, bytes.Repeat([]byte("x"), maxMessageSize+1), websocket.CloseMessageTooBig},
		{"much too large", websocket.TextMessage, bytes.Repeat([]byte("x"), 4*maxMessageSize), websocket.CloseMessageTooBig},
		{"binary", websocket.BinaryMessage, []byte(`{"type":"select","seq":1}`), websocket.CloseUnsupportedData},
		{"not json", websocket.TextMessage, []byte(`select 1`), websocket.ClosePolicyViolation},
		{"not an object", websocket.TextMessage, []byte(`[1, 2]`), websocket.ClosePolicyViolation},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			th := newTestHub(t, HubOptions{Resolver: standardResolver(), Backend: standardBackend()})
			conn := th.dial(t)
			// An answer queued just before the bad message still arrives.
			send(t, conn, request{Type: "explode", Seq: 1})
			if err := conn.WriteMessage(tt.kind, tt.data); err != nil {
				t.Fatal(err)
			}
			expect(t, conn, message{Type: typeError, Seq: 1, Message: msgBadRequest})
			conn.SetReadDeadline(time.Now().Add(10 * time.Second))
			_, _, err := conn.ReadMessage()
			var ce *websocket.CloseError
			if !errors.As(err, &ce) {
				t.Fatalf("read after a bad message: %v, want a close frame", err)
			}
			if ce.Code != tt.code || ce.Text == "" {
				t.Errorf("closed with %d %q, want %d and a reason", ce.Code, ce.Text, tt.code)
			}
			kftest.Poll(t, "the client to be removed", func() bool { return th.Clients() == 0 })
		})
	}
}

// TestStalledTabDoesNotSlowOthers: while one tab's writes are stalled (it
// stopped reading and large answers filled the socket buffers), quick
// replies and answers keep reaching the other tab at once, and the stalled
// tab is dropped at its write deadline.
func TestStalledTabDoesNotSlowOthers(t *testing.T) {
	big := &shop.Customer{OpenID: "oAlice", Name: "big", Note: strings.Repeat("备", 1<<20)} // 3 MB
	var lookups atomic.Int64
	backend := fakeBackend{lookup: func(_ context.Context, openid string) (*shop.Customer, error) {
		lookups.Add(1)
		return big, nil
	}}
	replies := &fakeReplies{groups: []quickreply.Group{{Name: "常用", Source: "local"}}}
	const writeWait = 2 * time.Second
	th := newTestHub(t, HubOptions{
		Resolver:     standardResolver(),
		Backend:      backend,
		QuickReplies: replies,
		// Debug logs of a 3 MB customer per round would drown the test log.
		Logger: kftest.LevelLogger(t, slog.LevelInfo),
	}, func(h *Hub) { h.writeWait = writeWait })
	stuck := th.dial(t) // asks for large answers and never reads them
	live := th.dial(t)
	if m := recv(t, live); m.Type != typeQuickReplies {
		t.Fatalf("first message %s, want the quick replies", summary(m))
	}
	deadline := time.Now().Add(30 * time.Second)
	for i := 1; th.Clients() == 2; i++ {
		if time.Now().After(deadline) {
			t.Fatalf("the stalled tab was not dropped after %d large answers", i)
		}
		if err := stuck.WriteJSON(request{Type: typeSelect, Seq: int64(i), Avatar: avatarAlice}); err != nil {
			break // dropped while we wrote
		}
		kftest.Poll(t, "the large lookup", func() bool { return lookups.Load() >= int64(i) || th.Clients() < 2 })

		start := time.Now()
		text := strings.Repeat("好", i)
		replies.set([]quickreply.Group{{Name: "常用", Source: "local", Replies: []quickreply.Reply{{ID: "1", Text: text}}}})
		m := recv(t, live)
		if m.Type != typeQuickReplies || len(m.Groups[0].Replies) != 1 || m.Groups[0].Replies[0].Text != text {
			t.Fatalf("round %d: got %s, want the new quick replies", i, summary(m))
		}
		send(t, live, request{Type: typePick, Seq: int64(i), OpenID: "oNobody"})
		expect(t, live, message{Type: typeError, Seq: int64(i), Message: msgBadPick})
		if d := time.Since(start); d > writeWait/2 {
			t.Fatalf("round %d reached the live tab after %v: it waited for the stalled one", i, d)
		}
	}
	kftest.Poll(t, "the stalled tab to be dropped", func() bool { return th.Clients() == 1 })
	send(t, live, request{Type: typeSelect, Seq: 1000, Avatar: avatarNoOne})
	expect(t, live, pendingMsg(1000), message{Type: typeUnknown, Seq: 1000, Reason: reasonNoSession})
}

// TestReaderIsNotDroppedForAFullQueue: a tab that reads all the time but
// slower than its answers come is never dropped, however many answers
// wait for it at a moment.
func TestReaderIsNotDroppedForAFullQueue(t *testing.T) {
	th := newTestHub(t, HubOptions{Resolver: standardResolver(), Backend: standardBackend(), SendBuffer: 2,
		Logger: kftest.LevelLogger(t, slog.LevelInfo)})
	conn := th.dial(t)
	const n = 300
	done := make(chan error, 1)
	go func() {
		for i := range n {
			if err := conn.WriteJSON(request{Type: "explode", Seq: int64(i + 1)}); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	for i := range n {
		if i%50 == 0 {
			time.Sleep(20 * time.Millisecond) // a slow reader, for a moment
		}
		m := recv(t, conn)
		if m.Seq != int64(i+1) || m.Message != msgBadRequest {
			t.Fatalf("answer %d: %s", i, summary(m))
		}
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if n := th.Clients(); n != 1 {
		t.Fatalf("Clients() = %d, want the reading tab connected", n)
	}
}

// testClock is a clock a test moves by hand.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func newTestClock() *testClock {
	return &testClock{t: time.Date(2026, 11, 22, 9, 30, 0, 0, time.UTC)}
}

func (c *testClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}
