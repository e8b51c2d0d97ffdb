package chats

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"

	"github.com/kfsidebar/kfsidebar/internal/sqlitedb"
	"github.com/kfsidebar/kfsidebar/proxy/console"
)

// identityUser is a chat user of the property test's world.
type identityUser struct {
	openid, uin string
	avatar      string // JSON form; "" for none
	nickname    string
}

// pageAvatar is the avatar as the page's <img src> shows it.
func (u identityUser) pageAvatar() string {
	if u.avatar == "" {
		return ""
	}
	return "https://wx.qlogo.cn/" + u.avatar[len("http://wx.qlogo.cn/"):] + "/132"
}

// identityWorld makes the users of one run. Their looks follow the one
// assumption Resolve's doc comment states: a picture of one's own is
// unique; WeChat's default picture, or none, comes with the default
// nickname or with a nickname of one's own. Nicknames of users with a
// picture of their own may repeat freely.
func identityWorld(r *rand.Rand) []identityUser {
	const defaultAvatar = "http://wx.qlogo.cn/mmhead/DEFAULT"
	n := 2 + r.IntN(14)
	users := make([]identityUser, n)
	for i := range users {
		u := identityUser{openid: fmt.Sprintf("o%03d", i), uin: fmt.Sprint(3000000000 + i)}
		switch r.IntN(4) {
		case 0, 1: // a picture of their own; a nickname that may repeat
			u.avatar = fmt.Sprintf("http://wx.qlogo.cn/mmhead/PIC%03d", i)
			u.nickname = []string{"微信用户", "小王", "Tom", fmt.Sprintf("user%d", i)}[r.IntN(4)]
		case 2: // the default picture
			u.avatar = defaultAvatar
			u.nickname = []string{"微信用户", fmt.Sprintf("默认%d", i)}[r.IntN(2)]
		default: // no picture
			u.nickname = []string{"微信用户", fmt.Sprintf("无图%d", i)}[r.IntN(2)]
		}
		users[i] = u
	}
	return users
}

// TestResolveNeverNamesAnotherUser is the resolver's invariant as a
// property: over random worlds and random event orders (records learned
// late, partly, or never; sightings that expire; cards with and without a
// fans_uin; the console's history request seen or not; look-alike cards on
// the page; users queueing with messages many users send and messages of
// their own, pushes whose time is off by up to queuedSkew, pushes
// repeated, a feed that drops and loses what expired meanwhile, the
// waiting list seen partly), Resolve never answers with a user other than
// the chat's own.
// It also checks that the strong evidence is used: a card whose uin, or
// whose history request, names a live record is resolved to it.
func TestResolveNeverNamesAnotherUser(t *testing.T) {
	const worlds = 300
	const ttl = time.Hour
	resolved, asked, byQueue := 0, 0, 0
	for seed := range uint64(worlds) {
		r := rand.New(rand.NewPCG(seed, 0x1d))
		clock := &sessClock{t: sessT0}
		db, err := sqlitedb.Open(context.Background(), filepath.Join(t.TempDir(), fmt.Sprintf("w%d.db", seed)))
		if err != nil {
			t.Fatal(err)
		}
		s, err := Open(context.Background(), db, Options{TTL: ttl, Now: clock.Now})
		if err != nil {
			t.Fatal(err)
		}
		users := identityWorld(r)
		learnedAt := map[string]time.Time{} // openid → last sighting with its uin
		queue := &queuedWorld{r: r, s: s, users: users, open: map[string]bool{}, latest: map[string]console.WaitingMessage{}}
		for step := range 150 {
			clock.Set(clock.Now().Add(time.Second))
			switch ev := r.IntN(20); {
			case ev < 10: // users queue, the feed delivers their pushes, the proxy scans the waiting list
				queue.step(clock.Now())
				if bad := queue.wrongLink(); bad != "" {
					t.Fatalf("seed %d step %d: queued messages %s", seed, step, bad)
				}
			case ev < 12: // the console's traffic names a user, maybe partly
				u := users[r.IntN(len(users))]
				rec := console.Record{OpenID: u.openid, Nickname: u.nickname, HeadImgURL: u.avatar, FansUIN: u.uin, Source: console.SourceManual}
				if r.IntN(8) == 0 {
					rec.FansUIN = ""
				}
				if r.IntN(8) == 0 {
					rec.Nickname = ""
				}
				if err := s.Add(context.Background(), []console.Record{rec}); err != nil {
					t.Fatal(err)
				}
				if rec.FansUIN != "" {
					learnedAt[u.openid] = clock.Now()
				}
				queue.accepted(u)
			case ev < 13: // time passes; sightings may expire, the feed's items too
				if r.IntN(2) == 0 {
					clock.Set(clock.Now().Add(time.Duration(r.IntN(40)) * time.Minute))
				} else {
					clock.Set(clock.Now().Add(time.Duration(r.IntN(90)) * time.Second))
				}
			default: // the agent opens a chat
				truth := users[r.IntN(len(users))]
				// The page lists the chat and some others.
				peers := 1
				for _, o := range users {
					if o.openid != truth.openid && r.IntN(3) == 0 && o.avatar == truth.avatar && o.nickname == truth.nickname {
						peers++
					}
				}
				q := console.Query{Avatar: truth.pageAvatar(), Nickname: truth.nickname, Peers: peers}
				if r.IntN(2) == 0 {
					q.UIN = truth.uin // the page has data-reactid
				}
				if r.IntN(2) == 0 {
					q.Opened = truth.uin // the history request was seen
				}
				res := s.Resolve(q)
				if res.Record != nil && res.Record.OpenID != truth.openid {
					t.Fatalf("seed %d step %d: chat of %s (%+v) resolved to %s by %s; query %+v",
						seed, step, truth.openid, truth, res.Record.OpenID, res.Evidence, q)
				}
				at, known := learnedAt[truth.openid]
				// A sighting less than seenAtGranularity after the last
				// stored one is not stored: it may not count.
				live := known && clock.Now().Sub(at) < ttl-seenAtGranularity
				if live && (q.UIN != "" || q.Opened != "") && res.Record == nil {
					t.Fatalf("seed %d step %d: chat of %s has a live record with its uin but was not resolved; query %+v, candidates %v",
						seed, step, truth.openid, q, res.Candidates)
				}
				switch {
				case res.Evidence == console.EvidenceQueued:
					byQueue++
					fallthrough
				case res.Record != nil:
					resolved++
				case len(res.Candidates) > 0:
					asked++
				}
			}
		}
		s.Close(context.Background())
		db.Close()
	}
	t.Logf("%d worlds: %d chats resolved (%d by queued messages), %d offered candidates", worlds, resolved, byQueue, asked)
	if byQueue < worlds/10 {
		t.Errorf("only %d chats resolved by queued messages: the evidence is not exercised", byQueue)
	}
}
