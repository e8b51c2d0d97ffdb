package sidebar

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/kfsidebar/kfsidebar/internal/sqlitedb/sqlitedbtest"
)

func TestRevealLogRoundTripAndRestart(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "kf.db")
	db := sqlitedbtest.Open(t, path)
	clock := time.Date(2026, 11, 22, 9, 30, 0, 0, time.UTC)
	now := func() time.Time {
		clock = clock.Add(time.Second)
		return clock
	}
	r, err := OpenRevealLog(ctx, db, now)
	if err != nil {
		t.Fatal(err)
	}
	for _, rec := range [][2]string{{"oA", "phone"}, {"oB", "address"}, {"oA", " address "}} {
		if err := r.Record(ctx, rec[0], rec[1]); err != nil {
			t.Fatal(err)
		}
	}
	for _, bad := range [][2]string{{"", "phone"}, {"oA", ""}, {"oA", string(make([]byte, maxRevealField+1))}} {
		if err := r.Record(ctx, bad[0], bad[1]); err == nil {
			t.Errorf("Record(%q, %q) succeeded", bad[0], bad[1])
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	r, err = OpenRevealLog(ctx, sqlitedbtest.Open(t, path), nil)
	if err != nil {
		t.Fatal(err)
	}
	got, err := r.Recent(ctx, 2)
	if err != nil {
		t.Fatal(err)
	}
	base := time.Date(2026, 11, 22, 9, 30, 0, 0, time.UTC)
	want := []Reveal{
		{At: base.Add(3 * time.Second), OpenID: "oA", Field: "address"},
		{At: base.Add(2 * time.Second), OpenID: "oB", Field: "address"},
	}
	if len(got) != len(want) {
		t.Fatalf("Recent(2) = %+v, want %+v", got, want)
	}
	for i := range want {
		if !got[i].At.Equal(want[i].At) || got[i].OpenID != want[i].OpenID || got[i].Field != want[i].Field {
			t.Errorf("Recent(2)[%d] = %+v, want %+v", i, got[i], want[i])
		}
	}
}
