package sidebar

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"testing"

	_ "github.com/mattn/go-sqlite3"
)

// openDBFile opens path the way the CLI does; the database is closed when
// the test ends unless the test closes it first (to reopen it: a restart).
func openDBFile(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite3", "file:"+path+"?_journal_mode=WAL&_busy_timeout=5000&_foreign_keys=on")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

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
	db := openDBFile(t, path)
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
	b, err = OpenBindings(ctx, openDBFile(t, path))
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
	b, err := OpenBindings(ctx, openDBFile(t, filepath.Join(t.TempDir(), "kf.db")))
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
