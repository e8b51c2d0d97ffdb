package chats

import (
	"cmp"
	"slices"
	"strings"
	"time"

	"github.com/kfsidebar/kfsidebar/proxy/console"
)

// defaultNicknames are the nicknames WeChat shows for users who never set
// one. Thousands of users share them, usually with the default picture,
// so they never tell one chat from another.
var defaultNicknames = map[string]bool{"微信用户": true}

// Resolve answers which user the page's selected chat is. It is the one
// place that weighs the evidence, strongest first:
//
//  1. q.Opened, the fansuin of the console's own history request for the
//     chat just opened, when a live record has that fans_uin and the card
//     does not contradict it (another avatar or nickname, another uin);
//  2. q.UIN, the card's own fans_uin, when a live record has it;
//  3. the avatar and the nickname, when exactly one live user has both,
//     the nickname is not one of WeChat's defaults (微信用户), no other
//     live user with that avatar lacks a nickname, and the page shows no
//     other card that looks the same (q.Peers). A card without a known
//     avatar is matched the same way against users without one.
//  4. for a fans_uin (the card's or the history request's) that no live
//     record has, the user whose message the shop's push gateway received
//     is the one this uin's queued message in the console's waiting list
//     matches, by text and time, and nobody else's does (see queued.go
//     for the rule and why it holds), when the card's looks fit that user
//     and no live record gives that user another uin. It never overrides
//     rules 1 and 2.
//
// Invariant: Record is never a user other than the chat's own. What the
// resolver cannot rule out, it does not guess: a fans_uin (from the card
// or the history request) that no live record has yet never falls back
// to the avatar, because the user the avatar names has another uin or
// none; two users who look alike are never told apart by looks; a card
// that disagrees with the history request is a conflict. Those answers
// carry no Record, only Candidates, and the caller waits for stronger
// evidence, then asks the agent.
//
// The avatar rule rests on one assumption, checked by the property test:
// a picture that several users share (WeChat's default one) comes with
// the default nickname or with nicknames of their own. Two users with the
// default picture and the same chosen nickname, one of them never seen by
// the proxy, would defeat it; the history request, when the console
// makes it, settles even that. The queued-message rule rests on the three
// assumptions queued.go states (every queued message went through the
// gateway, the two timestamps of a message agree within queuedSkew, the
// feed reports truthfully what it delivered); the property test holds it
// to them too.
//
// Expired records never match. Returned records are copies.
func (s *Sessions) Resolve(q console.Query) console.Resolution {
	cutoff := s.cutoff(s.now())
	opened, uin := strings.TrimSpace(q.Opened), strings.TrimSpace(q.UIN)
	s.mu.RLock()
	defer s.mu.RUnlock()

	looks := s.byLooksLocked(console.AvatarKey(q.Avatar), strings.TrimSpace(q.Nickname), q.Peers, cutoff)
	if opened == "" && uin == "" {
		if looks.one != nil {
			return resolution(looks.one, console.EvidenceAvatar, looks.cands)
		}
		return resolution(nil, "", looks.cands)
	}
	if opened != "" && uin != "" && opened != uin {
		// The card says one user, the console's request another: no
		// telling which is right.
		both := append(s.liveLocked(s.byUIN[uin], cutoff), s.liveLocked(s.byUIN[opened], cutoff)...)
		return resolution(nil, "", both)
	}
	u, ev := uin, console.EvidenceUIN
	if opened != "" {
		u, ev = opened, console.EvidenceOpened
	}
	live := s.liveLocked(s.byUIN[u], cutoff)
	switch {
	case len(live) == 1 && (uin != "" || looks.fits(live[0])):
		return resolution(live[0], ev, append([]*sessionEntry{live[0]}, looks.cands...))
	case len(live) > 0:
		// Two openids behind one uin, or the chat the console opened does
		// not look like the card: the agent decides.
		return resolution(nil, "", append(live, looks.cands...))
	}
	// Nobody has this uin yet: its record is on its way, or was missed.
	// Whoever has another uin is someone else.
	var maybe []*sessionEntry
	for _, e := range looks.cands {
		if strings.TrimSpace(e.rec.FansUIN) == "" {
			maybe = append(maybe, e)
		}
	}
	if e, ok := s.queuedLocked(u, cutoff); ok && looks.fits(e) {
		return resolution(e, console.EvidenceQueued, append([]*sessionEntry{e}, maybe...))
	}
	return resolution(nil, "", maybe)
}

// looks is what the avatar and the nickname say about a card.
type looks struct {
	key, nick string
	// one is the user the card's looks name, when they name exactly one.
	one *sessionEntry
	// cands are the live users the card may be, by looks, newest first.
	cands []*sessionEntry
}

// fits reports whether e could be the card: neither its avatar nor its
// nickname differs from the card's (an empty one differs from nothing).
func (l looks) fits(e *sessionEntry) bool {
	return (l.key == "" || e.avatarKey == "" || e.avatarKey == l.key) &&
		(l.nick == "" || e.nick == "" || e.nick == l.nick)
}

// byLooksLocked applies rule 3 of Resolve: the users with the card's
// avatar (or, when no known user has it, the users without an avatar)
// and a fitting nickname. mu is held.
func (s *Sessions) byLooksLocked(key, nick string, peers int, cutoff time.Time) looks {
	l := looks{key: key, nick: nick}
	var pool []*sessionEntry
	if key != "" {
		pool = s.liveLocked(s.byAvatar[key], cutoff)
	}
	if len(pool) == 0 && nick != "" {
		// The card shows no avatar a known user has: perhaps the page's
		// placeholder for a user without one.
		for _, e := range s.liveLocked(s.byNick[nick], cutoff) {
			if e.avatarKey == "" {
				pool = append(pool, e)
			}
		}
	}
	var exact, unsure []*sessionEntry
	for _, e := range pool {
		switch {
		case nick != "" && e.nick == nick:
			exact = append(exact, e)
		case nick == "" || e.nick == "":
			unsure = append(unsure, e)
		}
	}
	if len(exact) == 1 && len(unsure) == 0 && !defaultNicknames[nick] && peers <= 1 {
		l.one = exact[0]
	}
	l.cands = append(exact, unsure...)
	if len(l.cands) == 0 && key != "" {
		// Same picture, another nickname: perhaps renamed. Only the agent
		// can say.
		l.cands = pool
	}
	sortNewestFirst(l.cands)
	return l
}

// resolution builds the answer: rec (nil for none) found by evidence,
// and the candidates, each once, rec first, then newest first.
func resolution(rec *sessionEntry, evidence string, cands []*sessionEntry) console.Resolution {
	var out console.Resolution
	if rec != nil {
		r := rec.rec
		out.Record, out.Evidence = &r, evidence
		out.Candidates = append(out.Candidates, r)
	}
	rest := slices.Clone(cands)
	sortNewestFirst(rest)
	for _, e := range rest {
		if slices.ContainsFunc(out.Candidates, func(r console.Record) bool { return r.OpenID == e.rec.OpenID }) {
			continue
		}
		out.Candidates = append(out.Candidates, e.rec)
	}
	return out
}

// sortNewestFirst orders entries by SeenAt, newest first (openid breaks
// ties so answers are stable).
func sortNewestFirst(es []*sessionEntry) {
	slices.SortFunc(es, func(a, b *sessionEntry) int {
		if c := b.rec.SeenAt.Compare(a.rec.SeenAt); c != 0 {
			return c
		}
		return cmp.Compare(a.rec.OpenID, b.rec.OpenID)
	})
}
