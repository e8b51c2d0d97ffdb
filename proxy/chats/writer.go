package chats

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/kfsidebar/kfsidebar/internal/sqlitedb"
)

// Store retries back off from a second to half a minute: a locked file is
// usually released soon, a full disk is not.
const (
	minStoreRetry = time.Second
	maxStoreRetry = 30 * time.Second
)

// writer stores dirty entries whenever Add kicks it, and retries failed
// writes with backoff until Close.
func (s *Sessions) writer() {
	defer close(s.writerDone)
	var retry time.Duration
	for {
		var retryC <-chan time.Time
		var timer *time.Timer
		if retry > 0 {
			timer = time.NewTimer(retry)
			retryC = timer.C
		}
		select {
		case <-s.kick:
		case <-retryC:
		case <-s.stop:
			return
		}
		if timer != nil {
			timer.Stop()
		}
		ctx, cancel := context.WithTimeout(context.Background(), maxStoreRetry)
		err := s.Flush(ctx)
		cancel()
		if err != nil {
			retry = min(max(2*retry, minStoreRetry), maxStoreRetry)
		} else {
			retry = 0
		}
	}
}

func (s *Sessions) kickWriter() {
	select {
	case s.kick <- struct{}{}:
	default: // a kick is pending; that write will include ours
	}
}

// StoreError is the error of the last SQLite write, or nil when it
// succeeded: the users are known in memory either way, but would be
// forgotten by a restart.
func (s *Sessions) StoreError() error {
	s.errMu.Lock()
	defer s.errMu.Unlock()
	return s.storeErr
}

// StoreFailing reports whether chats are being kept in memory only: the
// last SQLite write's error, and since when writes have failed (the first
// failure of the current run of them). Both are zero once a write works
// again, which the writer's retries find by themselves.
func (s *Sessions) StoreFailing() (since time.Time, err error) {
	s.errMu.Lock()
	defer s.errMu.Unlock()
	if f, ok := s.storeErr.(*storeFailure); ok {
		return f.since, f.err
	}
	return time.Time{}, s.storeErr
}

// storeFailure is what storeErr holds while writes fail: the last write's
// error, and when the first of the failures in a row happened.
type storeFailure struct {
	err   error
	since time.Time
}

func (f *storeFailure) Error() string { return f.err.Error() }
func (f *storeFailure) Unwrap() error { return f.err }

// Close stops the writer and stores what is still dirty. The database
// stays open; it is the caller's.
func (s *Sessions) Close(ctx context.Context) error {
	s.closeOnce.Do(func() { close(s.stop) })
	<-s.writerDone
	return s.Flush(ctx)
}

// Flush stores every dirty entry now. The writer calls it; so do Close,
// and tests that need the rows written.
func (s *Sessions) Flush(ctx context.Context) error {
	s.storeMu.Lock()
	defer s.storeMu.Unlock()
	return s.flushLocked(ctx)
}

// flushLocked writes the dirty entries once; storeMu is held.
func (s *Sessions) flushLocked(ctx context.Context) error {
	s.mu.Lock()
	entries := make([]sessionEntry, 0, len(s.dirty))
	for id := range s.dirty {
		if e, ok := s.byOpenID[id]; ok {
			entries = append(entries, *e)
		}
	}
	clear(s.dirty)
	s.mu.Unlock()
	if len(entries) == 0 {
		return nil
	}
	err := writeSessionRows(ctx, s.db, entries)
	if err != nil {
		s.mu.Lock()
		for _, e := range entries {
			if _, ok := s.byOpenID[e.rec.OpenID]; ok { // not pruned meanwhile
				s.dirty[e.rec.OpenID] = struct{}{}
			}
		}
		s.mu.Unlock()
		err = fmt.Errorf("store sessions: %w", err)
	}
	if busy, ok := errors.AsType[*sqlitedb.BusyError](err); ok {
		// Not a fault: an import beside the proxy holds the database for
		// a few seconds. The chats stay in memory and the writer retries;
		// the storage line stays as it was.
		s.log.Info("sessions: waiting for "+busy.What+" to finish; chats kept in memory", "records", len(entries))
		return err
	}
	s.setStoreErr(err, len(entries))
	return err
}

// setStoreErr records the outcome of a write and logs when it changes:
// a store that stays locked is retried for minutes, and one line says so.
func (s *Sessions) setStoreErr(err error, records int) {
	s.errMu.Lock()
	prev := s.storeErr
	s.storeErr = nil
	if err != nil {
		since := s.now()
		if f, ok := prev.(*storeFailure); ok {
			since = f.since
		}
		s.storeErr = &storeFailure{err: err, since: since}
	}
	s.errMu.Unlock()
	switch {
	case err != nil && (prev == nil || prev.Error() != err.Error()):
		s.log.Warn("sessions: store write failed; kept in memory, retrying", "records", records, "err", err)
	case err == nil && prev != nil:
		s.log.Info("sessions: store writes work again", "records", records)
	}
}

// Prune forgets expired entries in memory and deletes their rows. The
// caller runs it periodically (Open also deletes expired rows);
// until then expired entries only take space, they never match.
func (s *Sessions) Prune(ctx context.Context) error {
	cutoff := s.cutoff(s.now())
	forgotten := 0
	s.mu.Lock()
	for id, e := range s.byOpenID {
		if !e.rec.SeenAt.After(cutoff) {
			s.unindexLocked(e)
			delete(s.byOpenID, id)
			delete(s.dirty, id)
			forgotten++
		}
	}
	s.mu.Unlock()

	s.storeMu.Lock()
	n, err := deleteSessionRows(ctx, s.db, cutoff)
	s.storeMu.Unlock()
	if err != nil {
		s.log.Warn("sessions: prune store failed", "forgotten", forgotten, "err", err)
		return fmt.Errorf("prune sessions: %w", err)
	}
	s.log.Debug("sessions: pruned", "forgotten", forgotten, "rows", n)
	s.kickWriter() // entries a failed write left dirty get another try
	return nil
}
