package sidebar

import (
	"context"
	"errors"
	"time"

	"github.com/kfsidebar/kfsidebar/proxy"
)

// chatKeys are the binding keys of a chat (see ChatKey), most specific
// first. The first is the one a bind stores; a lookup tries all of them,
// so a chat bound before its openid was learned stays bound after. An
// avatar that several users share (ambiguous) names nobody, and neither
// does the avatar of a chat that has a fans_uin.
func chatKeys(q proxy.Query, rec *proxy.Record, sharedAvatar bool) []string {
	var keys []string
	if rec != nil && rec.OpenID != "" {
		keys = append(keys, rec.OpenID)
	}
	if q.UIN != "" {
		keys = append(keys, ChatKeyUIN+q.UIN)
	} else if k := proxy.AvatarKey(q.Avatar); k != "" && !sharedAvatar {
		keys = append(keys, ChatKeyAvatar+k)
	}
	return keys
}

// target is whom a lookup asks the shop about.
type target struct {
	openid   string // the chat's openid, "" when not known
	nickname string // the chat's nickname, for the page
	key      string // the chat's first key; names the chat in the reveal log without an openid
	boundID  string // the customer the agent bound the chat to, if any
}

// run answers one job.
func (c *client) run(ctx context.Context, j job) {
	var rec *proxy.Record
	ambiguous := false
	var cands []proxy.Record
	if j.pick.OpenID != "" {
		r := j.pick
		if fresh, ok := c.hub.resolver.Get(r.OpenID); ok {
			r = fresh
		}
		rec = &r
	} else {
		res := c.hub.resolver.Resolve(j.query)
		switch {
		case res.Record != nil:
			rec = res.Record
		case len(res.Candidates) == 1:
			rec = &res.Candidates[0]
		case len(res.Candidates) > 1:
			ambiguous, cands = true, res.Candidates
		}
	}
	keys := chatKeys(j.query, rec, ambiguous)
	t := target{nickname: j.query.Nickname}
	if rec != nil {
		t.openid = rec.OpenID
		if rec.Nickname != "" {
			t.nickname = rec.Nickname
		}
	}
	if len(keys) > 0 {
		t.key = keys[0]
	}

	switch j.kind {
	case jobBind:
		if len(keys) == 0 {
			c.answer(j, answerError, message{Type: typeError, Message: msgCannotBind}, nil, nil)
			return
		}
		if err := c.hub.bindings.Bind(ctx, keys[0], j.customerID); err != nil {
			c.bindFailed(ctx, j, "bind", err)
			return
		}
		c.hub.log.Debug("bound", "chat", keys[0], "customer", j.customerID)
		t.boundID = j.customerID
		c.lookup(ctx, j, t)
		return
	case jobUnbind:
		for _, k := range keys {
			if err := c.hub.bindings.Unbind(ctx, k); err != nil {
				c.bindFailed(ctx, j, "unbind", err)
				return
			}
		}
		c.hub.log.Debug("unbound", "chat", t.key)
	}

	if b := c.hub.bindings; b != nil {
		for _, k := range keys {
			id, ok, err := b.Lookup(ctx, k)
			if err != nil {
				if ctx.Err() != nil {
					return
				}
				// The automatic match still works without the binding.
				c.hub.log.Warn("could not read a chat binding", "err", err)
				break
			}
			if ok {
				t.boundID = id
				c.lookup(ctx, j, t)
				return
			}
		}
	}
	switch {
	case ambiguous:
		c.answer(j, answerAmbiguous, message{Type: typeAmbiguous, Candidates: candidatesOf(cands)}, cands, nil)
	case rec == nil:
		c.answer(j, answerNoSession, message{Type: typeUnknown, Reason: reasonNoSession}, nil, nil)
	default:
		c.lookup(ctx, j, t)
	}
}

func (c *client) bindFailed(ctx context.Context, j job, op string, err error) {
	if ctx.Err() != nil {
		return
	}
	c.hub.log.Warn("could not save a chat binding", "op", op, "err", err)
	c.answer(j, answerError, message{Type: typeError, Message: msgBindFailed}, nil, nil)
}

