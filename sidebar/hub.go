package sidebar

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/kfsidebar/kfsidebar/proxy/console"
	"github.com/kfsidebar/kfsidebar/sidebar/quickreply"
	"github.com/kfsidebar/kfsidebar/sidebar/shop"
)

// Resolver is what the hub needs from the session map: it turns what the
// page shows about a chat into a known user. chats.Sessions implements it;
// tests use a fake.
type Resolver interface {
	// Resolve answers which known user a chat in the page is.
	Resolve(q console.Query) console.Resolution
	// Get returns the freshest record of a user the agent picked.
	Get(openid string) (console.Record, bool)
	// Subscribe signals after every change, so a chat selected before its
	// accept response was scanned is answered as soon as it is; cancel
	// stops the signals and closes the channel.
	Subscribe() (<-chan struct{}, func())
}

// QuickReplySource is where the sidebar's quick replies come from: the
// replies kept in the database plus the console's own. quickreply.Store
// implements it; tests use a fake.
type QuickReplySource interface {
	// Groups returns every group, in the order the sidebar lists them.
	Groups(ctx context.Context) ([]quickreply.Group, error)
	// Subscribe signals after every change, so open sidebars show an
	// edited reply at once; cancel stops the signals and closes the
	// channel.
	Subscribe() (<-chan struct{}, func())
}

// BindingStore remembers which customer the agent bound a chat to when
// the automatic match failed. Bindings implements it.
type BindingStore interface {
	// Bind binds the chat to the customer with the shop's id, replacing
	// an earlier binding.
	Bind(ctx context.Context, chatKey, customerID string) error
	// Unbind forgets the chat's binding; none is not an error.
	Unbind(ctx context.Context, chatKey string) error
	// Lookup returns the customer the chat is bound to, if any.
	Lookup(ctx context.Context, chatKey string) (customerID string, ok bool, err error)
}

// RevealRecorder records that the agent revealed a masked field, so a
// shop can see who looked at which customer's phone number. RevealLog
// implements it.
type RevealRecorder interface {
	Record(ctx context.Context, openid, field string) error
}

var (
	_ QuickReplySource = (*quickreply.Store)(nil)
	_ BindingStore     = (*Bindings)(nil)
	_ RevealRecorder   = (*RevealLog)(nil)
)

// Defaults of HubOptions, and the websocket timings. Pings every 25 s keep
// idle connections alive through anything that drops quiet TCP flows, and
// a peer that has not answered for 60 s is gone (a closed laptop lid).
const (
	defaultLookupTimeout = 5 * time.Second
	defaultIdentifyWait  = 3 * time.Second
	defaultSendBuffer    = 32
	maxMessageSize       = 64 << 10
	defaultPingPeriod    = 25 * time.Second
	defaultPongWait      = 60 * time.Second
	defaultWriteWait     = 10 * time.Second
)

// HubOptions configure a Hub.
type HubOptions struct {
	// Resolver maps a chat in the page to a known user. Required.
	Resolver Resolver
	// Backend answers who a user is in the shop. Required.
	Backend shop.Backend
	// Token is the secret carried by the injected script URL
	// (?t=) and checked on the websocket, so that no other page and no
	// other local program can ask for customer data. Required.
	Token string
	// AllowedOrigins are the exact Origin values accepted on the
	// websocket, e.g. "https://mpkf.weixin.qq.com". A request without an
	// Origin is refused: every browser sends one on a websocket.
	AllowedOrigins []string
	// LookupTimeout bounds each Backend lookup; default 5s.
	LookupTimeout time.Duration
	// IdentifyWait is how long a chat whose evidence cannot tell who it
	// is shows 识别中 and waits for stronger evidence (a record learned
	// late, the console's own history request) before the agent is asked
	// to pick; default 3s. Long enough for the console's requests that
	// follow a click, short enough that an agent does not wait on it.
	IdentifyWait time.Duration
	// SendBuffer is how many messages may wait for a tab before the hub
	// stops reading its requests; default 32. A tab that asks faster than
	// it reads waits, and is answered in full; a tab whose writes stall
	// for 10 s is dropped (its page reconnects). Nothing the hub does for
	// other tabs ever waits for one tab.
	SendBuffer int
	// QuickReplies are pushed to every sidebar on connect and on change.
	// Optional: nil means no quick replies.
	QuickReplies QuickReplySource
	// Bindings lets the agent bind a chat the automatic match failed on
	// to a customer found by search. Optional: nil means searches work but
	// binds are refused.
	Bindings BindingStore
	// Reveals records every reveal of a masked field; a reveal that
	// cannot be recorded is refused. Optional: nil means reveals are
	// answered without a record (tests).
	Reveals RevealRecorder
	// Sources read the 来源 that SessionFrom gives (see Hub.SessionFrom).
	// Optional: nil shows SessionFrom's raw value only.
	Sources *Sources
	// Logger gets connection events at Info and customer identifiers only
	// at Debug; default discards.
	Logger *slog.Logger
}

