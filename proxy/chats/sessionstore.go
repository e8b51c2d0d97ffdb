package chats

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/kfsidebar/kfsidebar/internal/sqlitedb"
)

// The SQLite half of Sessions. Memory is the source of truth while the
// process runs; the table exists so that a restart loses nobody. Every write
// stores a whole merged entry (the merge happens once, in memory), so the
// table never needs merge logic of its own.
//
// Times are unix milliseconds. "source" is the source of the first sighting
// (what the status page counts); "last_source" is the latest one (what
// console.Record.Source says).

// sessionsMigrations are the chat map's schema steps (see sqlitedb.Step:
// each ID names its step forever). The first is idempotent because
// databases made before steps were recorded have the table already.
var sessionsMigrations = []sqlitedb.Step{
	{ID: "create kf_sessions", Apply: sqlitedb.Exec(
		`CREATE TABLE IF NOT EXISTS kf_sessions (
		openid      TEXT PRIMARY KEY,
		nickname    TEXT NOT NULL DEFAULT '',
		headimgurl  TEXT NOT NULL DEFAULT '',
		avatar_key  TEXT NOT NULL DEFAULT '',
		fans_uin    TEXT NOT NULL DEFAULT '',
		session_id  TEXT NOT NULL DEFAULT '',
		source      TEXT NOT NULL DEFAULT '',
		last_source TEXT NOT NULL DEFAULT '',
		first_seen  INTEGER NOT NULL,
		seen_at     INTEGER NOT NULL
	)`,
		`CREATE INDEX IF NOT EXISTS kf_sessions_avatar_key ON kf_sessions (avatar_key)`,
		`CREATE INDEX IF NOT EXISTS kf_sessions_fans_uin ON kf_sessions (fans_uin)`,
		`CREATE INDEX IF NOT EXISTS kf_sessions_seen_at ON kf_sessions (seen_at)`,
	)},
}

const (
	sessionsUpsertSQL = `INSERT INTO kf_sessions
		(openid, nickname, headimgurl, avatar_key, fans_uin, session_id, source, last_source, first_seen, seen_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (openid) DO UPDATE SET
			nickname = excluded.nickname,
			headimgurl = excluded.headimgurl,
			avatar_key = excluded.avatar_key,
			fans_uin = excluded.fans_uin,
			session_id = excluded.session_id,
			source = excluded.source,
			last_source = excluded.last_source,
			first_seen = excluded.first_seen,
			seen_at = excluded.seen_at`
	sessionsSelectSQL = `SELECT openid, nickname, headimgurl, fans_uin, session_id, source, last_source, first_seen, seen_at
		FROM kf_sessions WHERE seen_at > ?`
	sessionsDeleteSQL = `DELETE FROM kf_sessions WHERE seen_at <= ?`
)

// createSessionsTable makes sure the table and its indexes exist.
func createSessionsTable(ctx context.Context, db *sql.DB) error {
	return sqlitedb.Migrate(ctx, db, "sessions", sessionsMigrations)
}

// loadSessionRows returns every row still live at cutoff (seen after it).
func loadSessionRows(ctx context.Context, db *sql.DB, cutoff time.Time) ([]sessionEntry, error) {
	rows, err := db.QueryContext(ctx, sessionsSelectSQL, cutoff.UnixMilli())
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []sessionEntry
	for rows.Next() {
		var (
			e                 sessionEntry
			firstSeen, seenAt int64
		)
		if err := rows.Scan(&e.rec.OpenID, &e.rec.Nickname, &e.rec.HeadImgURL, &e.rec.FansUIN,
			&e.rec.SessionID, &e.firstSource, &e.rec.Source, &firstSeen, &seenAt); err != nil {
			return nil, err
		}
		e.firstSeen = time.UnixMilli(firstSeen)
		e.rec.SeenAt = time.UnixMilli(seenAt)
		out = append(out, e)
	}
	return out, rows.Err()
}

// importWait is how long a write of chats waits for the lock while an
// announced long write (orders import) holds it; the writer retries after.
const importWait = time.Second

// writeSessionRows upserts entries in one transaction, so one Add costs one
// fsync however many users its response carried. While an `orders import`
// beside the proxy holds the write lock, it gives up after importWait with
// a *sqlitedb.BusyError that names the import.
func writeSessionRows(ctx context.Context, db *sql.DB, entries []sessionEntry) error {
	return sqlitedb.ShortWriteTx(ctx, db, importWait, func(tx sqlitedb.Tx) error {
		for _, e := range entries {
			r := e.rec
			if _, err := tx.ExecContext(ctx, sessionsUpsertSQL, r.OpenID, r.Nickname, r.HeadImgURL, e.avatarKey, r.FansUIN,
				r.SessionID, e.firstSource, r.Source, e.firstSeen.UnixMilli(), r.SeenAt.UnixMilli()); err != nil {
				return fmt.Errorf("upsert: %w", err)
			}
		}
		return nil
	})
}

// deleteSessionRows deletes every row not live at cutoff and says how many
// went.
func deleteSessionRows(ctx context.Context, db *sql.DB, cutoff time.Time) (int64, error) {
	res, err := db.ExecContext(ctx, sessionsDeleteSQL, cutoff.UnixMilli())
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}
