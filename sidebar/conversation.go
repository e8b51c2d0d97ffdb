package sidebar

import (
	"context"
	"encoding/json"
	"maps"
	"time"

	"github.com/kfsidebar/kfsidebar/proxy/console"
	"github.com/kfsidebar/kfsidebar/sidebar/shop"
)

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
	answerPending // 识别中: the evidence may still improve
)

// conversation is the protocol state of one client.
type conversation struct {
	// gen counts selection requests. A job remembers the gen it was made
	// for and its answers are dropped once a newer request has arrived,
	// so a slow lookup for an old selection is never rendered.
	gen     uint64
	seq     int64                     // seq of the latest selection request; pushes reuse it
	query   console.Query             // the latest selection, with the evidence the page added since
	picked  string                    // openid the agent picked for it, if any
	offered map[string]console.Record // candidates of the latest ambiguous answer
	found   map[string]bool           // customer ids of the latest search: what bind accepts
	answer  answer
	shown   *shown // the customer on screen, while one is
	// shownID and identity are the user the latest loading or customer
	// answer named and how it was known, so a re-resolution that changes
	// neither sends nothing.
	shownID, identity string
	// pickedOver is the user the evidence named when the agent picked
	// another: the agent's choice stands against that evidence, but not
	// against stronger evidence that names someone else later.
	pickedOver string
	// waitUntil is when the selection stops waiting for stronger evidence
	// and the agent is asked; zero until a resolution first waits.
	waitUntil time.Time

	pending   *job               // the next job for the worker
	running   bool               // a worker goroutine is running
	cancelRun context.CancelFunc // cancels the job the worker runs

	searchGen    uint64             // counts searches; only the latest answers
	searchCancel context.CancelFunc // cancels the running search
}

// shown is what a reveal needs of the customer on screen.
type shown struct {
	subject string            // who the reveal log names: the openid, else the chat key
	fields  map[string]string // revealable field → real value
	orders  []shop.Order      // order numbers, waybills and latest steps, for live tracking
}

type jobKind int

const (
	jobResolve jobKind = iota // resolve the query, then look the user up
	jobLookup                 // look up the user the agent picked
	jobBind                   // bind the chat to a customer, then show them
	jobUnbind                 // forget the chat's binding, then resolve again
	jobOthers                 // offer every candidate: the agent says "not this one"
)

// job is one request being answered off the read loop.
type job struct {
	kind  jobKind
	gen   uint64
	seq   int64
	query console.Query  // the selection
	pick  console.Record // the user the agent picked, if any
	// customerID is the customer a jobBind binds the chat to.
	customerID string
	// push marks a re-resolution after a change of the session map or of
	// the page's evidence: it answers only when the answer changes what
	// the sidebar shows.
	push bool
}

