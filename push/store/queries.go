package store

import (
	"strconv"
	"strings"
)

// queries are the statements of one dialect. They are written once with
// ? placeholders and rewritten to $n for PostgreSQL.
type queries struct {
	insertSeen, selectSeen                 string
	insertOutbox, claim, deleteOutbox      string
	due, lease                             string
	retry, bury, dead, replay, depth       string
	insertFeed, feed, pruneSeen, pruneFeed string
	insertVersion                          string
	mark                                   func(n int) string
}

func newQueries(d Dialect) queries {
	falseLit, trueLit, skipLocked := "0", "1", ""
	if d == Postgres {
		falseLit, trueLit, skipLocked = "false", "true", " FOR UPDATE SKIP LOCKED"
	}
	q := queries{
		insertSeen: `INSERT INTO push_seen (key, content_type, reply, created_ms) VALUES (?, ?, ?, ?)
			ON CONFLICT (key) DO NOTHING`,
		selectSeen: `SELECT content_type, reply FROM push_seen WHERE key = ?`,
		insertOutbox: `INSERT INTO push_outbox (target, payload, attempts, next_ms, dead, last_error, created_ms)
			VALUES (?, ?, 0, ?, ` + falseLit + `, '', ?)`,
		// A claim sets lease_ms, which no index holds, so it rewrites one
		// row and no index entry; the row is not due again while its
		// delivery may be under way. Due rows come in next_ms order, which
		// the index gives without sorting the backlog; leased ones (a
		// target's deliveries in flight) are few.
		claim: `UPDATE push_outbox SET attempts = attempts + 1, lease_ms = ?1
			WHERE id IN (SELECT id FROM push_outbox
				WHERE target = ?2 AND dead = ` + falseLit + ` AND next_ms <= ?3 AND lease_ms <= ?3
				ORDER BY next_ms, id LIMIT ?4` + skipLocked + `)
			RETURNING id, target, payload, attempts, last_error, created_ms`,
		// SQLite's claim: due, then lease.
		due: `SELECT id, target, payload, attempts, last_error, created_ms FROM push_outbox
			WHERE target = ?1 AND dead = ` + falseLit + ` AND next_ms <= ?2 AND lease_ms <= ?2
			ORDER BY next_ms, id LIMIT ?3`,
		lease:        `UPDATE push_outbox SET attempts = attempts + 1, lease_ms = ?1 WHERE id IN `, // + (marks)
		deleteOutbox: `DELETE FROM push_outbox WHERE id IN `,                                       // + (marks)
		retry:        `UPDATE push_outbox SET next_ms = ?, lease_ms = 0, last_error = ? WHERE id = ?`,
		bury:         `UPDATE push_outbox SET dead = ` + trueLit + `, last_error = ? WHERE id = ?`,
		dead: `SELECT id, target, payload, attempts, last_error, created_ms FROM push_outbox
			WHERE dead = ` + trueLit + ` AND (target = ?1 OR ?1 = '') ORDER BY id LIMIT ?2`,
		replay: `UPDATE push_outbox SET dead = ` + falseLit + `, attempts = 0, next_ms = ?1, lease_ms = 0, last_error = ''
			WHERE dead = ` + trueLit + ` AND (target = ?2 OR ?2 = '')`,
		depth:      `SELECT target, dead, count(*) FROM push_outbox GROUP BY target, dead`,
		insertFeed: `INSERT INTO push_feed (created_ms, data) VALUES (?, ?)`,
		feed:       `SELECT id, created_ms, data FROM push_feed WHERE id > ? AND created_ms >= ? ORDER BY id LIMIT ?`,
		// The expired rows are those before the first that is not.
		pruneSeen: `DELETE FROM push_seen WHERE rowid < COALESCE(
			(SELECT rowid FROM push_seen WHERE created_ms >= ?1 ORDER BY rowid LIMIT 1),
			(SELECT max(rowid) + 1 FROM push_seen WHERE created_ms < ?1))`,
		pruneFeed: `DELETE FROM push_feed WHERE id < COALESCE(
			(SELECT id FROM push_feed WHERE created_ms >= ?1 ORDER BY id LIMIT 1),
			(SELECT max(id) + 1 FROM push_feed WHERE created_ms < ?1))`,
		insertVersion: `INSERT INTO push_schema (version) VALUES (?)`,
		mark:          func(n int) string { return "?" + strconv.Itoa(n) },
	}
	if d == Postgres {
		// push_seen has no rowid there, and keeps its created_ms index.
		q.pruneSeen = `DELETE FROM push_seen WHERE created_ms < ?`
		for _, p := range []*string{&q.insertSeen, &q.selectSeen, &q.insertOutbox, &q.claim, &q.due, &q.lease, &q.deleteOutbox,
			&q.retry, &q.bury, &q.dead, &q.replay, &q.depth, &q.insertFeed, &q.feed, &q.pruneSeen, &q.pruneFeed, &q.insertVersion} {
			*p = dollars(*p)
		}
		q.mark = func(n int) string { return "$" + strconv.Itoa(n) }
	}
	return q
}

// dollars rewrites ? and ?N placeholders as PostgreSQL's $N. The queries
// hold no string literal with a question mark.
func dollars(q string) string {
	var b strings.Builder
	n := 0
	for i := 0; i < len(q); i++ {
		if q[i] != '?' {
			b.WriteByte(q[i])
			continue
		}
		j := i + 1
		for j < len(q) && q[j] >= '0' && q[j] <= '9' {
			j++
		}
		if j > i+1 {
			b.WriteString("$" + q[i+1:j])
		} else {
			n++
			b.WriteString("$" + strconv.Itoa(n))
		}
		i = j - 1
	}
	return b.String()
}

// list is "(p1, …, pn)": n placeholders numbered from first, for IN.
func (q queries) list(first, n int) string {
	marks := make([]string, n)
	for i := range marks {
		marks[i] = q.mark(first + i)
	}
	return "(" + strings.Join(marks, ",") + ")"
}
