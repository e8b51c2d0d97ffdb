package sidebar

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"time"

	"github.com/kfsidebar/kfsidebar/proxy"
)

// Message types of the websocket protocol. The package comment documents
// the protocol; the names match the ones the sidebar script uses.
const (
	// client → hub
	typeSelect  = "select"
	typePick    = "pick"
	typeRefresh = "refresh"

	// hub → client
	typeLoading   = "loading"
	typeCustomer  = "customer"
	typeUnknown   = "unknown"
	typeAmbiguous = "ambiguous"
	typeError     = "error"
)

// Reasons of an "unknown" answer.
const (
	reasonNoSession = "no_session"  // nobody known matches this chat (yet)
	reasonNotInShop = "not_in_shop" // the openid is known, the shop is not
)

// Error texts shown to the agent as they are: short, Chinese, and free of
// internals (backend errors go to the log, not to the page).
const (
	msgLookupFailed = "查询客户资料失败，请重试"
	msgTimeout      = "查询超时，请重试"
	msgBadPick      = "请从列表中选择客户"
	msgBadRequest   = "无法识别的请求"
)

// request is any message from a sidebar. Fields not used by its type are
// empty.
type request struct {
	Type     string `json:"type"`
	Seq      int64  `json:"seq"`
	UIN      string `json:"uin,omitempty"`
	Avatar   string `json:"avatar,omitempty"`
	Nickname string `json:"nickname,omitempty"`
	OpenID   string `json:"openid,omitempty"`
}

// query is the selection carried by a select request.
func (r request) query() proxy.Query {
	return proxy.Query{UIN: r.UIN, Avatar: r.Avatar, Nickname: r.Nickname}
}

// message is any message to a sidebar. Seq echoes the request it answers,
// so the sidebar can ignore answers to requests it has since replaced.
type message struct {
	Type       string      `json:"type"`
	Seq        int64       `json:"seq"`
	OpenID     string      `json:"openid,omitempty"`
	Nickname   string      `json:"nickname,omitempty"`
	Customer   *Customer   `json:"customer,omitempty"`
	Reason     string      `json:"reason,omitempty"`
	Candidates []candidate `json:"candidates,omitempty"`
	Message    string      `json:"message,omitempty"`
}

// candidate is one user the agent can pick when several share an avatar.
type candidate struct {
	OpenID   string    `json:"openid"`
	Nickname string    `json:"nickname,omitempty"`
	Avatar   string    `json:"avatar,omitempty"`
	SeenAt   time.Time `json:"seen_at"`
}

func candidatesOf(recs []proxy.Record) []candidate {
	out := make([]candidate, len(recs))
	for i, r := range recs {
		out[i] = candidate{OpenID: r.OpenID, Nickname: r.Nickname, Avatar: r.HeadImgURL, SeenAt: r.SeenAt}
	}
	return out
}

// answer is the kind of the last answer a client was sent; a push only
// goes to clients still waiting (answerNoSession, answerAmbiguous).
type answer int

const (
	answerNone answer = iota
	answerLoading
	answerCustomer
	answerNoSession
	answerNotInShop
	answerAmbiguous
	answerError
)

// conversation is the protocol state of one client.
type conversation struct {
	// gen counts requests. A job remembers the gen it was made for and
	// its answers are dropped once a newer request has arrived, so a slow
	// lookup for an old selection is never rendered.
	gen     uint64
	seq     int64                   // seq of the latest request; pushes reuse it
	query   proxy.Query             // the latest selection
	picked  string                  // openid the agent picked for it, if any
	offered map[string]proxy.Record // candidates of the latest ambiguous answer
	answer  answer

	pending   *job               // the next job for the worker
	running   bool               // a worker goroutine is running
	cancelRun context.CancelFunc // cancels the job the worker runs
}

type jobKind int

const (
	jobResolve jobKind = iota // resolve the query, then look the user up
	jobLookup                 // look up the user the agent picked
)

// job is one request being answered off the read loop.
type job struct {
	kind  jobKind
	gen   uint64
	seq   int64
	query proxy.Query  // jobResolve
	pick  proxy.Record // jobLookup
	// push marks a re-resolution after a change of the session map: it
	// answers only when the answer changes what the sidebar shows.
	push bool
}

// handle starts answering one request. It runs on the read loop and never
// blocks: resolution and lookups run on the client's worker.
func (c *client) handle(req request) {
	c.mu.Lock()
	defer c.mu.Unlock()
	v := &c.conv
	v.gen++
	v.seq = req.Seq
	if v.cancelRun != nil {
		v.cancelRun()
	}
	switch req.Type {
	case typeSelect:
		v.query, v.picked, v.offered = req.query(), "", nil
		c.hub.log.Debug("select", "seq", req.Seq, "uin", req.UIN, "avatar", req.Avatar, "nickname", req.Nickname)
		c.submitLocked(job{kind: jobResolve, query: v.query})
	case typeRefresh:
		if v.picked != "" {
			c.submitLocked(job{kind: jobLookup, pick: v.offered[v.picked]})
		} else {
			c.submitLocked(job{kind: jobResolve, query: v.query})
		}
	case typePick:
		rec, ok := v.offered[req.OpenID]
		if !ok {
			c.hub.log.Debug("pick refused", "openid", req.OpenID)
			c.sendLocked(answerError, message{Type: typeError, Seq: v.seq, Message: msgBadPick})
			return
		}
		v.picked = req.OpenID
		c.submitLocked(job{kind: jobLookup, pick: rec})
	default:
		c.hub.log.Debug("unknown request type", "type", req.Type)
		c.sendLocked(answerError, message{Type: typeError, Seq: v.seq, Message: msgBadRequest})
	}
}

