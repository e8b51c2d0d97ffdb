package chats

import (
	"strings"
	"sync"
	"time"

	"github.com/kfsidebar/kfsidebar/proxy/console"
)

// Queued messages as evidence (design.md "Identity", evidence 4).
//
// The console's waiting list names a queued user by fans_uin and shows
// their latest message (text and createtime); the shop's push gateway
// received the same message with the user's openid (FromUserName) and
// CreateTime, and its workstation feed passes it on. A waiting message
// that exactly one user's pushed messages match, by text and by time
// within queuedSkew, ties that uin to that openid.
//
// Why it cannot name another user, given three assumptions:
//
//   - every message in the waiting list went through this gateway, which
//     recorded it before answering WeChat with transfer_customer_service
//     (without that answer WeChat does not queue the message at all);
//   - the two CreateTimes of one message differ by at most queuedSkew
//     (both are WeChat's own timestamp of the message);
//   - the feed says truthfully what it has delivered (PushFeedSynced).
//
// A waiting message is weighed only once the feed has delivered
// everything the gateway had accepted when the proxy saw the message, for
// CreateTimes from before the message (minus the skew) on: then its own
// push is among those delivered, so "exactly one openid matches" means
// it is that push's openid. Users who send the same text ("在吗",
// "你好") at about the same time match together and prove nothing, and a
// message whose push may have been missed (the feed was down longer than
// it keeps items, or the message is older than what is kept here) is
// never weighed. On top of that the match must hold both ways (the pushes
// matched match no other uin in the waiting list) and stay consistent:
// a uin matched to two openids, or an openid to two uins, is a conflict
// and proves nothing ever after.
//
// The evidence is weaker than the console's own: Resolve uses it only
// for a uin no live record has, and never against a record that gives
// the openid another uin.

// queuedSkew is how far apart the push's CreateTime and the waiting
// list's createtime of one message may be. Both are WeChat's timestamp of
// the same message, so they should agree to the second; the slack only
// costs a little more ambiguity.
const queuedSkew = 30 * time.Second

// queuedKeep is how long pushed and waiting messages are kept to be
// matched: users rarely wait in the queue longer. A waiting message older
// than that is never weighed (its push is gone).
const queuedKeep = 2 * time.Hour

// maxQueued bounds the pushed and the waiting messages kept; beyond it the
// oldest pushes go, and the coverage shrinks with them.
const maxQueued = 50_000

// PushedMessage is a user's text message as the shop's push gateway
// received it: the workstation feed's "message" event.
type PushedMessage struct {
	// OpenID is the push's FromUserName.
	OpenID string
	// Text is its Content.
	Text string
	// CreateTime is its CreateTime, WeChat's clock.
	CreateTime time.Time
}

// queuedEvidence is what the resolver knows from queued messages. It has
// its own lock, taken inside Sessions.mu by Resolve and on its own by the
// Add methods, never the other way round. The zero value is ready.
type queuedEvidence struct {
	mu      sync.Mutex
	pushes  []PushedMessage          // by arrival; pruned from the front
	dropped time.Time                // the newest CreateTime dropped for room
	waiting map[waitKey]*waitingSeen // every waiting message seen
	from    time.Time                // PushFeedSynced: every push from here on…
	through time.Time                // …accepted before this (our clock) is in pushes
	links   map[string]*queuedLink   // uin → the openid its messages matched
	byOpen  map[string]string        // openid → uin, to find an openid matched twice
}

// waitKey is one message of the waiting list; the list repeats it on
// every poll.
type waitKey struct {
	uin, text string
	at        int64 // createtime, unix seconds
}

type waitingSeen struct {
	msg     console.WaitingMessage
	seen    time.Time // when the proxy first saw it, our clock
	decided bool      // weighed once, for good
}

// queuedLink is a uin tied to an openid by queued messages.
type queuedLink struct {
	openid   string
	nick     string // from the waiting list
	avatar   string
	seen     time.Time // the latest matching message was seen then
	conflict bool      // matched two openids, or its openid another uin: proves nothing
}

