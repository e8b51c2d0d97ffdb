package shop

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/kfsidebar/kfsidebar/internal/kftest"
)

// funcBackend is a Backend with function fields; nil fields find nobody.
type funcBackend struct {
	lookup   func(ctx context.Context, openid string) (*Customer, error)
	customer func(ctx context.Context, id string) (*Customer, error)
	search   func(ctx context.Context, query string, limit int) ([]Customer, error)
}

var _ Backend = funcBackend{}

func (f funcBackend) Lookup(ctx context.Context, openid string) (*Customer, error) {
	if f.lookup == nil {
		return nil, ErrNotFound
	}
	return f.lookup(ctx, openid)
}

func (f funcBackend) Customer(ctx context.Context, id string) (*Customer, error) {
	if f.customer == nil {
		return nil, ErrNotFound
	}
	return f.customer(ctx, id)
}

func (f funcBackend) Search(ctx context.Context, query string, limit int) ([]Customer, error) {
	if f.search == nil {
		return []Customer{}, nil
	}
	return f.search(ctx, query, limit)
}

// fakeClock is a clock that moves only when told.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// scripted is a backend whose answer the test sets, counting its calls.
type scripted struct {
	mu    sync.Mutex
	err   error
	name  string
	calls atomic.Int32
}

func (s *scripted) set(name string, err error) {
	s.mu.Lock()
	s.name, s.err = name, err
	s.mu.Unlock()
}

func (s *scripted) backend() funcBackend {
	answer := func(_ context.Context, openid string) (*Customer, error) {
		s.calls.Add(1)
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.err != nil {
			return nil, s.err
		}
		return &Customer{OpenID: openid, Name: s.name}, nil
	}
	return funcBackend{lookup: answer, customer: answer,
		search: func(ctx context.Context, q string, _ int) ([]Customer, error) {
			c, err := answer(ctx, q)
			if err != nil {
				return nil, err
			}
			return []Customer{*c}, nil
		}}
}

func newTestCache(t *testing.T, b Backend, opts CacheOptions) *Cache {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = kftest.Logger(t)
	}
	c := NewCache(b, opts)
	t.Cleanup(func() { c.Close() })
	return c
}

// describe renders a Result for comparison: name, age and error.
func describe(r Result, now time.Time) string {
	name := "-"
	if r.Customer != nil {
		name = r.Customer.Name
	}
	age := "never"
	if !r.FetchedAt.IsZero() {
		age = now.Sub(r.FetchedAt).String()
	}
	e := "fresh"
	switch {
	case errors.Is(r.Err, ErrCircuitOpen):
		e = "circuit open"
	case errors.Is(r.Err, ErrNotFound):
		e = "not found"
	case r.Err != nil:
		e = "error: " + r.Err.Error()
	}
	return fmt.Sprintf("%s, fetched %s ago, %s", name, age, e)
}

func TestCacheTTLStaleAndNotFound(t *testing.T) {
	clock := newFakeClock()
	shop := &scripted{name: "林小满"}
	c := newTestCache(t, shop.backend(), CacheOptions{TTL: 30 * time.Second, Now: clock.Now})
	ctx := context.Background()
	boom := errors.New("shop api: 502 Bad Gateway")
	steps := []struct {
		name      string
		advance   time.Duration
		set       func()
		want      string
		wantCalls int32
		health    string
	}{
		{"first lookup asks the shop", 0, nil, "林小满, fetched 0s ago, fresh", 1, HealthOK},
		{"within the TTL from the cache", 29 * time.Second, func() { shop.set("changed", nil) }, "林小满, fetched 29s ago, fresh", 1, HealthOK},
		{"after the TTL asks again", 2 * time.Second, nil, "changed, fetched 0s ago, fresh", 2, HealthOK},
		{"failed refresh keeps the last good data", 31 * time.Second, func() { shop.set("", boom) }, "changed, fetched 31s ago, error: shop api: 502 Bad Gateway", 3, HealthDegraded},
		{"and asks again next time", time.Second, nil, "changed, fetched 32s ago, error: shop api: 502 Bad Gateway", 4, HealthDegraded},
		{"recovers", time.Second, func() { shop.set("again", nil) }, "again, fetched 0s ago, fresh", 5, HealthOK},
		{"not found is an answer, cached", 31 * time.Second, func() { shop.set("", fmt.Errorf("lookup: %w", ErrNotFound)) }, "-, fetched 0s ago, not found", 6, HealthOK},
		{"not found from the cache", 10 * time.Second, nil, "-, fetched 10s ago, not found", 6, HealthOK},
		{"not found is not shown as stale data", 21 * time.Second, func() { shop.set("", boom) }, "-, fetched never ago, error: shop api: 502 Bad Gateway", 7, HealthDegraded},
	}
	for _, s := range steps {
		clock.Advance(s.advance)
		if s.set != nil {
			s.set()
		}
		got := describe(c.LookupResult(ctx, "oA1"), clock.Now())
		if got != s.want {
			t.Errorf("%s:\ngot  %s\nwant %s", s.name, got, s.want)
		}
		if n := shop.calls.Load(); n != s.wantCalls {
			t.Errorf("%s: backend called %d times, want %d", s.name, n, s.wantCalls)
		}
		if h := c.Health(); h.State != s.health {
			t.Errorf("%s: health %+v, want %s", s.name, h, s.health)
		}
	}
}

