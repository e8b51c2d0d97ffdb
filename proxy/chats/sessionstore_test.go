package chats

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/kfsidebar/kfsidebar/internal/sqlitedb"
	"github.com/kfsidebar/kfsidebar/internal/sqlitedb/sqlitedbtest"
)

// TestOpenDatabaseOfAnEarlierRelease opens a database made before schema
// steps were recorded: kf_sessions is there, kf_migrations is not. The
// users stay known, and the step is recorded as applied.
func TestOpenDatabaseOfAnEarlierRelease(t *testing.T) {
	ctx := context.Background()
	db := sqlitedbtest.New(t)
	// The table as the releases before kf_migrations created it.
	if _, err := db.Exec(`CREATE TABLE IF NOT EXISTS kf_sessions (
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
	);
	CREATE INDEX IF NOT EXISTS kf_sessions_avatar_key ON kf_sessions (avatar_key);
	CREATE INDEX IF NOT EXISTS kf_sessions_fans_uin ON kf_sessions (fans_uin);
	CREATE INDEX IF NOT EXISTS kf_sessions_seen_at ON kf_sessions (seen_at)`); err != nil {
		t.Fatal(err)
	}
	seen := time.Now().Add(-time.Hour).UnixMilli()
	if _, err := db.Exec(`INSERT INTO kf_sessions (openid, nickname, fans_uin, first_seen, seen_at)
VALUES ('oOldUser', '老用户', '1001', ?, ?)`, seen, seen); err != nil {
		t.Fatal(err)
	}
	s, err := Open(ctx, db, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(ctx)
	if rec, ok := s.Get("oOldUser"); !ok || rec.Nickname != "老用户" || rec.FansUIN != "1001" {
		t.Errorf("Get(oOldUser) = %+v, %v; want the stored user", rec, ok)
	}
	ids, err := sqlitedb.Applied(ctx, db, "sessions")
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"create kf_sessions"}; !slices.Equal(ids, want) {
		t.Errorf("applied %q, want %q", ids, want)
	}
}
