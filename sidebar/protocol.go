package sidebar

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"strings"
	"time"

	"github.com/kfsidebar/kfsidebar/proxy/console"
	"github.com/kfsidebar/kfsidebar/sidebar/quickreply"
	"github.com/kfsidebar/kfsidebar/sidebar/shop"
)

// Message types of the websocket protocol. The package comment documents
// the protocol; the names match the ones the sidebar script uses.
const (
	// client → hub: the selection, which supersedes earlier ones
	typeSelect  = "select"
	typePick    = "pick"
	typeRefresh = "refresh"
	typeBind    = "bind"
	typeUnbind  = "unbind"
	typeOthers  = "others"
	// client → hub: more page evidence about the current selection
	typeEvidence = "evidence"
	// client → hub: side requests, answered without touching the selection
	typeReveal = "reveal"
	typeSearch = "search"

	// hub → client
	typeLoading      = "loading"
	typeCustomer     = "customer"
	typeUnknown      = "unknown"
	typeAmbiguous    = "ambiguous"
	typeError        = "error"
	typeRevealed     = "revealed"
	typeResults      = "results"
	typeQuickReplies = "quick_replies"
)

// Reasons of an "unknown" answer, and of an "ambiguous" one.
const (
	reasonNoSession = "no_session"  // nobody known matches this chat (yet)
	reasonNotInShop = "not_in_shop" // the openid is known, the shop is not
	reasonLookalike = "lookalike"   // the evidence cannot tell who it is: the agent picks
	reasonOthers    = "others"      // the agent asked for the other candidates
)

// How the sidebar knows who a chat is, as the page shows it: the
// identity of a loading, customer or unknown/not_in_shop answer.
const (
	identityPending   = "pending"   // 识别中: waiting briefly for stronger evidence
	identityConfirmed = "confirmed" // 已识别: the console's own request or the card's fans_uin
	identityAvatar    = "avatar"    // 按头像匹配: the only known user with this avatar and nickname
	identityPicked    = "picked"    // 客服选择: the agent picked the user
	identityBound     = "bound"     // 已关联: the agent bound the chat to a customer
)

// identityOf is the identity a resolver's evidence gives.
func identityOf(evidence string) string {
	switch evidence {
	case console.EvidenceOpened, console.EvidenceUIN:
		return identityConfirmed
	case console.EvidenceAvatar:
		return identityAvatar
	}
	return ""
}

// Error texts shown to the agent as they are: short, Chinese, and free of
// internals (backend errors go to the log, not to the page).
const (
	msgLookupFailed  = "查询客户资料失败，请重试"
	msgTimeout       = "查询超时，请重试"
	msgUnavailable   = "店铺系统暂时不可用"
	msgStale         = "刷新失败，显示的是上次查到的资料"
	msgBadPick       = "请从列表中选择客户"
	msgBadRequest    = "无法识别的请求"
	msgBadBind       = "请从搜索结果中选择要关联的客户"
	msgNoBindings    = "没有启用手动关联"
	msgCannotBind    = "认不出这个会话，无法关联"
	msgBindFailed    = "保存关联失败，请重试"
	msgBadReveal     = "这一项已不在当前客户资料里"
	msgRevealFailed  = "无法记录这次查看，请重试"
	msgSearchFailed  = "查找失败，请重试"
	msgSearchTimeout = "查找超时，请重试"
)

// searchLimit is how many customers a search offers: enough to spot the
// right one, few enough to read at a glance.
const searchLimit = 10

// maxQueryRunes bounds a search query; nobody types more to find a
// customer.
const maxQueryRunes = 64

// request is any message from a sidebar. Fields not used by its type are
// empty.
type request struct {
	Type       string `json:"type"`
	Seq        int64  `json:"seq"`
	UIN        string `json:"uin,omitempty"`
	Opened     string `json:"opened,omitempty"`
	Avatar     string `json:"avatar,omitempty"`
	Nickname   string `json:"nickname,omitempty"`
	Peers      int    `json:"peers,omitempty"`
	For        int64  `json:"for,omitempty"`
	OpenID     string `json:"openid,omitempty"`
	Field      string `json:"field,omitempty"`
	Query      string `json:"query,omitempty"`
	CustomerID string `json:"customer_id,omitempty"`
}

// query is the selection carried by a select request.
func (r request) query() console.Query {
	return console.Query{Opened: r.Opened, UIN: r.UIN, Avatar: r.Avatar, Nickname: r.Nickname, Peers: r.Peers}
}

// message is any message to a sidebar. Seq echoes the request it answers,
// so the sidebar can ignore answers to requests it has since replaced.
type message struct {
	Type       string         `json:"type"`
	Seq        int64          `json:"seq"`
	OpenID     string         `json:"openid,omitempty"`
	Nickname   string         `json:"nickname,omitempty"`
	Customer   *shop.Customer `json:"customer,omitempty"`
	Reason     string         `json:"reason,omitempty"`
	Candidates []candidate    `json:"candidates,omitempty"`
	Message    string         `json:"message,omitempty"`
	// loading, customer, unknown (not_in_shop): how the sidebar knows
	// who the chat is
	Identity string `json:"identity,omitempty"`
	// customer
	Bound     bool        `json:"bound,omitempty"`
	Masked    []string    `json:"masked,omitempty"`
	FetchedAt *time.Time  `json:"fetched_at,omitempty"`
	Stale     bool        `json:"stale,omitempty"`
	Error     string      `json:"error,omitempty"`
	Health    *healthInfo `json:"health,omitempty"`
	// revealed
	Field string `json:"field,omitempty"`
	Value string `json:"value,omitempty"`
	// results
	Query     string      `json:"query,omitempty"`
	Customers []searchHit `json:"customers,omitzero"`
	// quick_replies
	Groups []quickreply.Group `json:"groups,omitzero"`
}

