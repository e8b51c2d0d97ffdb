package chats

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/kfsidebar/kfsidebar/proxy/console"
)

// queuedWorld is the property test's push gateway, its workstation feed
// and the console's waiting list: users queue and send messages, the
// gateway records each one before WeChat queues it, the feed is up or
// down and delivers what the gateway still keeps, and the proxy scans the
// waiting list now and then. It tells the Sessions only what the real
// feed client and proxy would, and the truth about coverage, as the
// feed client works it out.
type queuedWorld struct {
	r     *rand.Rand
	s     *Sessions
	users []identityUser
	// open users' chats were accepted: their messages bypass the gateway
	// and the waiting list.
	open    map[string]bool
	latest  map[string]console.WaitingMessage // uin → the queued user's latest message
	gateway []gatewayItem                     // what the gateway recorded, in order
	sent    int                               // gateway items the feed delivered
	up      bool                              // the feed is connected
	synced  time.Time                         // when the feed last answered
	from    time.Time                         // coverage the feed reports
}

type gatewayItem struct {
	created time.Time // the gateway's clock: our clock
	push    PushedMessage
}

// feedTTL is how long the gateway keeps feed items (push.DefaultFeedTTL).
const feedTTL = 10 * time.Minute

// queuedTexts are what users type: greetings many users send, questions
// some users share, and texts of their own.
func (w *queuedWorld) text() string {
	switch w.r.IntN(3) {
	case 0:
		return []string{"在吗", "你好", "在吗？"}[w.r.IntN(3)]
	case 1:
		return []string{"我要退货", "什么时候发货", "快递到哪了"}[w.r.IntN(3)]
	}
	return fmt.Sprintf("订单 E2026%04d 怎么还没到", w.r.IntN(40))
}

// skew is how far the push's CreateTime is from the waiting list's
// createtime of the same message: usually not at all, sometimes up to
// queuedSkew either way (the assumption the rule rests on).
func (w *queuedWorld) skew() time.Duration {
	if w.r.IntN(3) > 0 {
		return 0
	}
	secs := int64(queuedSkew / time.Second)
	return time.Duration(w.r.Int64N(2*secs+1)-secs) * time.Second
}

// step plays one random event of the queue and the feed at now.
func (w *queuedWorld) step(now time.Time) {
	switch ev := w.r.IntN(10); {
	case ev < 4: // a user who is not in a chat sends a message: queued
		u := w.users[w.r.IntN(len(w.users))]
		if w.open[u.openid] {
			return
		}
		at := now.Add(-time.Duration(w.r.IntN(3)) * time.Second).Truncate(time.Second) // WeChat's time of it
		text := w.text()
		p := PushedMessage{OpenID: u.openid, Text: text, CreateTime: at.Add(w.skew())}
		w.gateway = append(w.gateway, gatewayItem{created: now, push: p})
		if w.r.IntN(10) == 0 { // WeChat retried: the gateway fed it twice
			w.gateway = append(w.gateway, gatewayItem{created: now, push: p})
		}
		w.latest[u.uin] = console.WaitingMessage{UIN: u.uin, Text: text, CreateTime: at,
			Nickname: u.nickname, HeadImgURL: u.avatar}
	case ev < 6: // the proxy scans the waiting list, or a page of it
		var list []console.WaitingMessage
		for _, m := range w.latest {
			if w.r.IntN(4) > 0 {
				list = append(list, m)
			}
		}
		w.s.AddWaiting(list)
	case ev < 9: // the feed answers a poll, or stays down
		if !w.up {
			return
		}
		if now.Sub(w.synced) > feedTTL {
			// The last answer is older than the gateway keeps items
			// (the feed was down, or this process was suspended): those
			// created before now-feedTTL are gone, and a push's
			// CreateTime may be queuedSkew earlier than its creation.
			w.from = now.Add(-feedTTL + queuedSkew)
		}
		var got []PushedMessage
		for _, it := range w.gateway[w.sent:] {
			if !it.created.Before(now.Add(-feedTTL)) {
				got = append(got, it.push)
			}
		}
		w.sent, w.synced = len(w.gateway), now
		w.s.AddPushed(got)
		w.s.PushFeedSynced(w.from, now)
	default: // the feed drops, or comes back
		w.up = !w.up
	}
}

// accepted is the console accepting u's chat: it leaves the queue.
func (w *queuedWorld) accepted(u identityUser) {
	w.open[u.openid] = true
	delete(w.latest, u.uin)
}

// wrongLink returns a tie the queued evidence holds between a uin and
// another user's openid, if any: what Resolve would answer with had the
// agent opened that chat now.
func (w *queuedWorld) wrongLink() string {
	uinOf := map[string]string{}
	for _, u := range w.users {
		uinOf[u.openid] = u.uin
	}
	q := &w.s.queued
	q.mu.Lock()
	defer q.mu.Unlock()
	for uin, l := range q.links {
		if !l.conflict && uinOf[l.openid] != uin {
			return fmt.Sprintf("uin %s tied to %s, whose uin is %s", uin, l.openid, uinOf[l.openid])
		}
	}
	return ""
}
