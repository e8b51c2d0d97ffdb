package feed_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/kfsidebar/kfsidebar/push"
	"github.com/kfsidebar/kfsidebar/push/feed"
	"github.com/kfsidebar/kfsidebar/push/store"
)

// slowSource is a store whose reads take a while and, like a database,
// stop when their context ends.
type slowSource struct{ feed.Source }

func (s slowSource) FeedAfter(ctx context.Context, after int64, since time.Time, limit int) ([]push.FeedItem, error) {
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-time.After(200 * time.Millisecond):
	}
	return s.Source.FeedAfter(ctx, after, since, limit)
}

// TestPollAnswersAreCompleteReads: a long poll's answer is a complete
// read, whatever the wait: wait=0 gives what is there, from the real
// store and from a slow one. A workstation takes an answer with fewer
// events than a batch as all there was.
func TestPollAnswersAreCompleteReads(t *testing.T) {
	st, err := store.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "gateway.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	now := time.Now()
	for i := range 3 {
		ev, _ := json.Marshal(push.FeedEvent{Kind: push.FeedSessionFrom, OpenID: "o", SessionFrom: "s", CreateTime: now.Unix()})
		if _, _, err := st.Accept(context.Background(), &push.Accepted{Key: "k" + strconv.Itoa(i), At: now, Feed: ev,
			Reply: push.Reply{ContentType: "text/plain", Body: []byte("success")}}); err != nil {
			t.Fatal(err)
		}
	}
	for name, src := range map[string]feed.Source{"sqlite": st, "slow": slowSource{st}} {
		f, err := feed.New(feed.Config{Tokens: map[string]string{wsToken: "pc"}, Source: src, Settle: time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(f)
		req, _ := http.NewRequest("GET", srv.URL+"?after=0&wait=0", nil)
		req.Header.Set("Authorization", "Bearer "+wsToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("%s: %v %v", name, err, resp)
		}
		var body struct {
			Events []push.FeedEvent
			After  int64
		}
		json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		srv.Close()
		if len(body.Events) != 3 {
			t.Errorf("%s, wait=0: %d events; want all 3", name, len(body.Events))
		}
	}
}
