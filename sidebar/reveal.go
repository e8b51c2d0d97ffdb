package sidebar

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/kfsidebar/kfsidebar/internal/sqlitedb"
)

// RevealLog records each time an agent unmasks a customer's phone number,
// address or other masked field, so a shop can audit who looked at what:
// masking by default is only worth something if unmasking leaves a trace.
// Rows stay in the local database; they are never logged, since the openid
// is customer data.
type RevealLog struct {
	db  *sql.DB
	now func() time.Time
	// importWait is how long Record waits for an announced long write
	// (an orders import) to release the database; revealImportWait.
	importWait time.Duration
}

// Reveal is one unmasking: when, whose, which field ("phone", "address",
// or the label of a masked Extra).
type Reveal struct {
	At     time.Time `json:"at"`
	OpenID string    `json:"openid"`
	Field  string    `json:"field"`
}

// revealMigrations are the schema steps of the reveal log (see
// sqlitedb.Step: each ID names its step forever). The first is idempotent
// because databases made before steps were recorded have the table.
var revealMigrations = []sqlitedb.Step{
	{ID: "create kf_reveals", Apply: sqlitedb.Exec(`
CREATE TABLE IF NOT EXISTS kf_reveals (
	id         INTEGER PRIMARY KEY,
	at_unix_ns INTEGER NOT NULL,
	openid     TEXT NOT NULL,
	field      TEXT NOT NULL
);
`)},
}

// maxRevealField bounds a field name from the page, which is not trusted
// to keep it short.
const maxRevealField = 100

// OpenRevealLog creates the kf_reveals table if needed. now is the clock
// (time.Now when nil). db is opened with sqlitedb.Open; it stays owned by
// the caller.
func OpenRevealLog(ctx context.Context, db *sql.DB, now func() time.Time) (*RevealLog, error) {
	if err := sqlitedb.Migrate(ctx, db, "reveals", revealMigrations); err != nil {
		return nil, fmt.Errorf("create reveal log: %w", err)
	}
	if now == nil {
		now = time.Now
	}
	return &RevealLog{db: db, now: now, importWait: revealImportWait}, nil
}