func TestCacheLookupServesStaleWithoutError(t *testing.T) {
	clock := newFakeClock()
	shop := &scripted{name: "林小满"}
	c := newTestCache(t, shop.backend(), CacheOptions{Now: clock.Now})
	ctx := context.Background()
	if _, err := c.Lookup(ctx, "oA1"); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Minute)
	shop.set("", errors.New("down"))
	got, err := c.Lookup(ctx, "oA1")
	if err != nil || got == nil || got.Name != "林小满" {
		t.Fatalf("Lookup = %+v, %v; want the last good customer and no error", got, err)
	}
	if _, err := c.Lookup(ctx, "oB2"); err == nil || err.Error() != "down" {
		t.Fatalf("Lookup of an uncached openid: err = %v, want down", err)
	}
}

func TestCacheMaxStale(t *testing.T) {
	clock := newFakeClock()
	shop := &scripted{name: "林小满"}
	c := newTestCache(t, shop.backend(), CacheOptions{Now: clock.Now, MaxStale: 10 * time.Minute})
	ctx := context.Background()
	c.LookupResult(ctx, "oA1")
	shop.set("", errors.New("down"))
	clock.Advance(9 * time.Minute)
	if got := describe(c.LookupResult(ctx, "oA1"), clock.Now()); got != "林小满, fetched 9m0s ago, error: down" {
		t.Errorf("9 minutes later: %s", got)
	}
	clock.Advance(2 * time.Minute)
	if got := describe(c.LookupResult(ctx, "oA1"), clock.Now()); got != "-, fetched never ago, error: down" {
		t.Errorf("11 minutes later (MaxStale 10m): %s", got)
	}
}

func TestCacheCircuitBreaker(t *testing.T) {
	clock := newFakeClock()
	shop := &scripted{name: "林小满"}
	c := newTestCache(t, shop.backend(), CacheOptions{TTL: time.Second, FailureThreshold: 3, OpenFor: 30 * time.Second, Now: clock.Now})
	ctx := context.Background()
	c.LookupResult(ctx, "oA1")
	shop.set("", errors.New("dial tcp 10.0.0.9:443: connect: connection refused (openid oA1)"))

	for i := 0; i < 3; i++ {
		clock.Advance(2 * time.Second)
		if r := c.LookupResult(ctx, "oA1"); r.Customer == nil || r.Err == nil || errors.Is(r.Err, ErrCircuitOpen) {
			t.Fatalf("failure %d: %s", i+1, describe(r, clock.Now()))
		}
	}
	if n := shop.calls.Load(); n != 4 {
		t.Fatalf("backend called %d times, want 4", n)
	}
	h := c.Health()
	if h.State != HealthOpen || !h.RetryAt.Equal(clock.Now().Add(30*time.Second)) || !h.LastErrorAt.Equal(clock.Now()) {
		t.Fatalf("after 3 failures: health %+v, want open until now+30s", h)
	}
	if strings.Contains(h.LastError, "oA1") || !strings.Contains(h.LastError, "connection refused (openid …)") {
		t.Errorf("LastError %q must name the failure without the openid", h.LastError)
	}

	// Open: nobody calls the backend; the last good data is still shown.
	for _, id := range []string{"oA1", "oB2"} {
		r := c.LookupResult(ctx, id)
		if !errors.Is(r.Err, ErrCircuitOpen) {
			t.Errorf("%s while open: %s", id, describe(r, clock.Now()))
		}
		if (r.Customer != nil) != (id == "oA1") {
			t.Errorf("%s while open: customer %+v", id, r.Customer)
		}
	}
	if _, err := c.Search(ctx, "1234", 5); !errors.Is(err, ErrCircuitOpen) {
		t.Errorf("Search while open: err = %v, want ErrCircuitOpen", err)
	}
	if n := shop.calls.Load(); n != 4 {
		t.Fatalf("backend called %d times while open, want still 4", n)
	}

	// Half-open: one trial; it fails, so open again for OpenFor.
	clock.Advance(30 * time.Second)
	if r := c.LookupResult(ctx, "oA1"); errors.Is(r.Err, ErrCircuitOpen) || r.Err == nil {
		t.Fatalf("trial: %s", describe(r, clock.Now()))
	}
	if n := shop.calls.Load(); n != 5 {
		t.Fatalf("backend called %d times, want 5 (one trial)", n)
	}
	if h := c.Health(); h.State != HealthOpen || !h.RetryAt.Equal(clock.Now().Add(30*time.Second)) {
		t.Fatalf("after a failed trial: %+v", h)
	}
	if r := c.LookupResult(ctx, "oA1"); !errors.Is(r.Err, ErrCircuitOpen) {
		t.Fatalf("after a failed trial: %s", describe(r, clock.Now()))
	}

	// The next trial succeeds: closed again, calls resume.
	clock.Advance(30 * time.Second)
	shop.set("back", nil)
	if got := describe(c.LookupResult(ctx, "oB2"), clock.Now()); got != "back, fetched 0s ago, fresh" {
		t.Fatalf("successful trial: %s", got)
	}
	if h := c.Health(); h.State != HealthOK || h.LastError == "" {
		t.Fatalf("after recovery: %+v, want ok with the last error kept", h)
	}
	clock.Advance(2 * time.Second)
	if got := describe(c.LookupResult(ctx, "oA1"), clock.Now()); got != "back, fetched 0s ago, fresh" {
		t.Fatalf("after recovery: %s", got)
	}
}

