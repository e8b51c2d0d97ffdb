package push

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"

	"github.com/kfsidebar/kfsidebar/internal/hmacsign"
	"github.com/kfsidebar/kfsidebar/push/internal/wake"
)

// claimBatch is how many rows a dispatcher leases at once.
const claimBatch = 8

// leaseMargin is added to a target's timeout for a claim's lease: a row
// is due again only once its delivery has certainly ended.
const leaseMargin = 30 * time.Second

// pruneEvery is how often old dedupe keys and feed items are deleted.
const pruneEvery = time.Minute

// target is a configured Target with its dispatchers' wake-up signal.
type target struct {
	Target
	wake wake.Signal
}

// Run dispatches the outbox to the targets and prunes what has expired,
// until ctx ends; then it waits for deliveries under way to stop and
// returns nil. Each target has its own dispatchers (Target.Concurrency), so
// a slow or dead one holds up no other; the reply path never waits for any.
func (s *Server) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	for _, t := range s.targets {
		for range t.Concurrency {
			wg.Go(func() { s.dispatch(ctx, t) })
		}
	}
	wg.Go(func() { s.prune(ctx) })
	wg.Wait()
	return nil
}

// dispatch is one dispatcher of t: claim due rows, deliver them, repeat;
// when none are due, wait for a wake-up (a push accepted here) or the poll
// interval (pushes accepted by other instances, retries coming due).
func (s *Server) dispatch(ctx context.Context, t *target) {
	poll := time.NewTimer(0)
	defer poll.Stop()
	for {
		woken := t.wake.C()
		now := s.cfg.Now()
		rows, err := s.store.Claim(ctx, t.Name, now, now.Add(t.Timeout+leaseMargin), claimBatch)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			s.warn.warn(now, "claim", "outbox claim failed", "target", t.Name, "err", err)
		}
		for _, d := range rows {
			s.deliverOne(ctx, t, d)
		}
		if len(rows) > 0 {
			continue
		}
		poll.Reset(s.cfg.PollInterval)
		select {
		case <-ctx.Done():
			return
		case <-woken:
		case <-poll.C:
		}
	}
}

// deliverOne delivers a claimed row and records the outcome.
func (s *Server) deliverOne(ctx context.Context, t *target, d Delivery) {
	err := s.deliver(ctx, t, d)
	now := s.cfg.Now()
	// The outcome is recorded even when Run is stopping, so an interrupted
	// delivery is due again at the next start rather than after its lease.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	var serr error
	switch {
	case err == nil:
		s.counters.delivery(t.Name, now, nil)
		serr = s.store.Delivered(rctx, d.ID)
	case ctx.Err() != nil:
		serr = s.store.Retry(rctx, d.ID, now, "interrupted by shutdown")
	case d.Attempts >= s.cfg.Retry.MaxAttempts:
		s.counters.delivery(t.Name, now, err)
		s.log.Warn("delivery failed for good; dead letter", "target", t.Name, "id", d.ID, "attempts", d.Attempts, "err", err)
		serr = s.store.Bury(rctx, d.ID, err.Error())
	default:
		s.counters.delivery(t.Name, now, err)
		s.warn.warn(now, "deliver:"+t.Name, "delivery failed; will retry", "target", t.Name, "attempts", d.Attempts, "err", err)
		serr = s.store.Retry(rctx, d.ID, now.Add(s.backoff(d.Attempts)), err.Error())
	}
	if serr != nil {
		s.warn.warn(now, "outbox", "outbox update failed; the row is due again after its lease", "target", t.Name, "err", serr)
	}
}

// deliver POSTs one payload, signed, and wants a 2xx.
func (s *Server) deliver(ctx context.Context, t *target, d Delivery) error {
	ctx, cancel := context.WithTimeout(ctx, t.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.URL, bytes.NewReader(d.Payload))
	if err != nil {
		return fmt.Errorf("deliver: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	if err := hmacsign.Sign(req, d.Payload, t.Secret, s.cfg.Now()); err != nil {
		return fmt.Errorf("deliver: %w", err)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return fmt.Errorf("deliver: %w", err)
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("deliver: %s answered %s", t.Name, resp.Status)
	}
	return nil
}

// backoff is the wait after the n-th failed attempt.
func (s *Server) backoff(n int) time.Duration {
	d := s.cfg.Retry.Base
	for i := 1; i < n && d < s.cfg.Retry.Max; i++ {
		d *= 2
	}
	d = min(d, s.cfg.Retry.Max)
	return time.Duration(float64(d) * (0.8 + 0.4*rand.Float64()))
}

// prune forgets expired dedupe keys and feed items, once a minute.
func (s *Server) prune(ctx context.Context) {
	tick := time.NewTicker(pruneEvery)
	defer tick.Stop()
	for {
		now := s.cfg.Now()
		if err := s.store.Prune(ctx, now.Add(-s.cfg.DedupeTTL), now.Add(-s.cfg.FeedTTL)); err != nil && ctx.Err() == nil {
			s.warn.warn(now, "prune", "prune failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// DeadLetters lists up to limit dead letters of target ("" for all),
// oldest first: what `kfsidebar gateway replay` shows before replaying.
func (s *Server) DeadLetters(ctx context.Context, target string, limit int) ([]Delivery, error) {
	if err := s.knownTarget(target); err != nil {
		return nil, err
	}
	ds, err := s.store.DeadLetters(ctx, target, limit)
	if err != nil {
		return nil, fmt.Errorf("dead letters: %w", err)
	}
	return ds, nil
}

// Replay makes dead letters due again now, with a fresh attempt count:
// the ids given, or all of target's ("" for every target) when ids is
// empty. Dispatchers of this instance start at once; those of other
// instances at their next poll. It is what `kfsidebar gateway replay`
// calls, and works without Run (the rows wait for the next Run).
func (s *Server) Replay(ctx context.Context, target string, ids ...int64) (int, error) {
	if err := s.knownTarget(target); err != nil {
		return 0, err
	}
	n, err := s.store.Replay(ctx, target, ids, s.cfg.Now())
	if err != nil {
		return 0, fmt.Errorf("replay: %w", err)
	}
	for _, t := range s.targets {
		t.wake.Wake()
	}
	return n, nil
}

func (s *Server) knownTarget(name string) error {
	if name == "" {
		return nil
	}
	for _, t := range s.targets {
		if t.Name == name {
			return nil
		}
	}
	return fmt.Errorf("%w %q", ErrUnknownTarget, name)
}