// push re-resolves the selection of a client that is still waiting for
// its user to become known.
func (c *client) push() {
	c.mu.Lock()
	defer c.mu.Unlock()
	v := &c.conv
	if (v.answer != answerNoSession && v.answer != answerAmbiguous) || v.pending != nil {
		return
	}
	c.submitLocked(job{kind: jobResolve, query: v.query, push: true})
}

// submitLocked makes j the next job of the worker, replacing one that has
// not started, and starts the worker if it is not running. One worker
// per client at most, so a burst of clicks costs no goroutines.
func (c *client) submitLocked(j job) {
	v := &c.conv
	j.gen, j.seq = v.gen, v.seq
	v.pending = &j
	if v.running || c.ctx.Err() != nil {
		return
	}
	v.running = true
	// The caller runs on a goroutine the WaitGroup counts, so the
	// counter is not zero and Close cannot be waiting yet.
	c.hub.wg.Add(1)
	go c.work()
}

// work runs the pending jobs one at a time until none is left.
func (c *client) work() {
	defer c.hub.wg.Done()
	for {
		c.mu.Lock()
		v := &c.conv
		j := v.pending
		v.pending = nil
		if j == nil || c.ctx.Err() != nil {
			v.running, v.cancelRun = false, nil
			c.mu.Unlock()
			return
		}
		ctx, cancel := context.WithCancel(c.ctx)
		v.cancelRun = cancel
		c.mu.Unlock()
		c.run(ctx, *j)
		cancel()
	}
}

// run answers one job.
func (c *client) run(ctx context.Context, j job) {
	if j.kind == jobLookup {
		rec := j.pick
		if fresh, ok := c.hub.resolver.Get(rec.OpenID); ok {
			rec = fresh
		}
		c.lookup(ctx, j, rec)
		return
	}
	res := c.hub.resolver.Resolve(j.query)
	switch {
	case res.Record != nil:
		c.lookup(ctx, j, *res.Record)
	case len(res.Candidates) == 1:
		c.lookup(ctx, j, res.Candidates[0])
	case len(res.Candidates) > 1:
		c.answer(j, answerAmbiguous, message{Type: typeAmbiguous, Candidates: candidatesOf(res.Candidates)}, res.Candidates)
	default:
		c.answer(j, answerNoSession, message{Type: typeUnknown, Reason: reasonNoSession}, nil)
	}
}

// lookup asks the backend who rec is, within the lookup timeout.
func (c *client) lookup(ctx context.Context, j job, rec proxy.Record) {
	if !c.answer(j, answerLoading, message{Type: typeLoading, OpenID: rec.OpenID}, nil) {
		return
	}
	c.hub.log.Debug("lookup", "openid", rec.OpenID)
	lctx, cancel := context.WithTimeout(ctx, c.hub.lookupTimeout)
	cust, err := c.hub.backend.Lookup(lctx, rec.OpenID)
	timedOut := errors.Is(lctx.Err(), context.DeadlineExceeded)
	cancel()
	if ctx.Err() != nil {
		return // superseded or closing: nobody waits for this answer
	}
	switch {
	case err == nil && cust != nil:
		c.answer(j, answerCustomer, message{Type: typeCustomer, OpenID: rec.OpenID, Nickname: rec.Nickname, Customer: cust}, nil)
	case err == nil || errors.Is(err, ErrNotFound):
		c.answer(j, answerNotInShop, message{Type: typeUnknown, Reason: reasonNotInShop, OpenID: rec.OpenID}, nil)
	case timedOut || errors.Is(err, context.DeadlineExceeded):
		// Backend errors may quote the openid (a URL, a query), so the
		// error text is logged at Debug only.
		c.hub.log.Warn("customer lookup timed out", "timeout", c.hub.lookupTimeout)
		c.hub.log.Debug("customer lookup timed out", "openid", rec.OpenID, "err", err)
		c.answer(j, answerError, message{Type: typeError, Message: msgTimeout}, nil)
	default:
		c.hub.log.Warn("customer lookup failed")
		c.hub.log.Debug("customer lookup failed", "openid", rec.OpenID, "err", err)
		c.answer(j, answerError, message{Type: typeError, Message: msgLookupFailed}, nil)
	}
}

// answer sends msg as the answer to j unless a newer request has arrived.
// offered are the candidates of an ambiguous answer. It reports whether
// j is still current.
func (c *client) answer(j job, kind answer, msg message, offered []proxy.Record) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	v := &c.conv
	if j.gen != v.gen || c.ctx.Err() != nil {
		return false
	}
	var offer map[string]proxy.Record
	if kind == answerAmbiguous {
		offer = make(map[string]proxy.Record, len(offered))
		for _, r := range offered {
			offer[r.OpenID] = r
		}
	}
	if j.push && kind == v.answer && (kind != answerAmbiguous || sameOpenIDs(offer, v.offered)) {
		return true // nothing new to show
	}
	if kind == answerAmbiguous {
		v.offered = offer
	}
	msg.Seq = j.seq
	c.sendLocked(kind, msg)
	return true
}

func sameOpenIDs(a, b map[string]proxy.Record) bool {
	return maps.EqualFunc(a, b, func(proxy.Record, proxy.Record) bool { return true })
}

// sendLocked queues msg without blocking. A client whose queue is full
// has stopped reading; it is dropped and its page reconnects.
func (c *client) sendLocked(kind answer, msg message) {
	data, err := json.Marshal(msg)
	if err != nil {
		c.hub.log.Error("encode message", "type", msg.Type, "err", err)
		return
	}
	c.conv.answer = kind
	select {
	case c.send <- data:
	default:
		c.close("send queue full")
	}
}