func TestCacheSearchCountsTowardsTheCircuit(t *testing.T) {
	clock := newFakeClock()
	shop := &scripted{}
	shop.set("", errors.New("timeout"))
	c := newTestCache(t, shop.backend(), CacheOptions{FailureThreshold: 2, Now: clock.Now})
	for i := 0; i < 2; i++ {
		if _, err := c.Search(context.Background(), "13800000000", 5); err == nil {
			t.Fatal("search succeeded")
		}
	}
	if h := c.Health(); h.State != HealthOpen || strings.Contains(h.LastError, "13800000000") {
		t.Fatalf("health %+v, want open without the query", h)
	}
	shop.set("x", nil)
	clock.Advance(DefaultOpenFor)
	got, err := c.Search(context.Background(), "1234", 5)
	if err != nil || len(got) != 1 {
		t.Fatalf("trial search = %v, %v", got, err)
	}
	if h := c.Health(); h.State != HealthOK {
		t.Fatalf("health %+v", h)
	}
}

// TestCacheSingleFlight: concurrent lookups of one openid share one call.
func TestCacheSingleFlight(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		var calls atomic.Int32
		b := funcBackend{lookup: func(ctx context.Context, openid string) (*Customer, error) {
			calls.Add(1)
			<-release
			return &Customer{OpenID: openid, Name: "林小满"}, nil
		}}
		c := newTestCache(t, b, CacheOptions{})
		var wg sync.WaitGroup
		results := make([]Result, 10)
		for i := range results {
			wg.Go(func() { results[i] = c.LookupResult(context.Background(), "oA1") })
		}
		wg.Go(func() { c.LookupResult(context.Background(), "oB2") })
		synctest.Wait() // everyone is waiting for the shop
		if n := calls.Load(); n != 2 {
			t.Fatalf("backend called %d times for 11 lookups of 2 openids, want 2", n)
		}
		close(release)
		wg.Wait()
		for i, r := range results {
			if r.Customer != results[0].Customer || r.Err != nil {
				t.Errorf("lookup %d: %+v, want the shared answer", i, r)
			}
		}
	})
}

