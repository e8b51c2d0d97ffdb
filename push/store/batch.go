package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/kfsidebar/kfsidebar/push"
)

// maxBatch bounds the pushes committed in one SQLite transaction, so one
// batch's commit stays short however deep the queue is.
const maxBatch = 256

// ErrClosed is an Accept on a Store that Close has closed.
var ErrClosed = errors.New("push store closed")

// acceptReq is one Accept waiting for its batch's commit.
type acceptReq struct {
	ctx  context.Context
	a    *push.Accepted
	done chan acceptRes // buffered: the writer never waits for a caller
}

type acceptRes struct {
	reply push.Reply
	dup   bool
	err   error
}

// groupCommit is SQLite's Accept: it hands the push to the writer and
// waits for the commit of the batch it joined. SQLite has one writer at a
// time, and a commit costs more than the inserts in it, so the pushes that
// queue while one batch commits are recorded together in the next
// transaction: under load one commit serves many replies, and a push alone
// is committed at once, with no window to wait out. A caller whose
// context ends first gets its error; its push is still recorded if the
// writer had started its batch, which is harmless: the reply it was given
// is the one recorded (Accept's contract on a store error), and WeChat's
// retry of it finds it.
func (s *Store) groupCommit(ctx context.Context, a *push.Accepted) (push.Reply, bool, error) {
	r := &acceptReq{ctx: ctx, a: a, done: make(chan acceptRes, 1)}
	select {
	case s.accepts <- r:
	case <-ctx.Done():
		return push.Reply{}, false, fmt.Errorf("accept: %w", ctx.Err())
	case <-s.quit:
		return push.Reply{}, false, fmt.Errorf("accept: %w", ErrClosed)
	}
	select {
	case res := <-r.done:
		return res.reply, res.dup, res.err
	case <-ctx.Done():
		return push.Reply{}, false, fmt.Errorf("accept: %w", ctx.Err())
	}
}

// writer records the queued pushes, a batch per transaction, until Close.
func (s *Store) writer() {
	defer close(s.written)
	batch := make([]*acceptReq, 0, maxBatch)
	for {
		select {
		case r := <-s.accepts:
			batch = append(batch, r)
		case <-s.quit:
			return
		}
	queued:
		for len(batch) < maxBatch {
			select {
			case r := <-s.accepts:
				batch = append(batch, r)
			default:
				break queued
			}
		}
		s.commitBatch(batch)
		clear(batch)
		batch = batch[:0]
	}
}

// commitBatch records a batch in one transaction and answers each
// request. A push whose caller has given up is left out. If anything
// fails, the batch is rolled back and each push tried in a transaction of
// its own, so one bad push fails alone.
func (s *Store) commitBatch(batch []*acceptReq) {
	live := batch[:0:0]
	for _, r := range batch {
		if err := r.ctx.Err(); err != nil {
			r.done <- acceptRes{err: fmt.Errorf("accept: %w", err)}
			continue
		}
		live = append(live, r)
	}
	if len(live) == 0 {
		return
	}
	ctx, cancel := batchContext(live)
	defer cancel()
	res, err := s.acceptAll(ctx, live)
	switch {
	case err == nil:
		for i, r := range live {
			r.done <- res[i]
		}
	case len(live) == 1:
		live[0].done <- acceptRes{err: err}
	default:
		for _, r := range live {
			reply, dup, err := s.acceptTx(r.ctx, r.a)
			r.done <- acceptRes{reply, dup, err}
		}
	}
}

// acceptAll is Accept for every push of a batch, in one transaction.
func (s *Store) acceptAll(ctx context.Context, batch []*acceptReq) ([]acceptRes, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("accept: %w", err)
	}
	defer tx.Rollback()
	res := make([]acceptRes, len(batch))
	for i, r := range batch {
		// A push already in the batch is a duplicate of it like any other.
		if res[i].reply, res[i].dup, err = s.acceptIn(ctx, tx, r.a); err != nil {
			return nil, err
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("accept: %w", err)
	}
	return res, nil
}

// batchContext ends when the last of the batch's callers has given up:
// a batch nobody waits for any more is not worth finishing.
func batchContext(batch []*acceptReq) (context.Context, context.CancelFunc) {
	var last time.Time
	for _, r := range batch {
		d, ok := r.ctx.Deadline()
		if !ok {
			return context.WithCancel(context.Background())
		}
		if d.After(last) {
			last = d
		}
	}
	return context.WithDeadline(context.Background(), last)
}
