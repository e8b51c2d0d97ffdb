package feed_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/kfsidebar/kfsidebar/push"
	"github.com/kfsidebar/kfsidebar/push/feed"
	"github.com/kfsidebar/kfsidebar/push/internal/pushtest"
)

// fakeSource is a feed store whose items appear when the test says, in
// any id order: what several instances committing at once look like.
type fakeSource func() []push.FeedItem

func (f fakeSource) FeedAfter(_ context.Context, after int64, since time.Time, limit int) ([]push.FeedItem, error) {
	var out []push.FeedItem
	for _, it := range f() {
		if it.ID > after && !it.Created.Before(since) {
			out = append(out, it)
		}
	}
	slices.SortFunc(out, func(a, b push.FeedItem) int { return int(a.ID - b.ID) })
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

// TestLateCommits: ids 1, 3 and 4 commit before 2 does, and 6 never does
// (rolled back); every event is sent exactly once, old ones not at all.
func TestLateCommits(t *testing.T) {
	clock := pushtest.NewClock(1_700_000_000)
	var (
		mu      sync.Mutex
		visible []push.FeedItem
	)
	item := func(id int64, ago time.Duration) push.FeedItem {
		d, _ := json.Marshal(push.FeedEvent{Kind: push.FeedSessionFrom, OpenID: "o", SessionFrom: "s"})
		return push.FeedItem{ID: id, Created: clock.Now().Add(-ago), Data: d}
	}
	commit := func(its ...push.FeedItem) {
		mu.Lock()
		defer mu.Unlock()
		visible = append(visible, its...)
	}
	src := fakeSource(func() []push.FeedItem {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(visible)
	})
	f, err := feed.New(feed.Config{Tokens: map[string]string{wsToken: "pc"}, Source: src, Now: clock.Now, TTL: time.Minute, Settle: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(f)
	defer hs.Close()
	after := int64(0)
	seen := map[int64]int{}
	poll := func() {
		req, _ := http.NewRequest("GET", hs.URL+"?wait=0&after="+itoa(after), nil)
		req.Header.Set("Authorization", "Bearer "+wsToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body struct {
			Events []push.FeedEvent
			After  int64
		}
		json.NewDecoder(resp.Body).Decode(&body)
		for _, ev := range body.Events {
			seen[ev.ID]++
		}
		after = body.After
	}
	commit(item(0, 2*time.Minute)) // expired: never sent
	commit(item(1, 0), item(3, 0), item(4, 0))
	poll()
	clock.Add(time.Second)
	commit(item(2, time.Second)) // committed late, below ids already sent
	poll()
	clock.Add(10 * time.Second)
	commit(item(5, 0))
	poll()
	poll()
	// A polling client drops repeats by id, as the doc says: count ids.
	want := []int64{1, 2, 3, 4, 5}
	var got []int64
	for id := range seen {
		got = append(got, id)
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("sent ids %v, want %v", got, want)
	}
	if after < 4 {
		t.Errorf("resume point %d, want past the settled ids", after)
	}
}

// TestLateCommitsWebsocket: over one websocket every event arrives exactly
// once, late commits included.
func TestLateCommitsWebsocket(t *testing.T) {
	clock := pushtest.NewClock(1_700_000_000)
	var (
		mu      sync.Mutex
		visible []push.FeedItem
	)
	commit := func(id int64) {
		d, _ := json.Marshal(push.FeedEvent{Kind: push.FeedSessionFrom, OpenID: "o", SessionFrom: "s"})
		mu.Lock()
		visible = append(visible, push.FeedItem{ID: id, Created: clock.Now(), Data: d})
		mu.Unlock()
	}
	src := fakeSource(func() []push.FeedItem {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(visible)
	})
	f, err := feed.New(feed.Config{Tokens: map[string]string{wsToken: "pc"}, Source: src, Now: clock.Now,
		TTL: time.Hour, Settle: 5 * time.Second, PollInterval: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(f)
	defer hs.Close()
	conn, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(hs.URL, "http"), http.Header{"Authorization": {"Bearer " + wsToken}})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetReadDeadline(time.Now().Add(15 * time.Second))
	readUntil := func(id int64) []int64 {
		var ids []int64
		for {
			var ev push.FeedEvent
			if err := conn.ReadJSON(&ev); err != nil {
				t.Fatalf("waiting for %d after %v: %v", id, ids, err)
			}
			ids = append(ids, ev.ID)
			if ev.ID == id {
				return ids
			}
		}
	}
	commit(1)
	commit(3)
	got := readUntil(3)
	clock.Add(time.Second)
	commit(2)
	got = append(got, readUntil(2)...)
	clock.Add(10 * time.Second) // everything so far is final
	commit(4)
	got = append(got, readUntil(4)...)
	clock.Add(10 * time.Second)
	commit(5)
	got = append(got, readUntil(5)...)
	if want := []int64{1, 3, 2, 4, 5}; !slices.Equal(got, want) {
		t.Errorf("received %v, want %v (each once)", got, want)
	}
}
