package chats

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/kfsidebar/kfsidebar/proxy/console"
)

// queuedT0 is when the queued users of these tests write.
var queuedT0 = sessT0.Add(time.Minute)

func waitingMsg(uin, text string, at time.Time) console.WaitingMessage {
	return console.WaitingMessage{UIN: uin, Text: text, CreateTime: at, Nickname: "排队" + uin, HeadImgURL: "http://wx.qlogo.cn/mmhead/Q" + uin}
}

// queuedQuery is the card of a queued user as the page shows it.
func queuedQuery(uin string) console.Query {
	return console.Query{UIN: uin, Avatar: "https://wx.qlogo.cn/mmhead/Q" + uin + "/132", Nickname: "排队" + uin, Peers: 1}
}

// synced has the feed say it delivered everything up to now.
func synced(s *Sessions, clock *sessClock) { syncedFrom(s, clock, sessT0.Add(-time.Hour)) }

// syncedFrom has the feed say it delivered everything since from.
func syncedFrom(s *Sessions, clock *sessClock, from time.Time) {
	clock.Set(clock.Now().Add(time.Second))
	s.PushFeedSynced(from, clock.Now())
}

func TestQueuedMessages(t *testing.T) {
	const own = "订单 E202611171032150023 怎么还没发货"
	tests := []struct {
		name    string
		records []console.Record // the console's own evidence
		waiting []console.WaitingMessage
		pushes  []PushedMessage
		query   console.Query
		want    string // openid, "" for no Record
	}{
		{"a text of one's own", nil,
			[]console.WaitingMessage{waitingMsg("101", own, queuedT0)},
			[]PushedMessage{{"oA", own, queuedT0}},
			queuedQuery("101"), "oA"},
		{"the history request alone, looks fitting", nil,
			[]console.WaitingMessage{waitingMsg("101", own, queuedT0)},
			[]PushedMessage{{"oA", own, queuedT0.Add(queuedSkew)}},
			console.Query{Opened: "101", Nickname: "排队101"}, "oA"},
		{"a card that looks like someone else", nil,
			[]console.WaitingMessage{waitingMsg("101", own, queuedT0)},
			[]PushedMessage{{"oA", own, queuedT0}},
			console.Query{UIN: "101", Nickname: "别人"}, ""},
		{"several users sent it", nil,
			[]console.WaitingMessage{waitingMsg("101", "在吗", queuedT0)},
			[]PushedMessage{{"oA", "在吗", queuedT0}, {"oB", "在吗", queuedT0.Add(-20 * time.Second)}},
			queuedQuery("101"), ""},
		{"the same user twice", nil,
			[]console.WaitingMessage{waitingMsg("101", "在吗", queuedT0)},
			[]PushedMessage{{"oA", "在吗", queuedT0}, {"oA", "在吗", queuedT0.Add(3 * time.Second)}},
			queuedQuery("101"), "oA"},
		{"too far apart in time", nil,
			[]console.WaitingMessage{waitingMsg("101", own, queuedT0)},
			[]PushedMessage{{"oA", own, queuedT0.Add(queuedSkew + time.Second)}},
			queuedQuery("101"), ""},
		// 102's message is just older than the feed covers, so it is not
		// weighed itself; the pushes that 101's matches fit it too.
		{"the pushes fit another queued user too", nil,
			[]console.WaitingMessage{waitingMsg("101", "我要退货", queuedT0), waitingMsg("102", "我要退货", queuedT0.Add(-20*time.Second))},
			[]PushedMessage{{"oA", "我要退货", queuedT0.Add(-10 * time.Second)}},
			queuedQuery("101"), ""},
		// The console's own evidence wins even over a tie that is wrong
		// (here the push of 101's own message never reached the feed,
		// against the assumption, and oB's look-alike message did).
		{"a record with the uin wins", []console.Record{{OpenID: "oC", FansUIN: "101", Nickname: "排队101", Source: console.SourceManual}},
			[]console.WaitingMessage{waitingMsg("101", own, queuedT0)},
			[]PushedMessage{{"oB", own, queuedT0}},
			queuedQuery("101"), "oC"},
		{"a record giving the openid another uin", []console.Record{{OpenID: "oB", FansUIN: "202", Nickname: "排队101", Source: console.SourceManual}},
			[]console.WaitingMessage{waitingMsg("101", own, queuedT0)},
			[]PushedMessage{{"oB", own, queuedT0}},
			queuedQuery("101"), ""},
		{"a record of the openid without a uin", []console.Record{{OpenID: "oA", Nickname: "排队101", Source: console.SourceManual}},
			[]console.WaitingMessage{waitingMsg("101", own, queuedT0)},
			[]PushedMessage{{"oA", own, queuedT0}},
			queuedQuery("101"), "oA"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := &sessClock{t: queuedT0.Add(5 * time.Second)}
			s := sessOpen(t, sessOpenDB(t, filepath.Join(t.TempDir(), "s.db")), clock, time.Hour)
			if tt.records != nil {
				sessAdd(t, s, tt.records...)
			}
			s.AddWaiting(tt.waiting)
			s.AddPushed(tt.pushes)
			syncedFrom(s, clock, queuedT0.Add(-40*time.Second))
			res := s.Resolve(tt.query)
			got := ""
			if res.Record != nil {
				got = res.Record.OpenID
			}
			if got != tt.want {
				t.Fatalf("Resolve(%+v) = %q by %q, want %q; candidates %v", tt.query, got, res.Evidence, tt.want, res.Candidates)
			}
			if got == "" || len(tt.records) > 0 && tt.records[0].FansUIN != "" {
				return
			}
			if res.Evidence != console.EvidenceQueued || res.Record.FansUIN != "101" || res.Record.Nickname != "排队101" {
				t.Errorf("record %+v by %q, want the queued user's with uin 101", res.Record, res.Evidence)
			}
		})
	}
}