// Record notes that the field of openid's customer was revealed now.
// While an orders import holds the database it waits at most a second,
// then fails with a *sqlitedb.BusyError that says so.
func (r *RevealLog) Record(ctx context.Context, openid, field string) error {
	field = strings.TrimSpace(field)
	switch {
	case strings.TrimSpace(openid) == "":
		return fmt.Errorf("record reveal: empty openid")
	case field == "" || len(field) > maxRevealField:
		return fmt.Errorf("record reveal: field must be 1 to %d bytes", maxRevealField)
	}
	err := sqlitedb.ShortWriteTx(ctx, r.db, r.importWait, func(tx sqlitedb.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO kf_reveals (at_unix_ns, openid, field) VALUES (?, ?, ?)`,
			r.now().UnixNano(), openid, field)
		return err
	})
	if err != nil {
		return fmt.Errorf("record reveal: %w", err)
	}
	return nil
}

// Recent returns up to limit reveals, newest first.
func (r *RevealLog) Recent(ctx context.Context, limit int) ([]Reveal, error) {
	rows, err := r.db.QueryContext(ctx, `SELECT at_unix_ns, openid, field FROM kf_reveals
ORDER BY at_unix_ns DESC, id DESC LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("read reveal log: %w", err)
	}
	defer rows.Close()
	var out []Reveal
	for rows.Next() {
		var (
			ns  int64
			rev Reveal
		)
		if err := rows.Scan(&ns, &rev.OpenID, &rev.Field); err != nil {
			return nil, fmt.Errorf("read reveal log: %w", err)
		}
		rev.At = time.Unix(0, ns)
		out = append(out, rev)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read reveal log: %w", err)
	}
	return out, nil
}

// How often a tab may reveal. Revealing is a deliberate click (显示, or a
// copy of a masked value), a few a minute; a script in the page looping
// over reveals is not an agent, and an audit table that one loop can flood
// is not an audit.
const (
	// revealWindow: a field of a customer that a tab revealed within it
	// is shown again without another row; the log already says the agent
	// saw it.
	revealWindow = time.Minute
	// revealBurst reveals at once, then one every revealEvery: the token
	// bucket every reveal request of a tab takes from, recorded or not.
	// Past it a reveal is refused with msgRevealTooFast, and the tab
	// stays.
	revealBurst = 10
	revealEvery = 2 * time.Second
	// revealImportWait is how long a reveal waits for an orders import
	// that holds the database's write lock before the agent is told that
	// one is running (msgImportRunning); an import that ends meanwhile
	// lets the reveal through.
	revealImportWait = time.Second
)

// revealJob is a reveal the read loop let through, for the tab's
// recorder.
type revealJob struct {
	req   request
	sh    *shown
	value string
}

// revealGate is a tab's token bucket of reveals, and its count of
// refusals not yet logged. The read loop alone uses it.
type revealGate struct {
	tokens   float64
	at       time.Time // when tokens was counted; zero before the first reveal
	refused  int
	loggedAt time.Time
}

// allow takes a token, if there is one at now.
func (g *revealGate) allow(now time.Time) bool {
	if g.at.IsZero() {
		g.tokens = revealBurst
	} else if d := now.Sub(g.at); d > 0 {
		g.tokens = min(revealBurst, g.tokens+float64(d)/float64(revealEvery))
	}
	g.at = now
	if g.tokens < 1 {
		return false
	}
	g.tokens--
	return true
}

// reveal answers a reveal request with the real value of a field of the
// customer on screen, once the reveal is recorded. It runs on the read
// loop and never waits for the database: a flood is refused here, at
// once, and so is a reveal that finds maxQueuedReveal others waiting for
// the tab's recorder goroutine (an orders import holds the database); the
// rest is recorded in order by that goroutine.
func (c *client) reveal(req request) {
	c.mu.Lock()
	sh := c.conv.shown
	c.mu.Unlock()
	var value string
	ok := sh != nil
	if ok {
		value, ok = sh.fields[req.Field]
	}
	if !ok {
		c.hub.log.Debug("reveal refused", "field", req.Field)
		c.enqueue(message{Type: typeError, Seq: req.Seq, Field: req.Field, Message: msgBadReveal})
		return
	}
	if !c.gate.allow(c.hub.now()) {
		c.refuseReveal(req, "too frequent")
		return
	}
	c.revealsOnce.Do(func() {
		c.hub.wg.Add(1) // the read loop is counted, so Close is not waiting yet
		go c.recordReveals()
	})
	select {
	case c.reveals <- revealJob{req: req, sh: sh, value: value}:
	default:
		c.refuseReveal(req, "too many waiting to be recorded")
	}
}

// refuseReveal answers a reveal the tab asked too often with
// msgRevealTooFast, and logs the refusals at most once a minute, with
// their count (and no customer data).
func (c *client) refuseReveal(req request, why string) {
	g := &c.gate
	g.refused++
	if now := c.hub.now(); now.Sub(g.loggedAt) >= time.Minute {
		c.hub.log.Warn("reveals refused", "why", why, "count", g.refused,
			"burst", revealBurst, "every", revealEvery)
		g.refused, g.loggedAt = 0, now
	}
	c.enqueue(message{Type: typeError, Seq: req.Seq, Field: req.Field, Message: msgRevealTooFast})
}

// recordReveals records the tab's reveals in order and answers them, until
// the tab closes. recent is when each field of each customer was last
// recorded.
func (c *client) recordReveals() {
	defer c.hub.wg.Done()
	recent := map[string]time.Time{}
	for {
		select {
		case <-c.quit:
			return
		case j := <-c.reveals:
			c.recordReveal(j, recent)
		}
	}
}

func (c *client) recordReveal(j revealJob, recent map[string]time.Time) {
	now := c.hub.now()
	key := j.sh.subject + "\x00" + j.req.Field
	if at, ok := recent[key]; ok && now.Sub(at) < revealWindow && !now.Before(at) {
		c.hub.log.Debug("reveal recorded within the minute", "subject", j.sh.subject, "field", j.req.Field)
		c.enqueue(message{Type: typeRevealed, Seq: j.req.Seq, Field: j.req.Field, Value: j.value})
		return
	}
	if rec := c.hub.reveals; rec != nil {
		ctx, cancel := context.WithTimeout(c.ctx, c.hub.lookupTimeout)
		err := rec.Record(ctx, j.sh.subject, j.req.Field)
		cancel()
		if err != nil {
			msg := msgRevealFailed
			// Only the orders import announces a long write.
			if busy, ok := errors.AsType[*sqlitedb.BusyError](err); ok {
				c.hub.log.Info("reveal refused: an orders import holds the database", "what", busy.What,
					"since", busy.Since)
				msg = msgImportRunning
			} else {
				c.hub.log.Warn("could not record a reveal; the value stays hidden", "err", err)
			}
			c.enqueue(message{Type: typeError, Seq: j.req.Seq, Field: j.req.Field, Message: msg})
			return
		}
	}
	for k, at := range recent {
		if now.Sub(at) >= revealWindow {
			delete(recent, k)
		}
	}
	recent[key] = now
	c.hub.log.Debug("reveal", "subject", j.sh.subject, "field", j.req.Field)
	c.enqueue(message{Type: typeRevealed, Seq: j.req.Seq, Field: j.req.Field, Value: j.value})
}
