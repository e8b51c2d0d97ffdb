package chats

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/kfsidebar/kfsidebar/proxy/console"
)

// TestSessionsRepeatSightingAllocatesNothing: the console's polls and
// accept responses name the same chats over and over, and each sighting
// runs Add on the response path. A chat already known, seen again with
// nothing new (or with fields missing, which keep their values), must cost
// no allocation at all; one seen again with something new changes memory
// in place, without allocating either (its write to SQLite is the writer's).
func TestSessionsRepeatSightingAllocatesNothing(t *testing.T) {
	clock := &sessClock{t: sessT0}
	s := sessOpen(t, sessOpenDB(t, filepath.Join(t.TempDir(), "kf.db")), clock, 0)
	known := console.Record{OpenID: "oA", Nickname: "小红 🌸", HeadImgURL: sessAvatarA, FansUIN: "2851234567",
		SessionID: "1700000000", Source: console.SourceAuto, SeenAt: sessT0}
	other := console.Record{OpenID: "oB", Nickname: "B", HeadImgURL: "http://wx.qlogo.cn/mmhead/BBBB", FansUIN: "2", Source: console.SourceAuto, SeenAt: sessT0}
	sessAdd(t, s, known, other)
	ctx := context.Background()

	sparse := known
	sparse.Nickname, sparse.HeadImgURL, sparse.SessionID = "", "", ""
	for _, tt := range []struct {
		name string
		recs []console.Record
	}{
		{"the same record", []console.Record{known}},
		{"the same record 30 s later, from another source", []console.Record{{OpenID: "oA", Nickname: known.Nickname,
			HeadImgURL: known.HeadImgURL, FansUIN: known.FansUIN, SessionID: known.SessionID, Source: console.SourceOther,
			SeenAt: sessT0.Add(30 * time.Second)}}},
		{"fields missing", []console.Record{sparse}},
		{"an older sighting", []console.Record{{OpenID: "oA", Nickname: "old name", Source: console.SourceOther, SeenAt: sessT0.Add(-time.Hour)}}},
		{"two known chats in one response", []console.Record{known, other}},
		{"no SeenAt (now)", []console.Record{{OpenID: "oB", Nickname: "B", Source: console.SourceAuto}}},
	} {
		if n := testing.AllocsPerRun(100, func() { s.Add(ctx, tt.recs) }); n != 0 {
			t.Errorf("%s: Add allocated %v times per call, want 0", tt.name, n)
		}
	}

	// Something new about a known chat: memory changes in place.
	newer := known
	newer.SessionID = "1700000001"
	newer.SeenAt = sessT0.Add(2 * time.Minute)
	s.mu.Lock()
	s.mergeLocked(newer, clock.Now()) // the dirty set has its key from now on
	ids := [2]string{"1700000002", "1700000003"}
	i := 0
	n := testing.AllocsPerRun(100, func() {
		newer.SeenAt = newer.SeenAt.Add(2 * time.Minute)
		newer.SessionID = ids[i%2]
		i++
		if !s.mergeLocked(newer, newer.SeenAt) {
			t.Error("a newer session_id changed nothing")
		}
	})
	s.mu.Unlock()
	if n != 0 {
		t.Errorf("a known chat with a new session_id: mergeLocked allocated %v times, want 0", n)
	}
	if got, _ := s.Get("oA"); got.Nickname != known.Nickname || got.HeadImgURL != known.HeadImgURL || got.FansUIN != known.FansUIN {
		t.Errorf("after the repeat sightings, oA = %+v; the missing fields lost their values", got)
	}
}

// BenchmarkSessionsAddKnown is the response path's cost of a chat already
// known: an accept response's 20 chats, all seen before.
func BenchmarkSessionsAddKnown(b *testing.B) {
	clock := &sessClock{t: sessT0}
	s := sessOpen(b, sessOpenDB(b, filepath.Join(b.TempDir(), "kf.db")), clock, 0)
	recs := make([]console.Record, 20)
	for i := range recs {
		recs[i] = console.Record{OpenID: "o" + string(rune('A'+i)), Nickname: "n", HeadImgURL: sessAvatarA,
			FansUIN: "1", Source: console.SourceAuto, SeenAt: sessT0}
	}
	sessAdd(b, s, recs...)
	b.ReportAllocs()
	for b.Loop() {
		s.Add(context.Background(), recs)
	}
}