// Hub serves the sidebar script and its websocket. Each connected tab has
// a reader and a writer goroutine, plus at most one lookup goroutine while
// a selection is being answered, one per running search (a newer search
// cancels the one before; at most 4) and, from its first reveal on, one
// that records its reveals in order.
type Hub struct {
	resolver      Resolver
	backend       shop.Backend
	replies       QuickReplySource
	bindings      BindingStore
	reveals       RevealRecorder
	sources       *Sources
	live          live // 来源 and tracking steps from the push gateway; see source.go
	tokenSum      [sha256.Size]byte
	origins       map[string]bool
	lookupTimeout time.Duration
	identifyWait  time.Duration
	sendBuffer    int
	log           *slog.Logger

	// Websocket timings; tests shorten them.
	pingPeriod, pongWait, writeWait time.Duration
	// now is the clock of the reveals' limits; tests move it.
	now func() time.Time

	upgrader    websocket.Upgrader
	ctx         context.Context // cancelled by Close; parent of every lookup
	cancel      context.CancelFunc
	unsubscribe func()
	wg          sync.WaitGroup // every goroutine the hub started
	closeOnce   sync.Once

	mu      sync.Mutex
	closed  bool
	clients map[*client]struct{}
	// replyMsg is the latest quick_replies message, encoded once for
	// every client; nil until the first load.
	replyMsg []byte
}

// NewHub checks the options and starts listening to the Resolver's change
// signals. Close releases it.
func NewHub(opts HubOptions) (*Hub, error) {
	switch {
	case opts.Resolver == nil:
		return nil, errors.New("new hub: Resolver is required")
	case opts.Backend == nil:
		return nil, errors.New("new hub: Backend is required")
	case opts.Token == "":
		return nil, errors.New("new hub: Token is required")
	}
	h := &Hub{
		resolver:      opts.Resolver,
		backend:       opts.Backend,
		replies:       opts.QuickReplies,
		bindings:      opts.Bindings,
		reveals:       opts.Reveals,
		sources:       opts.Sources,
		tokenSum:      sha256.Sum256([]byte(opts.Token)),
		origins:       make(map[string]bool, len(opts.AllowedOrigins)),
		lookupTimeout: opts.LookupTimeout,
		identifyWait:  opts.IdentifyWait,
		sendBuffer:    opts.SendBuffer,
		log:           opts.Logger,
		pingPeriod:    defaultPingPeriod,
		pongWait:      defaultPongWait,
		writeWait:     defaultWriteWait,
		now:           time.Now,
		clients:       make(map[*client]struct{}),
	}
	for _, o := range opts.AllowedOrigins {
		if o != "" {
			h.origins[o] = true
		}
	}
	if h.lookupTimeout <= 0 {
		h.lookupTimeout = defaultLookupTimeout
	}
	if h.identifyWait <= 0 {
		h.identifyWait = defaultIdentifyWait
	}
	if h.sendBuffer <= 0 {
		h.sendBuffer = defaultSendBuffer
	}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	// Origin and token are checked before Upgrade is called.
	h.upgrader.CheckOrigin = func(*http.Request) bool { return true }
	h.ctx, h.cancel = context.WithCancel(context.Background())
	changes, unsubscribe := h.resolver.Subscribe()
	h.unsubscribe = unsubscribe
	h.wg.Go(func() { h.watch(changes) })
	if h.replies != nil {
		replyChanges, stop := h.replies.Subscribe()
		h.unsubscribe = func() { unsubscribe(); stop() }
		h.wg.Go(func() { h.watchReplies(replyChanges) })
	}
	return h, nil
}

// ServeHTTP answers the reserved paths of the console origin:
// sidebar.js, the websocket ws, and 404 for anything else.
func (h *Hub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	name, ok := strings.CutPrefix(r.URL.Path, console.ReservedPrefix)
	switch {
	case ok && name == "sidebar.js":
		serveScript(w, r)
	case ok && name == "ws":
		h.serveWS(w, r)
	default:
		http.NotFound(w, r)
	}
}

