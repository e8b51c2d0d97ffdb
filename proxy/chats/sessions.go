package chats

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/kfsidebar/kfsidebar/proxy/console"
)

// DefaultTTL is how long a user stays known after the console last
// showed them: the 48 h reply window plus a day of slack, so a chat answered
// late in its window is still recognized.
const DefaultTTL = 72 * time.Hour

// Options configure the map. The zero value is ready to use.
type Options struct {
	// TTL is how long a user is remembered after console.Record.SeenAt; entries
	// older than that never match and are deleted by Prune. Zero or
	// negative means DefaultTTL (72h; the reply window is 48h).
	TTL time.Duration
	// Now is the clock; nil means time.Now. Tests pass a fake one.
	Now func() time.Time
	// Logger gets store failures (Warn) and load/prune counts, never
	// customer data. nil means slog.New(slog.DiscardHandler).
	Logger *slog.Logger
}

// Sessions is the map from a chat in the page (fans_uin, avatar, nickname)
// to the console.Record learned from the console's JSON. It is kept in memory,
// because Resolve runs on every chat click, and mirrored to SQLite, because
// the console only reveals an openid when a chat is accepted, and a restart
// of the proxy must not forget the chats that are already open.
//
// Expiry is checked on every read; Prune, which the caller runs
// periodically, frees the space. One goroutine writes to SQLite in the
// background; Close stops it and writes what is left.
//
// console.Record.Source as returned is the source of the latest sighting; the source
// of the first sighting is kept separately for Counts, so a chat accepted
// by hand and seen again in a later poll still counts as "manual".
type Sessions struct {
	db  *sql.DB
	ttl time.Duration
	now func() time.Time
	log *slog.Logger

	mu       sync.RWMutex
	byOpenID map[string]*sessionEntry
	byAvatar map[string]map[string]struct{} // console.AvatarKey → openids
	byUIN    map[string]map[string]struct{} // fans_uin → openids (normally one)
	byNick   map[string]map[string]struct{} // trimmed nickname → openids
	dirty    map[string]struct{}            // openids changed in memory, not yet stored

	// storeMu serializes SQLite writes. Each write takes its snapshot of
	// the dirty entries while holding it, so writes reach the table in the
	// order memory changed; memory updates never wait for it.
	storeMu sync.Mutex
	// One writer goroutine stores dirty entries: Add only kicks it, so a
	// locked or full database never holds up the response Add was called
	// for, and a burst of Adds costs one write, not one goroutine each.
	kick       chan struct{} // buffered 1: "there is something to write"
	stop       chan struct{}
	writerDone chan struct{}
	closeOnce  sync.Once
	errMu      sync.Mutex
	storeErr   error // the last write's error, nil once a write succeeds

	subMu sync.Mutex
	subs  map[chan struct{}]struct{}

	queued queuedEvidence // queued messages matched with the push gateway's; see queued.go
}

// sessionEntry is one openid in memory: the merged record plus what Counts
// and the indexes need.
type sessionEntry struct {
	rec         console.Record // merged; Source is the latest sighting's
	firstSeen   time.Time      // earliest SeenAt of this openid
	firstSource string         // Source of that earliest sighting
	avatarKey   string         // console.AvatarKey(rec.HeadImgURL), "" when none
	nick        string         // strings.TrimSpace(rec.Nickname)
}

// derive recomputes the index keys from the record.
func (e *sessionEntry) derive() {
	e.avatarKey = console.AvatarKey(e.rec.HeadImgURL)
	e.nick = strings.TrimSpace(e.rec.Nickname)
}

// same reports whether storing o instead of e would change nothing.
func (e *sessionEntry) same(o *sessionEntry) bool {
	a, b := e.rec, o.rec
	return a.OpenID == b.OpenID && a.Nickname == b.Nickname && a.HeadImgURL == b.HeadImgURL &&
		a.FansUIN == b.FansUIN && a.SessionID == b.SessionID && a.Source == b.Source &&
		a.SeenAt.Equal(b.SeenAt) && e.firstSeen.Equal(o.firstSeen) && e.firstSource == o.firstSource
}

