package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/kfsidebar/kfsidebar/push"
)

// maxBatch bounds the writes committed in one SQLite transaction, so one
// batch's commit stays short however deep the queue is.
const maxBatch = 256

// ErrClosed is a write on a Store that Close has closed.
var ErrClosed = errors.New("push store closed")

// op is one write waiting for the commit of the batch it joined: an
// Accept, a Claim or a Delivered on SQLite.
type op interface {
	context() context.Context
	// apply does the write in the batch's transaction.
	apply(ctx context.Context, s *Store, tx *sql.Tx) error
	// finish answers the caller: err is nil once the batch has
	// committed, else why the write was not made.
	finish(err error)
	// claim says the op runs after the batch's others, so a claim takes
	// the outbox rows its batch has just added.
	claim() bool
}

// write is SQLite's path for every write of the reply and delivery paths
// (group commit): it hands op to the writer goroutine and waits for the
// commit of the batch it joined. SQLite has one writer at a time, and a
// commit costs more than the statements in it (it writes every page they
// touched to the WAL), so the writes that queue while one batch commits
// go together into the next transaction: under load one commit serves
// many replies, the dispatcher's claims and the deliveries it records,
// and a write alone is committed at once, with no window to wait out. A
// caller whose context ends first gets its error; its write is still made
// if the writer had started its batch, which is harmless for each kind:
// an Accept's reply given is the one recorded (Accept's contract on a
// store error) and WeChat's retry finds it; a claimed row's lease runs
// out; a delivered row is delivered again.
func (s *Store) write(o op) error {
	ctx := o.context()
	select {
	case s.ops <- o:
	case <-ctx.Done():
		return ctx.Err()
	case <-s.quit:
		return ErrClosed
	}
	return nil
}

// writer makes the queued writes, a batch per transaction, until Close.
func (s *Store) writer() {
	defer close(s.written)
	batch := make([]op, 0, maxBatch)
	for {
		select {
		case o := <-s.ops:
			batch = append(batch, o)
		case <-s.quit:
			return
		}
	queued:
		for len(batch) < maxBatch {
			select {
			case o := <-s.ops:
				batch = append(batch, o)
			default:
				break queued
			}
		}
		s.commitBatch(batch)
		clear(batch)
		batch = batch[:0]
	}
}

// commitBatch makes a batch's writes in one transaction, claims last, and
// answers each caller. A write whose caller has given up is left out. If
// anything fails, the batch is rolled back and each write made in a
// transaction of its own, so one bad write fails alone.
func (s *Store) commitBatch(batch []op) {
	live := batch[:0:0]
	for _, o := range batch {
		if err := o.context().Err(); err != nil {
			o.finish(err)
			continue
		}
		live = append(live, o)
	}
	if len(live) == 0 {
		return
	}
	// Stable: accepts keep their order, so of two copies of one push in a
	// batch the first is the one recorded.
	slices.SortStableFunc(live, func(a, b op) int {
		switch {
		case a.claim() == b.claim():
			return 0
		case a.claim():
			return 1
		}
		return -1
	})
	ctx, cancel := batchContext(live)
	defer cancel()
	err := s.inTx(ctx, live...)
	switch {
	case err == nil:
		for _, o := range live {
			o.finish(nil)
		}
	case len(live) == 1:
		live[0].finish(err)
	default:
		for _, o := range live {
			o.finish(s.inTx(o.context(), o))
		}
	}
}

// inTx applies ops in one transaction and commits it.
func (s *Store) inTx(ctx context.Context, ops ...op) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, o := range ops {
		if err := o.apply(ctx, s, tx); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// batchContext ends when the last of the batch's callers has given up:
// a batch nobody waits for any more is not worth finishing.
func batchContext(batch []op) (context.Context, context.CancelFunc) {
	var last time.Time
	for _, o := range batch {
		d, ok := o.context().Deadline()
		if !ok {
			return context.WithCancel(context.Background())
		}
		if d.After(last) {
			last = d
		}
	}
	return context.WithDeadline(context.Background(), last)
}

// acceptOp is an Accept: the push's dedupe key, outbox rows and feed item.
type acceptOp struct {
	ctx   context.Context
	a     *push.Accepted
	reply push.Reply
	dup   bool
	done  chan error // buffered: the writer never waits for a caller
}

func (o *acceptOp) context() context.Context { return o.ctx }
func (o *acceptOp) claim() bool              { return false }
func (o *acceptOp) finish(err error)         { o.done <- err }

// apply records the push; a push already in the batch is a duplicate of
// it like any other.
func (o *acceptOp) apply(ctx context.Context, s *Store, tx *sql.Tx) (err error) {
	o.reply, o.dup, err = s.acceptIn(ctx, tx, o.a)
	return err
}

func (s *Store) groupAccept(ctx context.Context, a *push.Accepted) (push.Reply, bool, error) {
	o := &acceptOp{ctx: ctx, a: a, done: make(chan error, 1)}
	if err := s.wait(o, o.done); err != nil {
		return push.Reply{}, false, fmt.Errorf("accept: %w", err)
	}
	return o.reply, o.dup, nil
}

// claimOp is a Claim: the due rows of a target, leased.
type claimOp struct {
	ctx             context.Context
	target          string
	now, leaseUntil time.Time
	limit           int
	deliveries      []push.Delivery
	done            chan error
}

func (o *claimOp) context() context.Context { return o.ctx }
func (o *claimOp) claim() bool              { return true }
func (o *claimOp) finish(err error)         { o.done <- err }

func (o *claimOp) apply(ctx context.Context, s *Store, tx *sql.Tx) (err error) {
	o.deliveries, err = s.claimIn(ctx, tx, o.target, o.now, o.leaseUntil, o.limit)
	return err
}

func (s *Store) groupClaim(ctx context.Context, target string, now, leaseUntil time.Time, limit int) ([]push.Delivery, error) {
	o := &claimOp{ctx: ctx, target: target, now: now, leaseUntil: leaseUntil, limit: limit, done: make(chan error, 1)}
	if err := s.wait(o, o.done); err != nil {
		return nil, err
	}
	return o.deliveries, nil
}

// deliveredOp is a Delivered: the rows deleted.
type deliveredOp struct {
	ctx  context.Context
	ids  []int64
	done chan error
}

func (o *deliveredOp) context() context.Context { return o.ctx }
func (o *deliveredOp) claim() bool              { return false }
func (o *deliveredOp) finish(err error)         { o.done <- err }

func (o *deliveredOp) apply(ctx context.Context, s *Store, tx *sql.Tx) error {
	return s.deleteDelivered(ctx, tx, o.ids)
}

// wait queues o and waits for its batch.
func (s *Store) wait(o op, done <-chan error) error {
	if err := s.write(o); err != nil {
		return err
	}
	select {
	case err := <-done:
		return err
	case <-o.context().Done():
		return o.context().Err()
	}
}
