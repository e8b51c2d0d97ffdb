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

// leaseMargin is added to a target's timeout for a claim's lease: a row
// is due again only once its delivery has certainly ended.
const leaseMargin = 30 * time.Second

// pruneEvery is how often old dedupe keys and feed items are deleted.
const pruneEvery = time.Minute

// claimLinger is how long a claim for some of a target's deliverers, the
// others busy, waits for more of them to finish: under load the rows are
// then claimed, and their deliveries recorded, several to a transaction
// rather than each in two of its own. A claim for every deliverer (an idle
// target) does not wait, and a target that answers slowly still gets
// Concurrency deliveries at once, claimLinger later.
const claimLinger = 2 * time.Millisecond

// target is a configured Target with its dispatchers' wake-up signal.
type target struct {
	Target
	wake wake.Signal
}

// Run dispatches the outbox to the targets and prunes what has expired,
// until ctx ends; then it waits for deliveries under way to stop and
// returns nil. Each target has its own dispatcher and deliverers
// (Target.Concurrency), so a slow or dead one holds up no other; the reply
// path never waits for any.
func (s *Server) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	for _, t := range s.targets {
		wg.Go(func() { s.dispatch(ctx, t) })
	}
	wg.Go(func() { s.prune(ctx) })
	wg.Wait()
	return nil
}

// outcome is one finished delivery.
type outcome struct {
	d   Delivery
	err error
}

// dispatch is t's dispatcher: it claims due rows only as far as it has
// idle deliverers (so a wake-up per push costs one claim, not one per
// deliverer), hands them out, and records what comes back, successes in
// one statement per round (see claimLinger). With nothing due it waits for
// a wake-up (a push accepted here), a finished delivery, or the poll
// interval (pushes accepted by other instances, retries coming due).
func (s *Server) dispatch(ctx context.Context, t *target) {
	jobs := make(chan Delivery)
	results := make(chan outcome, t.Concurrency)
	var wg sync.WaitGroup
	for range t.Concurrency {
		wg.Go(func() {
			for d := range jobs {
				results <- outcome{d, s.deliver(ctx, t, d)}
			}
		})
	}
	defer func() {
		close(jobs)
		wg.Wait()
	}()
	poll := time.NewTimer(s.cfg.PollInterval)
	defer poll.Stop()
	inflight := 0
	// due says the outbox may have rows to claim: at the start, after a
	// wake-up or a poll, and while claims fill every idle deliverer. A
	// finished delivery alone does not make a claim worth its transaction.
	due := true
	// linger runs while a claim for fewer than every deliverer waits for
	// more of them to finish; lingered says it has run out.
	var linger <-chan time.Time
	lingered := false
	var done []outcome
	for {
		woken := t.wake.C()
	drain:
		for {
			select {
			case o := <-results:
				done = append(done, o)
			default:
				break drain
			}
		}
		if ctx.Err() != nil {
			if len(done) > 0 {
				s.record(ctx, t, done)
				inflight -= len(done)
				done = done[:0]
			}
			if inflight == 0 {
				return
			}
			done = append(done, <-results)
			continue
		}
		free := t.Concurrency - inflight + len(done)
		claim := due && free > 0
		if claim && free < t.Concurrency && !lingered {
			claim = false
			if linger == nil {
				linger = time.After(claimLinger)
			}
		}
		// While a claim waits, the finished deliveries wait to be
		// recorded with it, in one statement.
		if len(done) > 0 && (claim || linger == nil) {
			s.record(ctx, t, done)
			inflight -= len(done)
			done = done[:0]
		}
		if claim {
			linger, lingered = nil, false
			now := s.cfg.Now()
			rows, err := s.store.Claim(ctx, t.Name, now, now.Add(t.Timeout+leaseMargin), free)
			if err != nil && ctx.Err() == nil {
				s.warn.warn(now, "claim", "outbox claim failed", "target", t.Name, "err", err)
			}
			for _, d := range rows {
				jobs <- d
			}
			inflight += len(rows)
			due = len(rows) == free
		}
		poll.Reset(s.cfg.PollInterval)
		select {
		case <-ctx.Done():
		case o := <-results:
			done = append(done, o)
		case <-woken:
			due = true
		case <-linger:
			linger, lingered = nil, true
		case <-poll.C:
			due = true
		}
	}
}

// record stores the outcomes of finished deliveries: successes in one
// statement, failures each with its retry time or as a dead letter.
func (s *Server) record(ctx context.Context, t *target, outs []outcome) {
	now := s.cfg.Now()
	// Recorded even when Run is stopping, so an interrupted delivery is
	// due again at the next start rather than after its lease.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	var delivered []int64
	for _, o := range outs {
		var serr error
		switch d, err := o.d, o.err; {
		case err == nil:
			s.counters.delivery(t.Name, now, nil)
			delivered = append(delivered, d.ID)
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
	if len(delivered) > 0 {
		if err := s.store.Delivered(rctx, delivered...); err != nil {
			s.warn.warn(now, "outbox", "outbox update failed; the rows are due again after their lease", "target", t.Name, "err", err)
		}
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