// Open creates the kf_sessions table if needed, deletes expired
// rows and loads the rest. db must be opened with sqlitedb.Open; it may
// hold other tables, and the caller keeps owning it.
//
// Failing to delete expired rows (a read-only database) is only logged:
// they are never loaded, and Prune tries again.
func Open(ctx context.Context, db *sql.DB, opts Options) (*Sessions, error) {
	s := &Sessions{
		db:         db,
		ttl:        opts.TTL,
		now:        opts.Now,
		log:        opts.Logger,
		byOpenID:   make(map[string]*sessionEntry),
		byAvatar:   make(map[string]map[string]struct{}),
		byUIN:      make(map[string]map[string]struct{}),
		byNick:     make(map[string]map[string]struct{}),
		dirty:      make(map[string]struct{}),
		subs:       make(map[chan struct{}]struct{}),
		kick:       make(chan struct{}, 1),
		stop:       make(chan struct{}),
		writerDone: make(chan struct{}),
	}
	if s.ttl <= 0 {
		s.ttl = DefaultTTL
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if err := createSessionsTable(ctx, db); err != nil {
		return nil, fmt.Errorf("open sessions: create table: %w", err)
	}
	cutoff := s.cutoff(s.now())
	if n, err := deleteSessionRows(ctx, db, cutoff); err != nil {
		s.log.Warn("sessions: delete expired rows failed", "err", err)
	} else if n > 0 {
		s.log.Info("sessions: expired rows deleted", "rows", n)
	}
	entries, err := loadSessionRows(ctx, db, cutoff)
	if err != nil {
		return nil, fmt.Errorf("open sessions: load: %w", err)
	}
	for i := range entries {
		e := &entries[i]
		e.derive()
		s.byOpenID[e.rec.OpenID] = e
		s.indexLocked(e)
	}
	s.log.Info("sessions: loaded", "live", len(entries))
	go s.writer()
	return s, nil
}

// seenAtGranularity is how stale a stored SeenAt may be. A user seen again
// within it, with nothing else new, changes nothing: the console's polls
// name the same users over and over, and re-indexing and rewriting them
// every time cost a third of the proxy's CPU. A minute is nothing against
// a TTL of days.
const seenAtGranularity = time.Minute

// cutoff is the instant at or before which a SeenAt is expired.
func (s *Sessions) cutoff(now time.Time) time.Time { return now.Add(-s.ttl) }

// Add records users seen in the console's traffic: memory is updated, then
// subscribers are told, then the writer is asked to store the changed
// entries. Add never waits for SQLite, so it can be called on the response
// path; a store failure (locked, read-only, disk full) is logged and
// retried by the writer (see StoreError) while memory keeps working.
//
// Per openid the newer SeenAt wins field by field, and a field that is
// empty in one sighting keeps the other's value (a later JSON without
// headimgurl does not erase the avatar). A zero SeenAt means now and an
// empty Source means console.SourceOther; records with an empty OpenID, or already
// older than the TTL, are ignored. SeenAt is kept to the millisecond, as
// stored. The error is always nil; it is there for the Sink interface.
func (s *Sessions) Add(_ context.Context, recs []console.Record) error {
	now := s.now()
	changed := false
	s.mu.Lock()
	for _, r := range recs {
		if s.mergeLocked(r, now) {
			changed = true
		}
	}
	s.mu.Unlock()
	if changed {
		s.notify()
		s.kickWriter()
	}
	return nil
}

// mergeLocked folds r into memory and reports whether anything changed.
func (s *Sessions) mergeLocked(r console.Record, now time.Time) bool {
	if r.OpenID == "" {
		return false
	}
	if r.SeenAt.IsZero() {
		r.SeenAt = now
	}
	// Whole milliseconds, as stored, so memory and a reload agree.
	r.SeenAt = time.UnixMilli(r.SeenAt.UnixMilli())
	if r.Source == "" {
		r.Source = console.SourceOther
	}
	cutoff := s.cutoff(now)
	if !r.SeenAt.After(cutoff) {
		return false
	}
	old, ok := s.byOpenID[r.OpenID]
	var next sessionEntry
	fresh := !ok || !old.rec.SeenAt.After(cutoff)
	if fresh {
		// New, or expired and not yet pruned: an expired user is forgotten,
		// so this is a first sighting again.
		next = sessionEntry{rec: r, firstSeen: r.SeenAt, firstSource: r.Source}
	} else {
		next = *old
		if r.SeenAt.Before(old.rec.SeenAt) {
			next.rec = overlayRecord(r, old.rec)
		} else {
			next.rec = overlayRecord(old.rec, r)
		}
		if r.SeenAt.Before(old.firstSeen) {
			next.firstSeen, next.firstSource = r.SeenAt, r.Source
		}
	}
	if fresh || next.rec.HeadImgURL != old.rec.HeadImgURL || next.rec.Nickname != old.rec.Nickname {
		next.derive() // else next has old's keys already: the common case, a chat seen again
	}
	if ok {
		if old.same(&next) || old.onlySeenAgain(&next) {
			return false
		}
		if old.keysEqual(&next) {
			*old = next // the indexes point at old's openid: nothing to move
			s.dirty[r.OpenID] = struct{}{}
			return true
		}
		s.unindexLocked(old)
	}
	entry := new(sessionEntry) // allocated only here, not for a chat seen again
	*entry = next
	s.byOpenID[r.OpenID] = entry
	s.indexLocked(entry)
	s.dirty[r.OpenID] = struct{}{}
	return true
}

// onlySeenAgain reports whether o differs from e only by a SeenAt less
// than seenAtGranularity later (and the latest source): nothing to store.
func (e *sessionEntry) onlySeenAgain(o *sessionEntry) bool {
	a, b := e.rec, o.rec
	return a.OpenID == b.OpenID && a.Nickname == b.Nickname && a.HeadImgURL == b.HeadImgURL &&
		a.FansUIN == b.FansUIN && a.SessionID == b.SessionID &&
		e.firstSeen.Equal(o.firstSeen) && e.firstSource == o.firstSource &&
		!b.SeenAt.Before(a.SeenAt) && b.SeenAt.Sub(a.SeenAt) < seenAtGranularity
}

// keysEqual reports whether e and o are indexed under the same keys.
func (e *sessionEntry) keysEqual(o *sessionEntry) bool {
	return e.avatarKey == o.avatarKey && e.nick == o.nick && e.rec.FansUIN == o.rec.FansUIN
}

// overlayRecord returns base with every non-empty field of the newer top
// sighting laid over it, and top's SeenAt and Source. It is written field by
// field, without a table of pointers into the result: such a table made the
// result escape to the heap, an allocation for every chat seen again.
func overlayRecord(base, top console.Record) console.Record {
	out := base
	if top.Nickname != "" {
		out.Nickname = top.Nickname
	}
	if top.HeadImgURL != "" {
		out.HeadImgURL = top.HeadImgURL
	}
	if top.FansUIN != "" {
		out.FansUIN = top.FansUIN
	}
	if top.SessionID != "" {
		out.SessionID = top.SessionID
	}
	out.Source = top.Source
	out.SeenAt = top.SeenAt
	return out
}

// Get returns the live record of openid.
func (s *Sessions) Get(openid string) (console.Record, bool) {
	cutoff := s.cutoff(s.now())
	s.mu.RLock()
	defer s.mu.RUnlock()
	e, ok := s.byOpenID[openid]
	if !ok || !e.rec.SeenAt.After(cutoff) {
		return console.Record{}, false
	}
	return e.rec, true
}

// Len returns how many users are live.
func (s *Sessions) Len() int {
	cutoff := s.cutoff(s.now())
	s.mu.RLock()
	defer s.mu.RUnlock()
	n := 0
	for _, e := range s.byOpenID {
		if e.rec.SeenAt.After(cutoff) {
			n++
		}
	}
	return n
}

// Counts tells the status page how many live users were first seen on each
// calendar day, per source of that first sighting, for the last days days
// including today: map["2006-01-02"]map[source]count. Every day of the
// window is present, with an empty map when nobody was new. Days are in the
// clock's location (time.Local for time.Now).
//
// Only live users are counted, so days further back than the TTL count
// only the users seen again since.
func (s *Sessions) Counts(days int) map[string]map[string]int {
	now := s.now()
	out := make(map[string]map[string]int, max(days, 0))
	y, m, d := now.Date()
	for i := range max(days, 0) {
		out[time.Date(y, m, d-i, 0, 0, 0, 0, now.Location()).Format(time.DateOnly)] = make(map[string]int)
	}
	if len(out) == 0 {
		return out
	}
	cutoff := s.cutoff(now)
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, e := range s.byOpenID {
		if !e.rec.SeenAt.After(cutoff) {
			continue
		}
		if day, ok := out[e.firstSeen.In(now.Location()).Format(time.DateOnly)]; ok {
			day[e.firstSource]++
		}
	}
	return out
}