// AddWaiting records the console's waiting list (scan.WaitingList): each
// queued user's uin, latest text and time, as seen now. It never blocks
// on storage; queued evidence lives in memory only.
func (s *Sessions) AddWaiting(msgs []console.WaitingMessage) {
	now := s.now()
	q := &s.queued
	q.mu.Lock()
	if q.waiting == nil {
		q.waiting = map[waitKey]*waitingSeen{}
	}
	for _, m := range msgs {
		m.UIN, m.Text = strings.TrimSpace(m.UIN), strings.TrimSpace(m.Text)
		k := waitKey{m.UIN, m.Text, m.CreateTime.Unix()}
		if m.UIN == "" || m.Text == "" || q.waiting[k] != nil || len(q.waiting) >= maxQueued {
			continue
		}
		q.waiting[k] = &waitingSeen{msg: m, seen: now}
	}
	ties := q.learnLocked(now, s.cutoff(now))
	q.mu.Unlock()
	s.tied(ties)
}

// AddPushed records users' messages as the shop's push gateway received
// them. Call it before PushFeedSynced for the same poll.
func (s *Sessions) AddPushed(msgs []PushedMessage) {
	now := s.now()
	q := &s.queued
	q.mu.Lock()
	for _, m := range msgs {
		m.OpenID, m.Text = strings.TrimSpace(m.OpenID), strings.TrimSpace(m.Text)
		if m.OpenID != "" && m.Text != "" && !m.CreateTime.Before(now.Add(-queuedKeep)) {
			q.pushes = append(q.pushes, m)
		}
	}
	if n := len(q.pushes) - maxQueued; n > 0 {
		for _, p := range q.pushes[:n] {
			q.dropped = later(q.dropped, p.CreateTime)
		}
		q.pushes = append(q.pushes[:0], q.pushes[n:]...)
	}
	ties := q.learnLocked(now, s.cutoff(now))
	q.mu.Unlock()
	s.tied(ties)
}

// PushFeedSynced says what the pushes given to AddPushed cover: every
// message the gateway accepted before through (this process's clock) with
// a CreateTime at or after from. The feed client calls it after each
// complete answer of the feed, with through the time it asked; from moves
// forward when the feed was down for longer than it keeps items.
func (s *Sessions) PushFeedSynced(from, through time.Time) {
	now := s.now()
	q := &s.queued
	q.mu.Lock()
	q.from, q.through = later(q.from, from), later(q.through, through) // never back: coverage once lost is lost
	ties := q.learnLocked(now, s.cutoff(now))
	q.mu.Unlock()
	s.tied(ties)
}

// tie is a link learnLocked made, or found in conflict.
type tie struct {
	uin, openid string
	conflict    bool
}

// tied tells the hub and the log about new ties.
func (s *Sessions) tied(ties []tie) {
	for _, t := range ties {
		if t.conflict {
			s.log.Debug("sessions: queued messages tie a uin to two users: proves nothing", "uin", t.uin, "openid", t.openid)
		} else {
			s.log.Debug("sessions: a queued message ties a uin to an openid", "uin", t.uin, "openid", t.openid)
		}
	}
	if len(ties) > 0 {
		s.notify()
	}
}

// learnLocked prunes what is too old (ties last seen at or before cutoff
// among it) and weighs every waiting message the pushes now cover. It
// returns the links made or broken.
func (q *queuedEvidence) learnLocked(now, cutoff time.Time) []tie {
	for uin, l := range q.links {
		if !l.seen.After(cutoff) {
			delete(q.links, uin)
			if q.byOpen[l.openid] == uin {
				delete(q.byOpen, l.openid)
			}
		}
	}
	keepFrom := now.Add(-queuedKeep)
	i := 0
	for i < len(q.pushes) && q.pushes[i].CreateTime.Before(keepFrom) {
		i++
	}
	q.pushes = q.pushes[i:]
	for k, w := range q.waiting {
		if w.msg.CreateTime.Before(keepFrom) {
			delete(q.waiting, k)
		}
	}
	// Pushes before from may be missing; so may the ones dropped for room
	// or for age.
	covered := later(later(q.from, keepFrom), q.dropped.Add(time.Second))
	var ties []tie
	for _, w := range q.waiting {
		switch {
		case w.decided:
		case q.from.IsZero() || !q.through.After(w.seen):
			// The feed may not have delivered its push yet.
		case w.msg.CreateTime.Add(-queuedSkew).Before(covered):
			w.decided = true // its push, or a look-alike's, may be missing
		default:
			w.decided = true
			if openid, ok := q.matchLocked(w.msg); ok && q.linkLocked(w.msg, openid, w.seen) {
				ties = append(ties, tie{w.msg.UIN, openid, q.links[w.msg.UIN].conflict})
			}
		}
	}
	return ties
}