// Clients is the number of connected sidebars.
func (h *Hub) Clients() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.clients)
}

// Close disconnects every sidebar, refuses new ones and returns once every
// goroutine of the hub has returned.
func (h *Hub) Close() {
	h.closeOnce.Do(func() {
		h.mu.Lock()
		h.closed = true
		clients := make([]*client, 0, len(h.clients))
		for c := range h.clients {
			clients = append(clients, c)
		}
		h.mu.Unlock()
		h.cancel()
		h.unsubscribe()
		for _, c := range clients {
			c.close("hub closed")
		}
		h.wg.Wait()
	})
}

// serveWS checks Origin and token, then runs the connection's read loop
// in the handler's goroutine and its writer in another.
func (h *Hub) serveWS(w http.ResponseWriter, r *http.Request) {
	origin := r.Header.Get("Origin")
	if !h.origins[origin] {
		h.log.Info("websocket refused", "reason", "origin", "origin", origin)
		http.Error(w, "forbidden", http.StatusForbidden)
		return
	}
	sum := sha256.Sum256([]byte(r.URL.Query().Get("t")))
	if subtle.ConstantTimeCompare(sum[:], h.tokenSum[:]) != 1 {
		h.log.Info("websocket refused", "reason", "token", "origin", origin)
		http.Error(w, "forbidden", http.StatusForbidden)
		return
	}
	h.mu.Lock()
	closed := h.closed
	h.mu.Unlock()
	if closed {
		http.Error(w, "shutting down", http.StatusServiceUnavailable)
		return
	}
	conn, err := h.upgrader.Upgrade(w, r, nil)
	if err != nil {
		// Upgrade has answered the request already.
		h.log.Info("websocket upgrade failed", "err", err)
		return
	}
	c := newClient(h, conn)
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		conn.Close()
		return
	}
	h.clients[c] = struct{}{}
	n := len(h.clients)
	replies := h.replyMsg
	// Added under mu, so Close cannot be waiting yet.
	h.wg.Add(2)
	h.mu.Unlock()
	h.log.Info("sidebar connected", "clients", n)
	if replies != nil {
		c.out.putReplies(replies)
	}
	go c.writeLoop()
	c.readLoop()
}

// remove forgets a closed client.
func (h *Hub) remove(c *client, reason string) {
	h.mu.Lock()
	_, ok := h.clients[c]
	delete(h.clients, c)
	n := len(h.clients)
	h.mu.Unlock()
	if ok {
		h.log.Info("sidebar disconnected", "reason", reason, "clients", n)
	}
}

// watch re-resolves every client's selection after every change of the
// session map, until Close cancels the subscription.
func (h *Hub) watch(changes <-chan struct{}) {
	for {
		select {
		case _, ok := <-changes:
			if !ok {
				return
			}
		case <-h.ctx.Done():
			return
		}
		h.mu.Lock()
		clients := make([]*client, 0, len(h.clients))
		for c := range h.clients {
			clients = append(clients, c)
		}
		h.mu.Unlock()
		for _, c := range clients {
			c.push()
		}
	}
}

// watchReplies loads the quick replies at start and after every change,
// and pushes them to every sidebar, until Close.
func (h *Hub) watchReplies(changes <-chan struct{}) {
	for {
		h.loadReplies()
		select {
		case _, ok := <-changes:
			if !ok {
				return
			}
		case <-h.ctx.Done():
			return
		}
	}
}

// loadReplies reads the quick replies and sends them to every client. A
// client that connects meanwhile gets them either here or on connect:
// the message is stored and the clients listed under one lock.
func (h *Hub) loadReplies() {
	ctx, cancel := context.WithTimeout(h.ctx, h.lookupTimeout)
	groups, err := h.replies.Groups(ctx)
	cancel()
	if err != nil {
		if h.ctx.Err() == nil {
			h.log.Warn("could not load quick replies", "err", err)
		}
		return
	}
	if groups == nil {
		groups = []quickreply.Group{}
	}
	data, err := json.Marshal(message{Type: typeQuickReplies, Groups: groups})
	if err != nil {
		h.log.Error("encode quick replies", "err", err)
		return
	}
	h.mu.Lock()
	h.replyMsg = data
	clients := make([]*client, 0, len(h.clients))
	for c := range h.clients {
		clients = append(clients, c)
	}
	h.mu.Unlock()
	for _, c := range clients {
		c.out.putReplies(data)
	}
}
