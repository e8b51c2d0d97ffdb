package shop

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"
)

// Defaults of CacheOptions.
const (
	DefaultCacheTTL         = 30 * time.Second
	DefaultFailureThreshold = 5
	DefaultOpenFor          = 30 * time.Second
	DefaultCallTimeout      = 5 * time.Second
	DefaultMaxStale         = time.Hour
	DefaultMaxEntries       = 10000
)

// CacheOptions configure a Cache. Zero values mean the defaults.
type CacheOptions struct {
	// TTL is how long an answer (a customer or "not found") is served
	// without asking the backend again; default 30s.
	TTL time.Duration
	// FailureThreshold is how many failures in a row open the circuit;
	// default 5.
	FailureThreshold int
	// OpenFor is how long an open circuit keeps the backend from being
	// called before one trial call; default 30s.
	OpenFor time.Duration
	// Timeout bounds every call to the backend, whoever waits for it;
	// default 5s.
	Timeout time.Duration
	// MaxStale is how long the last good answer is still shown (marked
	// stale) while refreshes fail; default 1h. Older data is dropped: the
	// proxy keeps customer data only briefly.
	MaxStale time.Duration
	// MaxEntries bounds the number of cached answers; default 10000. The
	// oldest go first.
	MaxEntries int
	// Now is the clock; default time.Now. Tests pass a fake one.
	Now func() time.Time
	// Logger gets circuit changes at Warn/Info (never customer data) and
	// each failure at Debug; default discards.
	Logger *slog.Logger
}

// Cache puts any Backend behind a short cache, one call at a time per
// customer, and a circuit breaker, so that many agents clicking the same
// chats do not hammer the shop, a failed refresh still shows the last good
// data (marked stale), and a dead shop is left alone for a while instead
// of being asked on every click. A backend call runs on its own deadline
// (Timeout), detached from the caller: a caller that gives up (the agent
// clicked on) gets the stale data or an error at once, and the answer
// still lands in the cache for the next click.
//
// Cached customers are shared between callers and must not be modified.
type Cache struct {
	backend Backend
	opts    CacheOptions
	log     *slog.Logger

	ctx    context.Context // cancelled by Close; parent of every call
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu        sync.Mutex
	entries   map[string]*cacheEntry
	calls     map[string]*cacheCall
	lastSweep time.Time
	failures  int // in a row
	open      bool
	trial     bool // the one call let through an open circuit is running
	retryAt   time.Time
	lastErr   string
	lastErrAt time.Time
}

var (
	_ Backend = (*Cache)(nil)
	_ Fresher = (*Cache)(nil)
)

// cacheEntry is the last answer for one key: a customer, or not found.
type cacheEntry struct {
	customer *Customer // nil: not found
	fetched  time.Time
}

// cacheCall is one backend call that concurrent callers of a key share.
type cacheCall struct {
	done chan struct{}
	res  Result
}