// candidate is one user the agent can pick when several share an avatar.
type candidate struct {
	OpenID   string    `json:"openid"`
	Nickname string    `json:"nickname,omitempty"`
	Avatar   string    `json:"avatar,omitempty"`
	SeenAt   time.Time `json:"seen_at"`
}

func candidatesOf(recs []console.Record) []candidate {
	out := make([]candidate, len(recs))
	for i, r := range recs {
		out[i] = candidate{OpenID: r.OpenID, Nickname: r.Nickname, Avatar: r.HeadImgURL, SeenAt: r.SeenAt}
	}
	return out
}

// searchHit is one customer a search found, masked like a customer card.
type searchHit struct {
	ID     string `json:"id"`
	OpenID string `json:"openid,omitempty"`
	Name   string `json:"name"`
	Phone  string `json:"phone,omitempty"`
	Level  string `json:"level,omitempty"`
}

// healthInfo is the backend's trouble as the page shows it: the state
// and when the next attempt is due, never the error itself.
type healthInfo struct {
	State   string     `json:"state"`
	RetryAt *time.Time `json:"retry_at,omitempty"`
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

// reveal answers a reveal request with the real value of a field of the
// customer on screen, once the reveal is recorded. It runs off the read
// loop: recording writes to the database.
func (c *client) reveal(req request) {
	c.mu.Lock()
	sh := c.conv.shown
	c.mu.Unlock()
	var value string
	ok := sh != nil
	if ok {
		value, ok = sh.fields[req.Field]
	}
	if !ok {
		c.hub.log.Debug("reveal refused", "field", req.Field)
		c.enqueue(message{Type: typeError, Seq: req.Seq, Field: req.Field, Message: msgBadReveal})
		return
	}
	c.hub.wg.Add(1) // the read loop is counted, so Close is not waiting yet
	go func() {
		defer c.hub.wg.Done()
		if rec := c.hub.reveals; rec != nil {
			ctx, cancel := context.WithTimeout(c.ctx, c.hub.lookupTimeout)
			err := rec.Record(ctx, sh.subject, req.Field)
			cancel()
			if err != nil {
				c.hub.log.Warn("could not record a reveal; the value stays hidden", "err", err)
				c.enqueue(message{Type: typeError, Seq: req.Seq, Field: req.Field, Message: msgRevealFailed})
				return
			}
		}
		c.hub.log.Debug("reveal", "subject", sh.subject, "field", req.Field)
		c.enqueue(message{Type: typeRevealed, Seq: req.Seq, Field: req.Field, Value: value})
	}()
}

// search answers a search request off the read loop. A newer search
// cancels the running one: the page searches as the agent types.
func (c *client) search(req request) {
	q := strings.TrimSpace(req.Query)
	if r := []rune(q); len(r) > maxQueryRunes {
		q = string(r[:maxQueryRunes])
	}
	c.mu.Lock()
	v := &c.conv
	if v.searchCancel != nil {
		v.searchCancel()
	}
	v.searchGen++
	gen := v.searchGen
	ctx, cancel := context.WithTimeout(c.ctx, c.hub.lookupTimeout)
	v.searchCancel = cancel
	c.mu.Unlock()
	c.hub.wg.Add(1) // the read loop is counted, so Close is not waiting yet
	go func() {
		defer c.hub.wg.Done()
		defer cancel()
		list, err := c.hub.backend.Search(ctx, q, searchLimit)
		if errors.Is(ctx.Err(), context.Canceled) {
			return // superseded or closing
		}
		msg := message{Type: typeResults, Seq: req.Seq, Query: q, Customers: []searchHit{}}
		found := map[string]bool{}
		switch {
		case err != nil && (ctx.Err() != nil || errors.Is(err, context.DeadlineExceeded)):
			c.hub.log.Warn("customer search timed out", "timeout", c.hub.lookupTimeout)
			msg = message{Type: typeError, Seq: req.Seq, Message: msgSearchTimeout}
		case err != nil:
			c.hub.log.Warn("customer search failed")
			c.hub.log.Debug("customer search failed", "query", q, "err", err)
			msg = message{Type: typeError, Seq: req.Seq, Message: msgSearchFailed}
		default:
			for _, cu := range list {
				id := cu.ID
				if id == "" {
					id = cu.OpenID
				}
				if id == "" || found[id] {
					continue
				}
				found[id] = true
				msg.Customers = append(msg.Customers, searchHit{ID: id, OpenID: cu.OpenID, Name: cu.Name,
					Phone: maskPhone(cu.Phone), Level: cu.Level})
			}
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		if gen != c.conv.searchGen {
			return
		}
		if msg.Type == typeResults {
			c.conv.found = found
		}
		c.enqueue(msg)
	}()
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

// enqueue queues msg without blocking. A client whose queue is full has
// stopped reading; it is dropped and its page reconnects.
func (c *client) enqueue(msg message) {
	data, err := json.Marshal(msg)
	if err != nil {
		c.hub.log.Error("encode message", "type", msg.Type, "err", err)
		return
	}
	c.enqueueData(data)
}

func (c *client) enqueueData(data []byte) {
	select {
	case c.send <- data:
	default:
		c.close("send queue full")
	}
}