// handle starts answering one request. It runs on the read loop and never
// blocks: resolution, lookups, searches and reveals run on other
// goroutines.
func (c *client) handle(req request) {
	switch req.Type {
	case typeReveal:
		c.reveal(req)
		return
	case typeSearch:
		c.search(req)
		return
	case typeEvidence:
		c.evidence(req)
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	v := &c.conv
	v.gen++
	v.seq = req.Seq
	v.shown, v.shownID, v.identity = nil, "", ""
	if v.cancelRun != nil {
		v.cancelRun()
	}
	picked := func() console.Record { return v.offered[v.picked] } // zero when nothing was picked
	switch req.Type {
	case typeSelect:
		v.query, v.picked, v.pickedOver, v.offered, v.found = req.query(), "", "", nil, nil
		v.waitUntil = time.Time{}
		c.hub.log.Debug("select", "seq", req.Seq, "opened", req.Opened, "uin", req.UIN, "avatar", req.Avatar,
			"nickname", req.Nickname, "peers", req.Peers)
		c.submitLocked(job{kind: jobResolve, query: v.query})
	case typeOthers:
		c.submitLocked(job{kind: jobOthers, query: v.query})
	case typeRefresh:
		if v.picked != "" {
			c.submitLocked(job{kind: jobLookup, query: v.query, pick: picked()})
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
		v.pickedOver = ""
		if res := c.hub.resolver.Resolve(v.query); res.Record != nil && res.Record.OpenID != req.OpenID {
			v.pickedOver = res.Record.OpenID
		}
		c.submitLocked(job{kind: jobLookup, query: v.query, pick: rec})
	case typeBind, typeUnbind:
		switch {
		case c.hub.bindings == nil:
			c.sendLocked(answerError, message{Type: typeError, Seq: v.seq, Message: msgNoBindings})
		case req.Type == typeUnbind:
			c.submitLocked(job{kind: jobUnbind, query: v.query, pick: picked()})
		case !v.found[req.CustomerID]:
			c.hub.log.Debug("bind refused", "customer", req.CustomerID)
			c.sendLocked(answerError, message{Type: typeError, Seq: v.seq, Message: msgBadBind})
		default:
			c.submitLocked(job{kind: jobBind, query: v.query, pick: picked(), customerID: req.CustomerID})
		}
	default:
		c.hub.log.Debug("unknown request type", "type", req.Type)
		c.sendLocked(answerError, message{Type: typeError, Seq: v.seq, Message: msgBadRequest})
	}
}

// push re-resolves the selection after the session map changed: a user
// learned late is shown as soon as the console names them, and a view
// the new records contradict is corrected at once.
func (c *client) push() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.repushLocked()
}

// repushLocked re-resolves the current selection: a resolution waiting
// for stronger evidence is woken, anything else gets a push job. A
// selection nobody answered yet, or one answered with an error, is left
// alone.
func (c *client) repushLocked() {
	v := &c.conv
	switch {
	case v.answer == answerNone || v.answer == answerError:
	case v.running && v.answer == answerPending:
		select {
		case c.kick <- struct{}{}:
		default: // a kick is pending; it re-reads everything
		}
	case v.pending == nil:
		c.submitLocked(job{kind: jobResolve, query: v.query, push: true})
	}
}

// evidence takes more of the page's evidence about the current selection
// (the console's history request, seen after the select was sent) and
// resolves it again. Evidence for an older selection is ignored.
func (c *client) evidence(req request) {
	c.mu.Lock()
	defer c.mu.Unlock()
	v := &c.conv
	if req.For != v.seq || req.For == 0 {
		c.hub.log.Debug("evidence for an older selection", "for", req.For, "seq", v.seq)
		return
	}
	if v.query.Opened == req.Opened {
		return
	}
	c.hub.log.Debug("evidence", "seq", v.seq, "opened", req.Opened)
	v.query.Opened = req.Opened
	c.repushLocked()
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

// answer sends msg as the answer to j unless a newer request has arrived.
// offered are the candidates of an ambiguous answer, sh what a customer
// answer lets the agent reveal. It reports whether j is still current.
func (c *client) answer(j job, kind answer, msg message, offered []console.Record, sh *shown) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	v := &c.conv
	if j.gen != v.gen || c.ctx.Err() != nil {
		return false
	}
	var offer map[string]console.Record
	if kind == answerAmbiguous {
		offer = make(map[string]console.Record, len(offered))
		for _, r := range offered {
			offer[r.OpenID] = r
		}
	}
	switch {
	case kind == answerPending && v.answer == answerPending:
		return true // still waiting: the page shows it already
	case j.push && kind == v.answer && kind != answerCustomer && kind != answerLoading &&
		(kind != answerAmbiguous || sameOpenIDs(offer, v.offered)) && msg.Identity == v.identity:
		return true // nothing new to show
	}
	if kind == answerAmbiguous {
		v.offered = offer
	}
	v.shown = sh
	switch kind {
	case answerLoading, answerCustomer, answerNotInShop:
		v.shownID, v.identity = msg.OpenID, msg.Identity
	default:
		v.shownID, v.identity = "", msg.Identity
	}
	msg.Seq = j.seq
	c.sendLocked(kind, msg)
	c.followLocked(kind, msg)
	return true
}

func sameOpenIDs(a, b map[string]console.Record) bool {
	return maps.EqualFunc(a, b, func(console.Record, console.Record) bool { return true })
}

// sendLocked queues the answer msg without blocking and remembers its
// kind.
func (c *client) sendLocked(kind answer, msg message) {
	c.conv.answer = kind
	c.enqueue(msg)
}

// enqueue queues msg without blocking (see outbox).
func (c *client) enqueue(msg message) {
	data, err := json.Marshal(msg)
	if err != nil {
		c.hub.log.Error("encode message", "type", msg.Type, "err", err)
		return
	}
	c.enqueueData(data)
}

func (c *client) enqueueData(data []byte) {
	if !c.out.put(data) {
		c.close("send queue overflow")
	}
}