// NewCache wraps b. Close stops the calls still running.
func NewCache(b Backend, opts CacheOptions) *Cache {
	if opts.TTL <= 0 {
		opts.TTL = DefaultCacheTTL
	}
	if opts.FailureThreshold <= 0 {
		opts.FailureThreshold = DefaultFailureThreshold
	}
	if opts.OpenFor <= 0 {
		opts.OpenFor = DefaultOpenFor
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultCallTimeout
	}
	if opts.MaxStale <= 0 {
		opts.MaxStale = DefaultMaxStale
	}
	if opts.MaxStale < opts.TTL {
		opts.MaxStale = opts.TTL
	}
	if opts.MaxEntries <= 0 {
		opts.MaxEntries = DefaultMaxEntries
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	c := &Cache{
		backend: b,
		opts:    opts,
		log:     opts.Logger,
		entries: map[string]*cacheEntry{},
		calls:   map[string]*cacheCall{},
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	return c
}

// Backend returns the backend the cache wraps.
func (c *Cache) Backend() Backend { return c.backend }

// Close cancels the backend calls still running and waits for them. It
// does not close the wrapped backend.
func (c *Cache) Close() error {
	c.cancel()
	c.wg.Wait()
	return nil
}

// LookupResult answers from the cache while the answer is younger than
// TTL, else asks the backend (once for all concurrent callers of the
// openid). When that fails, the last good customer comes back with the
// error, marked stale; while the circuit is open the error wraps
// ErrCircuitOpen and the backend is not called.
func (c *Cache) LookupResult(ctx context.Context, openid string) Result {
	return c.fetch(ctx, "openid:"+openid, openid, func(ctx context.Context) (*Customer, error) {
		return c.backend.Lookup(ctx, openid)
	})
}

// Lookup is LookupResult for callers that do not show freshness: it
// returns the last good customer even when the refresh failed.
func (c *Cache) Lookup(ctx context.Context, openid string) (*Customer, error) {
	return c.LookupResult(ctx, openid).customer()
}

// Customer is Lookup for the shop's own customer id, cached the same way.
func (c *Cache) Customer(ctx context.Context, id string) (*Customer, error) {
	return c.fetch(ctx, "id:"+id, id, func(ctx context.Context) (*Customer, error) {
		return c.backend.Customer(ctx, id)
	}).customer()
}

func (r Result) customer() (*Customer, error) {
	if r.Customer != nil {
		return r.Customer, nil
	}
	return nil, r.Err
}

// Search asks the backend every time (an agent's query is rarely
// repeated), within Timeout and subject to the circuit.
func (c *Cache) Search(ctx context.Context, query string, limit int) ([]Customer, error) {
	c.mu.Lock()
	err := c.admitLocked(c.opts.Now())
	c.mu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("search: %w", err)
	}
	callCtx, cancel := context.WithTimeout(ctx, c.opts.Timeout)
	out, err := c.backend.Search(callCtx, query, limit)
	timedOut := callCtx.Err() == context.DeadlineExceeded
	cancel()
	switch {
	case err != nil && ctx.Err() != nil:
		// The caller gave up: that says nothing about the backend.
		c.abandon()
		return nil, fmt.Errorf("search: %w", err)
	case err != nil && timedOut:
		err = fmt.Errorf("no answer within %v: %w", c.opts.Timeout, err)
	}
	c.record(err, query)
	if err != nil {
		return nil, fmt.Errorf("search: %w", err)
	}
	return out, nil
}

// Health reports the circuit's state and the last failure.
func (c *Cache) Health() Health {
	c.mu.Lock()
	defer c.mu.Unlock()
	h := Health{State: HealthOK, LastError: c.lastErr, LastErrorAt: c.lastErrAt}
	switch {
	case c.open:
		h.State, h.RetryAt = HealthOpen, c.retryAt
	case c.failures > 0:
		h.State = HealthDegraded
	}
	return h
}

// fetch serves key from the cache or through one shared backend call.
// secret is the openid or id, kept out of Health and the logs.
func (c *Cache) fetch(ctx context.Context, key, secret string, call func(context.Context) (*Customer, error)) Result {
	now := c.opts.Now()
	c.mu.Lock()
	e := c.entries[key]
	if e != nil && now.Sub(e.fetched) > c.opts.MaxStale {
		delete(c.entries, key)
		e = nil
	}
	if e != nil && now.Sub(e.fetched) < c.opts.TTL {
		c.mu.Unlock()
		return e.result(nil)
	}
	cl := c.calls[key]
	if cl == nil {
		if err := c.admitLocked(now); err != nil {
			c.mu.Unlock()
			return e.result(err)
		}
		cl = &cacheCall{done: make(chan struct{})}
		c.calls[key] = cl
		c.wg.Add(1)
		go c.run(key, secret, cl, call)
	}
	c.mu.Unlock()

	select {
	case <-cl.done:
		return cl.res
	case <-ctx.Done():
		return e.result(fmt.Errorf("order backend did not answer in time: %w", ctx.Err()))
	}
}

// result is the entry as a Result: fresh with err nil, stale otherwise.
// A nil entry (nothing cached) gives just the error.
func (e *cacheEntry) result(err error) Result {
	if e == nil {
		return Result{Err: err}
	}
	if e.customer == nil { // not found
		if err == nil {
			err = fmt.Errorf("lookup: %w", ErrNotFound)
		}
		return Result{FetchedAt: e.fetched, Err: err}
	}
	return Result{Customer: e.customer, FetchedAt: e.fetched, Err: err}
}

// run makes one backend call and hands its result to every waiter.
func (c *Cache) run(key, secret string, cl *cacheCall, call func(context.Context) (*Customer, error)) {
	defer c.wg.Done()
	ctx, cancel := context.WithTimeout(c.ctx, c.opts.Timeout)
	cust, err := call(ctx)
	if err == nil && cust == nil {
		err = fmt.Errorf("lookup: %w", ErrNotFound)
	}
	if err != nil && ctx.Err() == context.DeadlineExceeded {
		err = fmt.Errorf("no answer within %v: %w", c.opts.Timeout, err)
	}
	cancel()
	c.record(err, secret)

	now := c.opts.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.calls, key)
	switch {
	case err == nil:
		c.entries[key] = &cacheEntry{customer: cust, fetched: now}
		cl.res = Result{Customer: cust, FetchedAt: now}
	case errors.Is(err, ErrNotFound):
		c.entries[key] = &cacheEntry{fetched: now}
		cl.res = Result{FetchedAt: now, Err: err}
	default:
		e := c.entries[key]
		if e != nil && (e.customer == nil || now.Sub(e.fetched) > c.opts.MaxStale) {
			e = nil // "not found" is not worth showing as stale data
		}
		cl.res = e.result(err)
	}
	c.sweepLocked(now)
	close(cl.done)
}