// matchLocked returns the one openid whose pushes match w by text and
// time, provided those pushes match no other uin of the waiting list.
func (q *queuedEvidence) matchLocked(w console.WaitingMessage) (string, bool) {
	openid := ""
	var matched []time.Time
	for _, p := range q.pushes {
		if p.Text != w.Text || absDuration(p.CreateTime.Sub(w.CreateTime)) > queuedSkew {
			continue
		}
		if openid != "" && p.OpenID != openid {
			return "", false // several users sent it: proves nothing
		}
		openid = p.OpenID
		matched = append(matched, p.CreateTime)
	}
	if openid == "" {
		return "", false
	}
	for _, o := range q.waiting {
		if o.msg.UIN == w.UIN || o.msg.Text != w.Text {
			continue
		}
		for _, at := range matched {
			if absDuration(at.Sub(o.msg.CreateTime)) <= queuedSkew {
				return "", false // the same pushes fit another queued user
			}
		}
	}
	return openid, true
}

// linkLocked ties w's uin to openid, or marks a conflict. It reports
// whether that changes what Resolve may answer.
func (q *queuedEvidence) linkLocked(w console.WaitingMessage, openid string, seen time.Time) bool {
	if q.links == nil {
		q.links, q.byOpen = map[string]*queuedLink{}, map[string]string{}
	}
	l := q.links[w.UIN]
	if other, ok := q.byOpen[openid]; ok && other != w.UIN {
		// One openid, two uins: neither tie can be trusted.
		changed := !q.links[other].conflict || l == nil || !l.conflict
		q.links[other].conflict = true
		if l == nil {
			l = &queuedLink{openid: openid, seen: seen}
			q.links[w.UIN] = l
		}
		l.conflict = true
		return changed
	}
	switch {
	case l == nil:
		q.links[w.UIN] = &queuedLink{openid: openid, nick: w.Nickname, avatar: w.HeadImgURL, seen: seen}
		q.byOpen[openid] = w.UIN
		return true
	case l.openid != openid:
		changed := !l.conflict
		l.conflict = true
		return changed
	}
	l.seen = later(l.seen, seen)
	if w.Nickname != "" {
		l.nick = w.Nickname
	}
	if w.HeadImgURL != "" {
		l.avatar = w.HeadImgURL
	}
	return false
}

// queuedLocked returns the user that queued messages tie uin to, as an
// entry to answer with: the live record of that openid when there is one,
// else what the waiting list showed. ok is false when there is no tie, it
// is in conflict or expired, or a live record gives the openid another
// uin (the console's own evidence wins). s.mu is held.
func (s *Sessions) queuedLocked(uin string, cutoff time.Time) (*sessionEntry, bool) {
	q := &s.queued
	q.mu.Lock()
	l := q.links[uin]
	var link queuedLink
	if l != nil {
		link = *l
	}
	q.mu.Unlock()
	if l == nil || link.conflict || !link.seen.After(cutoff) {
		return nil, false
	}
	if e := s.byOpenID[link.openid]; e != nil && e.rec.SeenAt.After(cutoff) {
		if u := strings.TrimSpace(e.rec.FansUIN); u != "" && u != uin {
			return nil, false
		}
		out := *e
		out.rec.FansUIN = uin
		return &out, true
	}
	e := &sessionEntry{rec: console.Record{OpenID: link.openid, Nickname: link.nick, HeadImgURL: link.avatar, FansUIN: uin,
		Source: console.SourcePush, SeenAt: link.seen}}
	e.derive()
	return e, true
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

func absDuration(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}