// TestQueuedMessageWaitsForTheFeed: a waiting message is weighed only once
// the feed has delivered what the gateway had when the proxy saw it, and
// only if the feed's coverage reaches back to it; the hub hears of a tie
// at once.
func TestQueuedMessageWaitsForTheFeed(t *testing.T) {
	const own = "发票抬头写错了"
	clock := &sessClock{t: queuedT0.Add(5 * time.Second)}
	s := sessOpen(t, sessOpenDB(t, filepath.Join(t.TempDir(), "s.db")), clock, time.Hour)
	changes, cancel := s.Subscribe()
	defer cancel()

	// The feed answered before the proxy saw the message: that answer
	// may not have its push yet.
	s.PushFeedSynced(sessT0, clock.Now())
	clock.Set(clock.Now().Add(time.Second))
	s.AddWaiting([]console.WaitingMessage{waitingMsg("101", own, queuedT0)})
	s.AddPushed([]PushedMessage{{"oB", own, queuedT0.Add(-time.Second)}}) // someone else's, delivered first
	if res := s.Resolve(queuedQuery("101")); res.Record != nil {
		t.Fatalf("resolved to %s before the feed caught up", res.Record.OpenID)
	}
	// The next answer brings 101's own push: two users, no tie.
	s.AddPushed([]PushedMessage{{"oA", own, queuedT0}})
	synced(s, clock)
	if res := s.Resolve(queuedQuery("101")); res.Record != nil {
		t.Fatalf("resolved to %s though two users sent the text", res.Record.OpenID)
	}

	// A message of 102 the feed covers: tied, and subscribers told.
	select {
	case <-changes:
	default:
	}
	s.AddWaiting([]console.WaitingMessage{waitingMsg("102", "换货地址改一下", queuedT0)})
	s.AddPushed([]PushedMessage{{"oC", "换货地址改一下", queuedT0}})
	synced(s, clock)
	if res := s.Resolve(queuedQuery("102")); res.Record == nil || res.Record.OpenID != "oC" {
		t.Fatalf("102 resolved to %+v, want oC", res.Record)
	}
	select {
	case <-changes:
	default:
		t.Error("no change signalled for the new tie")
	}

	// Coverage that starts after a message (the feed was down longer than
	// the gateway keeps items) never weighs it.
	s.AddWaiting([]console.WaitingMessage{waitingMsg("103", "尺码选错了", queuedT0)})
	s.AddPushed([]PushedMessage{{"oD", "尺码选错了", queuedT0}})
	clock.Set(clock.Now().Add(time.Second))
	s.PushFeedSynced(queuedT0.Add(-queuedSkew+time.Second), clock.Now())
	if res := s.Resolve(queuedQuery("103")); res.Record != nil {
		t.Fatalf("103 resolved to %s from a feed that may have lost pushes", res.Record.OpenID)
	}

	// 102's messages later match another openid: a conflict, for good.
	s.AddWaiting([]console.WaitingMessage{waitingMsg("102", "还在吗亲", queuedT0.Add(time.Minute))})
	s.AddPushed([]PushedMessage{{"oE", "还在吗亲", queuedT0.Add(time.Minute)}})
	synced(s, clock)
	if res := s.Resolve(queuedQuery("102")); res.Record != nil {
		t.Fatalf("102 resolved to %s though its messages matched two users", res.Record.OpenID)
	}

	// Ties expire with the session TTL.
	s.AddWaiting([]console.WaitingMessage{waitingMsg("104", "能开专票吗", queuedT0.Add(time.Minute))})
	s.AddPushed([]PushedMessage{{"oF", "能开专票吗", queuedT0.Add(time.Minute)}})
	synced(s, clock)
	if res := s.Resolve(queuedQuery("104")); res.Record == nil || res.Record.OpenID != "oF" {
		t.Fatalf("104 resolved to %+v, want oF", res.Record)
	}
	clock.Set(clock.Now().Add(time.Hour))
	if res := s.Resolve(queuedQuery("104")); res.Record != nil {
		t.Errorf("104 still resolved after the TTL")
	}
}
