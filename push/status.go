package push

import (
	"context"
	"log/slog"
	"sort"
	"sync"
	"time"
)

// Status is what the gateway's status page shows. It holds counts, never
// customer data.
type Status struct {
	// PerMinute counts the pushes of the last 60 s by type: the MsgType,
	// or "event:" and the Event.
	PerMinute map[string]int `json:"per_minute"`
	// Received counts pushes accepted since start (duplicates included).
	Received int64 `json:"received"`
	// Transferred counts transfer_customer_service replies (duplicates
	// included).
	Transferred int64 `json:"transferred"`
	// Success counts "success" replies (duplicates included).
	Success int64 `json:"success"`
	// Duplicates counts pushes answered from the dedupe store.
	Duplicates int64 `json:"duplicates"`
	// Refused counts refused requests by reason (stale, signature, …).
	Refused map[string]int64 `json:"refused"`
	// StoreErrors counts pushes the store could not record within the
	// reply budget (messages were still transferred; events got 503).
	StoreErrors int64 `json:"store_errors"`
	// Targets is each target's outbox and health, by name.
	Targets []TargetStatus `json:"targets"`
	// DepthError is set when the outbox could not be counted.
	DepthError string `json:"depth_error,omitempty"`
}

// TargetStatus is one target's line on the status page.
type TargetStatus struct {
	// Name is the target's name.
	Name string `json:"name"`
	// Pending counts its outbox rows waiting (all instances).
	Pending int `json:"pending"`
	// Dead counts its dead letters (all instances).
	Dead int `json:"dead"`
	// Delivered counts this instance's successful deliveries since start.
	Delivered int64 `json:"delivered"`
	// Failed counts this instance's failed attempts since start.
	Failed int64 `json:"failed"`
	// Healthy is false after a failure until the next success.
	Healthy bool `json:"healthy"`
	// LastSuccess is the latest successful delivery's time.
	LastSuccess time.Time `json:"last_success,omitzero"`
	// LastFailure is the latest failed attempt's time.
	LastFailure time.Time `json:"last_failure,omitzero"`
	// LastError says why the latest failure failed.
	LastError string `json:"last_error,omitempty"`
}

// maxTypes bounds the per-type counters: types come from pushes, which a
// plain-mode sender chooses.
const maxTypes = 64

// counters are the in-memory numbers behind Status.
type counters struct {
	mu          sync.Mutex
	perType     map[string]*[60]bucket
	received    int64
	transferred int64
	success     int64
	duplicates  int64
	storeErrors int64
	refused     map[string]int64
	targets     map[string]*TargetStatus
}

type bucket struct {
	sec int64
	n   int
}

func newCounters(targets []Target) *counters {
	c := &counters{perType: map[string]*[60]bucket{}, refused: map[string]int64{}, targets: map[string]*TargetStatus{}}
	for _, t := range targets {
		c.targets[t.Name] = &TargetStatus{Name: t.Name, Healthy: true}
	}
	return c
}

func (c *counters) push(typ string, now time.Time, transferred, dup bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.received++
	if transferred {
		c.transferred++
	} else {
		c.success++
	}
	if dup {
		c.duplicates++
	}
	b, ok := c.perType[typ]
	if !ok {
		if len(c.perType) >= maxTypes {
			typ = "other"
		}
		if b, ok = c.perType[typ]; !ok {
			b = new([60]bucket)
			c.perType[typ] = b
		}
	}
	sec := now.Unix()
	slot := &b[sec%60]
	if slot.sec != sec {
		*slot = bucket{sec: sec}
	}
	slot.n++
}

func (c *counters) refuse(reason string) {
	c.mu.Lock()
	c.refused[reason]++
	c.mu.Unlock()
}

func (c *counters) storeError() {
	c.mu.Lock()
	c.storeErrors++
	c.mu.Unlock()
}

func (c *counters) delivery(target string, now time.Time, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := c.targets[target]
	if err == nil {
		t.Delivered++
		t.Healthy = true
		t.LastSuccess = now
		return
	}
	t.Failed++
	t.Healthy = false
	t.LastFailure = now
	t.LastError = err.Error()
}

// Status returns the counters, the outbox depth (from the store, so every
// instance's rows count) and each target's health.
func (s *Server) Status(ctx context.Context) Status {
	depth, derr := s.store.Depth(ctx)
	c := s.counters
	now := s.cfg.Now().Unix()
	c.mu.Lock()
	defer c.mu.Unlock()
	st := Status{
		PerMinute:   map[string]int{},
		Received:    c.received,
		Transferred: c.transferred,
		Success:     c.success,
		Duplicates:  c.duplicates,
		Refused:     map[string]int64{},
		StoreErrors: c.storeErrors,
	}
	for typ, b := range c.perType {
		for _, slot := range b {
			if now-slot.sec < 60 && slot.n > 0 {
				st.PerMinute[typ] += slot.n
			}
		}
	}
	for r, n := range c.refused {
		st.Refused[r] = n
	}
	for _, t := range c.targets {
		ts := *t
		ts.Pending, ts.Dead = depth[t.Name].Pending, depth[t.Name].Dead
		st.Targets = append(st.Targets, ts)
	}
	sort.Slice(st.Targets, func(i, j int) bool { return st.Targets[i].Name < st.Targets[j].Name })
	if derr != nil {
		st.DepthError = derr.Error()
	}
	return st
}

// warnEvery logs a degraded state at WARN at most once per minute per
// kind, with how many times it happened since the last line: a flood of
// bad requests must not flood the log.
type warnEvery struct {
	mu   sync.Mutex
	log  *slog.Logger
	last map[string]time.Time
	n    map[string]int
}

func newWarnEvery(log *slog.Logger) *warnEvery {
	return &warnEvery{log: log, last: map[string]time.Time{}, n: map[string]int{}}
}

func (w *warnEvery) warn(now time.Time, kind, msg string, args ...any) {
	w.mu.Lock()
	w.n[kind]++
	if now.Sub(w.last[kind]) < time.Minute {
		w.mu.Unlock()
		return
	}
	n := w.n[kind]
	w.last[kind], w.n[kind] = now, 0
	w.mu.Unlock()
	w.log.Warn(msg, append(args, "kind", kind, "count", n)...)
}