// lookup asks the backend who t is, within the lookup timeout.
func (c *client) lookup(ctx context.Context, j job, t target) {
	if !c.answer(j, answerLoading, message{Type: typeLoading, OpenID: t.openid}, nil, nil) {
		return
	}
	c.hub.log.Debug("lookup", "openid", t.openid, "bound", t.boundID)
	lctx, cancel := context.WithTimeout(ctx, c.hub.lookupTimeout)
	res := c.hub.fetch(lctx, t)
	timedOut := errors.Is(lctx.Err(), context.DeadlineExceeded)
	cancel()
	if ctx.Err() != nil {
		return // superseded or closing: nobody waits for this answer
	}
	health := c.hub.health()
	bound := t.boundID != ""
	switch {
	case res.Customer != nil:
		m := maskCustomer(res.Customer)
		fetched := res.FetchedAt
		msg := message{Type: typeCustomer, OpenID: t.openid, Nickname: t.nickname, Customer: m.customer,
			Bound: bound, Masked: m.names, FetchedAt: &fetched, Health: health}
		if res.Err != nil {
			msg.Stale, msg.Error = true, msgStale
			c.hub.log.Warn("customer refresh failed; showing the last answer")
			c.hub.log.Debug("customer refresh failed", "openid", t.openid, "err", res.Err)
		}
		subject := t.openid
		if subject == "" {
			subject = res.Customer.OpenID
		}
		if subject == "" {
			subject = t.key
		}
		c.answer(j, answerCustomer, msg, nil, &shown{subject: subject, fields: m.fields})
	case res.Err == nil || errors.Is(res.Err, ErrNotFound):
		c.answer(j, answerNotInShop, message{Type: typeUnknown, Reason: reasonNotInShop, OpenID: t.openid, Bound: bound}, nil, nil)
	case timedOut || errors.Is(res.Err, context.DeadlineExceeded):
		// Backend errors may quote the openid (a URL, a query), so the
		// error text is logged at Debug only.
		c.hub.log.Warn("customer lookup timed out", "timeout", c.hub.lookupTimeout)
		c.hub.log.Debug("customer lookup timed out", "openid", t.openid, "err", res.Err)
		c.answer(j, answerError, message{Type: typeError, Message: msgTimeout, Bound: bound, Health: health}, nil, nil)
	default:
		c.hub.log.Warn("customer lookup failed")
		c.hub.log.Debug("customer lookup failed", "openid", t.openid, "err", res.Err)
		text := msgLookupFailed
		if health != nil && health.State == HealthOpen {
			text = msgUnavailable
		}
		c.answer(j, answerError, message{Type: typeError, Message: text, Bound: bound, Health: health}, nil, nil)
	}
}

// fetch asks the backend: the bound customer by id, else the openid,
// through Fresher when the backend knows how fresh its answer is.
func (h *Hub) fetch(ctx context.Context, t target) Result {
	var (
		res Result
		err error
	)
	switch f, fresher := h.backend.(Fresher); {
	case t.boundID != "":
		res.Customer, err = h.backend.Customer(ctx, t.boundID)
	case fresher:
		res = f.LookupResult(ctx, t.openid)
	default:
		res.Customer, err = h.backend.Lookup(ctx, t.openid)
	}
	if err != nil {
		return Result{Err: err}
	}
	if res.Customer != nil && res.FetchedAt.IsZero() {
		res.FetchedAt = time.Now()
	}
	return res
}

// health is the backend's trouble for the page, nil when there is none
// or the backend does not say.
func (h *Hub) health() *healthInfo {
	hr, ok := h.backend.(HealthReporter)
	if !ok {
		return nil
	}
	s := hr.Health()
	if s.State == "" || s.State == HealthOK {
		return nil
	}
	info := &healthInfo{State: s.State}
	if !s.RetryAt.IsZero() {
		at := s.RetryAt
		info.RetryAt = &at
	}
	return info
}
