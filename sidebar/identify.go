package sidebar

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/kfsidebar/kfsidebar/internal/sqlitedb"
	"github.com/kfsidebar/kfsidebar/proxy/console"
	"github.com/kfsidebar/kfsidebar/sidebar/shop"
)

// chatKeys are the binding keys of a chat (see ChatKey), most specific
// first. The first is the one a bind stores; a lookup tries all of them,
// so a chat bound before its openid was learned stays bound after. A
// chat is keyed by its openid and by its fans_uin (the card's, or the one
// the console's history request named, unless they disagree), never by
// looks: a binding by avatar would hand one customer to every user with
// WeChat's default picture.
func chatKeys(q console.Query, rec *console.Record) []string {
	var keys []string
	if rec != nil && rec.OpenID != "" {
		keys = append(keys, rec.OpenID)
	}
	uin, opened := strings.TrimSpace(q.UIN), strings.TrimSpace(q.Opened)
	switch {
	case uin != "" && opened != "" && uin != opened:
	case uin != "":
		keys = append(keys, ChatKeyUIN+uin)
	case opened != "":
		keys = append(keys, ChatKeyUIN+opened)
	}
	return keys
}

// target is whom a lookup asks the shop about.
type target struct {
	openid   string // the chat's openid, "" when not known
	nickname string // the chat's nickname, for the page
	key      string // the chat's first key; names the chat in the reveal log without an openid
	boundID  string // the customer the agent bound the chat to, if any
	identity string // how the sidebar knows who the chat is (identity…)
}

