package main

import (
	"slices"
	"sort"
)

// This file holds the harness's pure parts: what a settled sidebar means
// for the chat that is really open, and where in a page's log the sidebar
// showed somebody else's customer.

// outcome is what the sidebar ended up showing for one opened chat.
type outcome int

const (
	// outResolved: the right customer, identified without the agent
	// (data-identity confirmed or avatar; "" is the sidebar from before
	// data-identity, which had no other way).
	outResolved outcome = iota
	// outRemembered: the right customer, from the agent's earlier choice
	// (data-identity picked or bound).
	outRemembered
	// outAsked: the chooser (state ambiguous): the agent is asked.
	outAsked
	// outUnknown: the sidebar says it does not know the chat's user.
	outUnknown
	// outWrong: another chat's customer, at the settle point.
	outWrong
	// outOther: anything else once settled or timed out: still loading,
	// idle, connecting, error, or a customer with an identity this
	// harness does not know.
	outOther
	nOutcomes
)

func (o outcome) String() string {
	return [...]string{"resolved", "remembered", "asked", "unknown", "wrong", "other"}[o]
}

// sidebarView is the sidebar element's attributes at one moment.
type sidebarView struct {
	State    string `json:"state"`    // data-state
	OpenID   string `json:"openid"`   // data-openid
	Identity string `json:"identity"` // data-identity
}

// classify says what view means for a chat whose user's openid is truth.
func classify(v sidebarView, truth string) outcome {
	switch v.State {
	case "customer":
		if v.OpenID != truth {
			return outWrong
		}
		switch v.Identity {
		case "", "confirmed", "avatar":
			return outResolved
		case "picked", "bound":
			return outRemembered
		}
		return outOther
	case "ambiguous":
		return outAsked
	case "unknown":
		return outUnknown
	}
	return outOther
}

// record is one line of the page's log: the sidebar's attributes after a
// change ("sb"), or the console's selection after a change ("sel", UIN 0
// when no chat is open). T is in epoch milliseconds
// (performance.timeOrigin + performance.now()), one clock across reloads.
type record struct {
	K        string  `json:"k"`
	T        float64 `json:"t"`
	State    string  `json:"state,omitempty"`
	OpenID   string  `json:"openid,omitempty"`
	Identity string  `json:"identity,omitempty"`
	UIN      int64   `json:"uin"`
}

// pageLog is everything one loaded page logged, up to End, when the
// harness last read it.
type pageLog struct {
	Origin  float64 // performance.timeOrigin: which page
	End     float64
	Records []record
}

// incident is one stretch of time in which the sidebar showed, as the
// customer, someone other than the open chat's user, past the grace the
// sidebar has to follow a new selection.
type incident struct {
	Origin   float64 // the page
	SelT     float64 // when the chat (Truth) was opened
	Start    float64 // when the wrong customer counted as shown
	Dur      float64 // for how long, in ms
	Truth    int64   // the open chat's uin; 0 when none was open
	Shown    string  // the openid shown
	Identity string  // what the sidebar said about how it knew
	// Stale: the customer was on screen before the chat was opened and
	// still was past the grace: the sidebar did not notice the change, or
	// was slow to follow it. Otherwise the sidebar showed them for this
	// chat: a wrong identification.
	Stale bool
}

// span is a value that holds from T to End.
type span struct {
	T, End float64
	r      record
}

// spans turns a page's records of kind k into the stretches they hold for.
func spans(p pageLog, k string) []span {
	var out []span
	for _, r := range p.Records {
		if r.K != k {
			continue
		}
		if n := len(out); n > 0 {
			out[n-1].End = r.T
		}
		out = append(out, span{T: r.T, End: p.End, r: r})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].T < out[j].T })
	return out
}

// wrongIncidents finds every stretch of p in which the sidebar was in
// state customer with an openid that is not the open chat's, more than
// grace ms after that chat was opened. The sidebar may also be ahead of
// the console by as much, showing the customer of the chat opened next:
// it may react to the mouse button going down, the console to the click.
// openid maps a uin to its user's openid. A customer shown while no chat
// is open counts too. Stretches that touch, within one opened chat, are
// one incident.
func wrongIncidents(p pageLog, openid func(uin int64) string, grace float64) []incident {
	sels := spans(p, "sel")
	var out []incident
	for _, sb := range spans(p, "sb") {
		if sb.r.State != "customer" || sb.r.OpenID == "" {
			continue
		}
		for i, sel := range sels {
			from := max(sb.T, sel.T+grace)
			to := min(sb.End, sel.End)
			if i+1 < len(sels) && sels[i+1].r.UIN > 0 && openid(sels[i+1].r.UIN) == sb.r.OpenID {
				to = min(to, sels[i+1].T-grace)
			}
			if to <= from {
				continue
			}
			uin := sel.r.UIN
			if uin > 0 && openid(uin) == sb.r.OpenID {
				continue
			}
			if n := len(out); n > 0 && out[n-1].SelT == sel.T && out[n-1].Shown == sb.r.OpenID && out[n-1].Start+out[n-1].Dur >= from {
				out[n-1].Dur = to - out[n-1].Start
				continue
			}
			out = append(out, incident{Origin: p.Origin, SelT: sel.T, Start: from, Dur: to - from, Truth: uin,
				Shown: sb.r.OpenID, Identity: sb.r.Identity, Stale: sb.T < sel.T})
		}
	}
	return out
}

// quantile is the q-quantile of sorted xs by the nearest rank; 0 for none.
func quantile(xs []float64, q float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	i := int(q*float64(len(s))+0.5) - 1
	return s[min(max(i, 0), len(s)-1)]
}