// TestCacheNeverWaitsLongerThanTheCaller: a hanging shop costs the caller
// its own deadline, not more; the call goes on (detached, up to Timeout)
// and its answer serves the next lookup.
func TestCacheNeverWaitsLongerThanTheCaller(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		answer := make(chan struct{})
		var calls atomic.Int32
		b := funcBackend{lookup: func(ctx context.Context, openid string) (*Customer, error) {
			calls.Add(1)
			if openid != "oA1" {
				<-ctx.Done() // never answers
				return nil, ctx.Err()
			}
			select {
			case <-answer:
				return &Customer{OpenID: openid, Name: "late"}, nil
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}}
		c := newTestCache(t, b, CacheOptions{Timeout: 3 * time.Second})

		start := time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		r := c.LookupResult(ctx, "oA1")
		cancel()
		if waited := time.Since(start); waited != 200*time.Millisecond || !errors.Is(r.Err, context.DeadlineExceeded) {
			t.Fatalf("waited %v for %+v, want 200ms and a deadline error", waited, r)
		}
		close(answer)
		synctest.Wait()
		if r := c.LookupResult(context.Background(), "oA1"); r.Err != nil || r.Customer.Name != "late" || calls.Load() != 1 {
			t.Fatalf("next lookup: %+v after %d calls, want the late answer from the cache", r, calls.Load())
		}

		// A shop that never answers is cut off at Timeout and counted.
		start = time.Now()
		r = c.LookupResult(context.Background(), "oB2")
		if waited := time.Since(start); waited != 3*time.Second || !strings.Contains(fmt.Sprint(r.Err), "no answer within 3s") {
			t.Fatalf("waited %v for %+v, want the 3s timeout", waited, r)
		}
		if h := c.Health(); h.State != HealthDegraded || strings.Contains(h.LastError, "oB2") {
			t.Fatalf("health %+v", h)
		}
	})
}

func TestCacheTrialIsOneCall(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		clock := newFakeClock()
		release := make(chan struct{})
		var calls atomic.Int32
		fail := true
		b := funcBackend{lookup: func(ctx context.Context, openid string) (*Customer, error) {
			calls.Add(1)
			if fail {
				return nil, errors.New("down")
			}
			<-release
			return &Customer{OpenID: openid, Name: "ok"}, nil
		}}
		c := newTestCache(t, b, CacheOptions{FailureThreshold: 1, Now: clock.Now})
		c.LookupResult(context.Background(), "oA1")
		fail = false
		clock.Advance(DefaultOpenFor)
		done := make(chan Result)
		go func() { done <- c.LookupResult(context.Background(), "oA1") }()
		synctest.Wait()
		if r := c.LookupResult(context.Background(), "oB2"); !errors.Is(r.Err, ErrCircuitOpen) {
			t.Errorf("during the trial: %+v, want circuit open", r)
		}
		close(release)
		if r := <-done; r.Err != nil {
			t.Fatalf("trial: %+v", r)
		}
		if n := calls.Load(); n != 2 {
			t.Fatalf("%d calls, want 2", n)
		}
	})
}

func TestCacheCloseStopsCallsWithoutCountingThem(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := funcBackend{lookup: func(ctx context.Context, openid string) (*Customer, error) {
			<-ctx.Done()
			return nil, ctx.Err()
		}}
		c := NewCache(b, CacheOptions{})
		ctx, cancel := context.WithCancel(context.Background())
		go c.LookupResult(ctx, "oA1")
		synctest.Wait()
		cancel()
		c.Close()
		if h := c.Health(); h.State != HealthOK {
			t.Fatalf("health after Close: %+v", h)
		}
	})
}

func TestCacheCustomerByID(t *testing.T) {
	clock := newFakeClock()
	shop := &scripted{name: "张伟"}
	c := newTestCache(t, shop.backend(), CacheOptions{Now: clock.Now})
	for i := 0; i < 3; i++ {
		got, err := c.Customer(context.Background(), "10135")
		if err != nil || got.Name != "张伟" {
			t.Fatalf("Customer = %+v, %v", got, err)
		}
	}
	if _, err := c.Lookup(context.Background(), "10135"); err != nil {
		t.Fatal(err)
	}
	if n := shop.calls.Load(); n != 2 {
		t.Fatalf("%d calls, want 2 (ids and openids are cached apart)", n)
	}
}

func TestCacheEvictsOldest(t *testing.T) {
	clock := newFakeClock()
	shop := &scripted{name: "x"}
	c := newTestCache(t, shop.backend(), CacheOptions{Now: clock.Now, MaxEntries: 10})
	for i := 0; i < 25; i++ {
		clock.Advance(time.Millisecond)
		c.LookupResult(context.Background(), fmt.Sprintf("o%02d", i))
	}
	c.mu.Lock()
	n := len(c.entries)
	_, newest := c.entries["openid:o24"]
	c.mu.Unlock()
	if n > 10 || !newest {
		t.Fatalf("%d entries (newest kept: %v), want at most 10 with the newest", n, newest)
	}
}