// admitLocked says whether the backend may be called now: always while the
// circuit is closed; when it is open, once (the trial) after retryAt.
func (c *Cache) admitLocked(now time.Time) error {
	if !c.open {
		return nil
	}
	if c.trial || now.Before(c.retryAt) {
		return fmt.Errorf("%w; trying again at %s (last error: %s)", ErrCircuitOpen,
			c.retryAt.Format(time.TimeOnly), c.lastErr)
	}
	c.trial = true
	return nil
}

// abandon gives up the trial slot of a call whose caller went away.
func (c *Cache) abandon() {
	c.mu.Lock()
	c.trial = false
	c.mu.Unlock()
}

// record counts a call's outcome towards the circuit. "Not found" is an
// answer, not a failure; a call cut short by Close is neither.
func (c *Cache) record(err error, secret string) {
	if c.ctx.Err() != nil {
		return
	}
	now := c.opts.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	wasTrial := c.trial
	c.trial = false
	if err == nil || errors.Is(err, ErrNotFound) {
		if c.open {
			c.log.Info("order backend answers again; calls resumed", "after", c.lastErr)
		}
		c.failures, c.open = 0, false
		return
	}
	c.failures++
	c.lastErr, c.lastErrAt = redact(err.Error(), secret), now
	c.log.Debug("order backend call failed", "key", secret, "err", err, "failures", c.failures)
	if wasTrial || (!c.open && c.failures >= c.opts.FailureThreshold) {
		c.open, c.retryAt = true, now.Add(c.opts.OpenFor)
		c.log.Warn("order backend keeps failing; not calling it for a while",
			"failures", c.failures, "retry_at", c.retryAt.Format(time.RFC3339), "err", c.lastErr)
	}
}

// redact keeps a customer's openid, id or query out of an error message
// meant for logs and the status page.
func redact(msg, secret string) string {
	if strings.TrimSpace(secret) == "" {
		return msg
	}
	return strings.ReplaceAll(msg, secret, "…")
}

// sweepLocked drops answers too old to be shown, at most once per TTL,
// and the oldest answers when there are more than MaxEntries.
func (c *Cache) sweepLocked(now time.Time) {
	if len(c.entries) <= c.opts.MaxEntries && now.Sub(c.lastSweep) < c.opts.TTL {
		return
	}
	c.lastSweep = now
	for k, e := range c.entries {
		if now.Sub(e.fetched) > c.opts.MaxStale {
			delete(c.entries, k)
		}
	}
	if len(c.entries) <= c.opts.MaxEntries {
		return
	}
	type aged struct {
		key     string
		fetched time.Time
	}
	all := make([]aged, 0, len(c.entries))
	for k, e := range c.entries {
		all = append(all, aged{k, e.fetched})
	}
	slices.SortFunc(all, func(a, b aged) int { return a.fetched.Compare(b.fetched) })
	for _, a := range all[:len(all)-c.opts.MaxEntries*9/10] {
		delete(c.entries, a.key)
	}
}
