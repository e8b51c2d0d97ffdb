package sidebar

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/kfsidebar/kfsidebar/internal/sqlitedb"
	"github.com/kfsidebar/kfsidebar/internal/sqlitedb/sqlitedbtest"
)

func TestChatKey(t *testing.T) {
	tests := []struct {
		openid, uin, want string
	}{
		{"oA", "123", "oA"},
		{"", "123", "uin:123"},
		{" ", " 123 ", "uin:123"},
		{"", "", ""},
	}
	for _, tt := range tests {
		if got := ChatKey(tt.openid, tt.uin); got != tt.want {
			t.Errorf("ChatKey(%q, %q) = %q, want %q", tt.openid, tt.uin, got, tt.want)
		}
	}
}

func TestBindingsRoundTripAndRestart(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "kf.db")
	db := sqlitedbtest.Open(t, path)
	b, err := OpenBindings(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	lookup := func(b *Bindings, key string) (string, bool) {
		t.Helper()
		id, ok, err := b.Lookup(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		return id, ok
	}
	if _, ok := lookup(b, "oA"); ok {
		t.Fatal("unbound chat is bound")
	}
	for _, bind := range [][2]string{{"oA", "c1"}, {"uin:42", "c2"}, {"avatar:wx.qlogo.cn/mmhead/x", "c3"}, {"oA", "c4"}} {
		if err := b.Bind(ctx, bind[0], bind[1]); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Unbind(ctx, "uin:42"); err != nil {
		t.Fatal(err)
	}
	if err := b.Unbind(ctx, "never-bound"); err != nil {
		t.Errorf("unbinding an unbound chat: %v", err)
	}

	// Restart: a new process opens the same file.
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	b, err = OpenBindings(ctx, sqlitedbtest.Open(t, path))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		key    string
		wantID string
		wantOK bool
	}{
		{"oA", "c4", true}, // rebinding replaced c1
		{"uin:42", "", false},
		{"avatar:wx.qlogo.cn/mmhead/x", "c3", true},
		{"oa", "", false}, // openids are case-sensitive
	}
	for _, tt := range tests {
		if id, ok := lookup(b, tt.key); id != tt.wantID || ok != tt.wantOK {
			t.Errorf("Lookup(%q) = %q, %v; want %q, %v", tt.key, id, ok, tt.wantID, tt.wantOK)
		}
	}
}

func TestBindingsRejectEmpty(t *testing.T) {
	ctx := context.Background()
	b, err := OpenBindings(ctx, sqlitedbtest.New(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range [][2]string{{"", "c1"}, {"uin:", "c1"}, {" oA", "c1"}, {"oA", ""}, {"oA", "  "}} {
		if err := b.Bind(ctx, tt[0], tt[1]); !errors.Is(err, ErrInvalidBinding) {
			t.Errorf("Bind(%q, %q) = %v, want ErrInvalidBinding", tt[0], tt[1], err)
		}
	}
	if err := b.Unbind(ctx, ""); !errors.Is(err, ErrInvalidBinding) {
		t.Errorf("Unbind(\"\") = %v, want ErrInvalidBinding", err)
	}
}

// TestStoresOpenADatabaseOfAnEarlierRelease opens a database made before
// schema steps were recorded: the bindings and the reveal log are there,
// kf_migrations is not. Both keep their rows, and their steps are
// recorded as applied.
func TestStoresOpenADatabaseOfAnEarlierRelease(t *testing.T) {
	ctx := context.Background()
	db := sqlitedbtest.New(t)
	// The tables and rows as the releases before kf_migrations left them.
	if _, err := db.Exec(`
CREATE TABLE IF NOT EXISTS kf_bindings (
	chat_key    TEXT PRIMARY KEY NOT NULL,
	customer_id TEXT NOT NULL,
	bound_at    INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS kf_reveals (
	id         INTEGER PRIMARY KEY,
	at_unix_ns INTEGER NOT NULL,
	openid     TEXT NOT NULL,
	field      TEXT NOT NULL
);
INSERT INTO kf_bindings VALUES ('uin:42', 'c-42', 1);
INSERT INTO kf_reveals (at_unix_ns, openid, field) VALUES (1, 'oA', 'phone');`); err != nil {
		t.Fatal(err)
	}
	b, err := OpenBindings(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	if id, ok, err := b.Lookup(ctx, "uin:42"); err != nil || !ok || id != "c-42" {
		t.Errorf("Lookup(uin:42) = %q, %v, %v; want c-42", id, ok, err)
	}
	r, err := OpenRevealLog(ctx, db, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := r.Recent(ctx, 10); err != nil || len(got) != 1 || got[0].OpenID != "oA" {
		t.Errorf("Recent = %+v, %v; want the stored reveal", got, err)
	}
	for store, want := range map[string]string{"bindings": "create kf_bindings", "reveals": "create kf_reveals"} {
		if ids, err := sqlitedb.Applied(ctx, db, store); err != nil || len(ids) != 1 || ids[0] != want {
			t.Errorf("%s applied %q, %v; want %q", store, ids, err, want)
		}
	}
}

// TestBindDuringImport: while an `orders import` beside the proxy holds
// the database, Bind and Unbind give up after about a second (not SQLite's
// 5 s) with an error that names the import, which the sidebar shows as
// 正在导入订单; once the import has committed, Bind works.
func TestBindDuringImport(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "kf.db")
	b, err := OpenBindings(ctx, sqlitedbtest.Open(t, path))
	if err != nil {
		t.Fatal(err)
	}
	endImport := sqlitedbtest.HoldForImport(t, path)
	for name, op := range map[string]func() error{
		"bind":   func() error { return b.Bind(ctx, "oA", "c1") },
		"unbind": func() error { return b.Unbind(ctx, "oA") },
	} {
		start := time.Now()
		err := op()
		if busy, ok := errors.AsType[*sqlitedb.BusyError](err); !ok || busy.What != "orders import" {
			t.Fatalf("%s during the import: %v, want a BusyError naming it", name, err)
		}
		if took := time.Since(start); took > 3*time.Second {
			t.Errorf("%s gave up after %v, want about %v", name, took, revealImportWait)
		}
	}
	endImport()
	if err := b.Bind(ctx, "oA", "c1"); err != nil {
		t.Fatalf("bind after the import: %v", err)
	}
	if id, ok, err := b.Lookup(ctx, "oA"); err != nil || !ok || id != "c1" {
		t.Errorf("after the import: Lookup = %q, %v, %v; want c1", id, ok, err)
	}
}
