package sidebar

import (
	"context"
	"database/sql"
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
	return &RevealLog{db: db, now: now}, nil
}

// Record notes that the field of openid's customer was revealed now.
func (r *RevealLog) Record(ctx context.Context, openid, field string) error {
	field = strings.TrimSpace(field)
	switch {
	case strings.TrimSpace(openid) == "":
		return fmt.Errorf("record reveal: empty openid")
	case field == "" || len(field) > maxRevealField:
		return fmt.Errorf("record reveal: field must be 1 to %d bytes", maxRevealField)
	}
	if _, err := r.db.ExecContext(ctx, `INSERT INTO kf_reveals (at_unix_ns, openid, field) VALUES (?, ?, ?)`,
		r.now().UnixNano(), openid, field); err != nil {
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

// reveal answers a reveal request with the real value of a field of the
// customer on screen, once the reveal is recorded. It runs off the read
// loop: recording writes to the database.
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
	c.hub.wg.Add(1) // the read loop is counted, so Close is not waiting yet
	go func() {
		defer c.hub.wg.Done()
		if rec := c.hub.reveals; rec != nil {
			ctx, cancel := context.WithTimeout(c.ctx, c.hub.lookupTimeout)
			err := rec.Record(ctx, sh.subject, req.Field)
			cancel()
			if err != nil {
				c.hub.log.Warn("could not record a reveal; the value stays hidden", "err", err)
				c.enqueue(message{Type: typeError, Seq: req.Seq, Field: req.Field, Message: msgRevealFailed})
				return
			}
		}
		c.hub.log.Debug("reveal", "subject", sh.subject, "field", req.Field)
		c.enqueue(message{Type: typeRevealed, Seq: req.Seq, Field: req.Field, Value: value})
	}()
}