// run answers one job.
func (c *client) run(ctx context.Context, j job) {
	var (
		rec  *console.Record
		res  console.Resolution
		q    = j.query
		ok   bool
		kind = j.kind
	)
	ident := ""
	switch {
	case j.pick.OpenID != "":
		r := j.pick
		if fresh, ok := c.hub.resolver.Get(r.OpenID); ok {
			r = fresh
		}
		rec, ident = &r, identityPicked
	case kind == jobOthers:
		res = c.hub.resolver.Resolve(q)
		c.offer(j, reasonOthers, res.Candidates)
		return
	default:
		if q, res, ok = c.resolve(ctx, j); !ok {
			return
		}
		if res.Record != nil {
			rec, ident = res.Record, identityOf(res.Evidence)
		}
	}
	keys := chatKeys(q, rec)
	t := target{nickname: q.Nickname, identity: ident}
	if rec != nil {
		t.openid = rec.OpenID
		if rec.Nickname != "" {
			t.nickname = rec.Nickname
		}
	}
	if len(keys) > 0 {
		t.key = keys[0]
	}

	switch kind {
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
		t.boundID, t.identity = j.customerID, identityBound
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

	if id, ok := c.boundTo(ctx, keys); ok {
		t.boundID, t.identity = id, identityBound
		c.lookup(ctx, j, t)
		return
	}
	if ctx.Err() != nil {
		return
	}
	switch {
	case rec != nil:
		c.lookup(ctx, j, t)
	case len(res.Candidates) > 0:
		c.offer(j, reasonLookalike, res.Candidates)
	default:
		c.answer(j, answerNoSession, message{Type: typeUnknown, Reason: reasonNoSession}, nil, nil)
	}
}

// resolve asks the resolver who the selection is. While the evidence
// cannot tell, it says so (识别中) and waits for stronger evidence (a
// record learned late, the console's history request) until the
// selection's wait is over, then returns what the resolver says, for the
// agent to decide. A push job that the agent's pick still answers
// returns not ok, as does a job superseded or cancelled meanwhile.
func (c *client) resolve(ctx context.Context, j job) (console.Query, console.Resolution, bool) {
	for {
		c.mu.Lock()
		v := &c.conv
		if j.gen != v.gen {
			c.mu.Unlock()
			return console.Query{}, console.Resolution{}, false
		}
		q, picked, pickedOver := v.query, v.picked, v.pickedOver
		c.mu.Unlock()
		res := c.hub.resolver.Resolve(q)
		if picked != "" {
			// The agent's choice stands, unless stronger evidence that
			// was not there when they chose names someone else.
			strong := res.Record != nil && identityOf(res.Evidence) == identityConfirmed
			if !strong || res.Record.OpenID == picked || res.Record.OpenID == pickedOver {
				return q, res, false
			}
			c.mu.Lock()
			if j.gen == v.gen {
				v.picked, v.pickedOver = "", ""
			}
			c.mu.Unlock()
		}
		if res.Record != nil || q == (console.Query{}) {
			return q, res, true
		}
		if _, ok := c.boundTo(ctx, chatKeys(q, nil)); ok {
			return q, res, true // the agent bound this chat: no need to wait
		}
		c.mu.Lock()
		if v.waitUntil.IsZero() {
			v.waitUntil = time.Now().Add(c.hub.identifyWait)
		}
		left := time.Until(v.waitUntil)
		c.mu.Unlock()
		if left <= 0 {
			return q, res, true
		}
		if !c.answer(j, answerPending, message{Type: typeLoading, Identity: identityPending}, nil, nil) {
			return q, res, false
		}
		timer := time.NewTimer(left)
		select {
		case <-timer.C:
		case <-c.kick:
		case <-ctx.Done():
			timer.Stop()
			return q, res, false
		}
		timer.Stop()
	}
}

// boundTo returns the customer the chat is bound to, trying its keys in
// order. A store that cannot be read is logged and counts as no binding:
// the automatic match still works without it.
func (c *client) boundTo(ctx context.Context, keys []string) (string, bool) {
	b := c.hub.bindings
	if b == nil {
		return "", false
	}
	for _, k := range keys {
		id, ok, err := b.Lookup(ctx, k)
		if err != nil {
			if ctx.Err() == nil {
				c.hub.log.Warn("could not read a chat binding", "err", err)
			}
			return "", false
		}
		if ok {
			return id, true
		}
	}
	return "", false
}

// offer asks the agent to pick one of cands, or to search when there are
// none.
func (c *client) offer(j job, reason string, cands []console.Record) {
	if len(cands) == 0 {
		c.answer(j, answerNoSession, message{Type: typeUnknown, Reason: reasonNoSession}, nil, nil)
		return
	}
	c.answer(j, answerAmbiguous, message{Type: typeAmbiguous, Reason: reason, Candidates: candidatesOf(cands)}, cands, nil)
}

func (c *client) bindFailed(ctx context.Context, j job, op string, err error) {
	if ctx.Err() != nil {
		return
	}
	if busy, ok := errors.AsType[*sqlitedb.BusyError](err); ok {
		c.hub.log.Info("binding refused: an orders import holds the database", "op", op, "what", busy.What, "since", busy.Since)
		c.answer(j, answerError, message{Type: typeError, Message: msgImportRunning}, nil, nil)
		return
	}
	c.hub.log.Warn("could not save a chat binding", "op", op, "err", err)
	c.answer(j, answerError, message{Type: typeError, Message: msgBindFailed}, nil, nil)
}

// lookup asks the backend who t is, within the lookup timeout.
//
// A push that names the user already on screen, by the same evidence,
// sends nothing; by other evidence, it sends the customer again without
// the loading placeholder in between.
func (c *client) lookup(ctx context.Context, j job, t target) {
	c.mu.Lock()
	v := &c.conv
	same := j.push && j.gen == v.gen && (v.answer == answerCustomer || v.answer == answerLoading || v.answer == answerNotInShop) &&
		v.shownID == t.openid && t.openid != ""
	unchanged := same && v.identity == t.identity
	c.mu.Unlock()
	if unchanged {
		return
	}
	if !same && !c.answer(j, answerLoading, message{Type: typeLoading, OpenID: t.openid, Identity: t.identity}, nil, nil) {
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
		orders := c.hub.applyTracking(m.customer)
		fetched := res.FetchedAt
		msg := message{Type: typeCustomer, OpenID: t.openid, Nickname: t.nickname, Customer: m.customer,
			Bound: bound, Masked: m.names, FetchedAt: &fetched, Health: health, Identity: t.identity}
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
		c.answer(j, answerCustomer, msg, nil, &shown{subject: subject, fields: m.fields, orders: orders})
	case res.Err == nil || errors.Is(res.Err, shop.ErrNotFound):
		c.answer(j, answerNotInShop, message{Type: typeUnknown, Reason: reasonNotInShop, OpenID: t.openid, Bound: bound, Identity: t.identity}, nil, nil)
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
		if health != nil && health.State == shop.HealthOpen {
			text = msgUnavailable
		}
		c.answer(j, answerError, message{Type: typeError, Message: text, Bound: bound, Health: health}, nil, nil)
	}
}

// fetch asks the backend: the bound customer by id, else the openid,
// through Fresher when the backend knows how fresh its answer is.
func (h *Hub) fetch(ctx context.Context, t target) shop.Result {
	var (
		res shop.Result
		err error
	)
	switch f, fresher := h.backend.(shop.Fresher); {
	case t.boundID != "":
		res.Customer, err = h.backend.Customer(ctx, t.boundID)
	case fresher:
		res = f.LookupResult(ctx, t.openid)
	default:
		res.Customer, err = h.backend.Lookup(ctx, t.openid)
	}
	if err != nil {
		return shop.Result{Err: err}
	}
	if res.Customer != nil && res.FetchedAt.IsZero() {
		res.FetchedAt = time.Now()
	}
	return res
}

// health is the backend's trouble for the page, nil when there is none
// or the backend does not say.
func (h *Hub) health() *healthInfo {
	hr, ok := h.backend.(shop.HealthReporter)
	if !ok {
		return nil
	}
	s := hr.Health()
	if s.State == "" || s.State == shop.HealthOK {
		return nil
	}
	info := &healthInfo{State: s.State}
	if !s.RetryAt.IsZero() {
		at := s.RetryAt
		info.RetryAt = &at
	}
	return info
}
