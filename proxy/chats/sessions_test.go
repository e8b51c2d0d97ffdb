package chats

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"path/filepath"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/kfsidebar/kfsidebar/internal/kftest"
	"github.com/kfsidebar/kfsidebar/internal/sqlitedb"
	"github.com/kfsidebar/kfsidebar/internal/sqlitedb/sqlitedbtest"
	"github.com/kfsidebar/kfsidebar/proxy/console"
)

// sessT0 is the fake "now" most session tests start from.
var sessT0 = time.Date(2024, 5, 10, 10, 0, 0, 0, time.UTC)

// sessClock is a settable clock safe for concurrent use.
type sessClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *sessClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *sessClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// sessOpenDB opens (creating if needed) the SQLite file at path and closes
// it when the test ends.
func sessOpenDB(t testing.TB, path string) *sql.DB {
	t.Helper()
	return sqlitedbtest.Open(t, path)
}

// sessOpen runs Open with the fake clock and a logger writing to t.
func sessOpen(t testing.TB, db *sql.DB, clock *sessClock, ttl time.Duration) *Sessions {
	t.Helper()
	s, err := Open(context.Background(), db, Options{
		TTL:    ttl,
		Now:    clock.Now,
		Logger: slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close(context.Background()) })
	return s
}

// sessAdd adds recs and stores them at once, failing the test on error.
func sessAdd(t testing.TB, s *Sessions, recs ...console.Record) {
	t.Helper()
	if err := s.Add(context.Background(), recs); err != nil {
		t.Fatalf("Add: %v", err)
	}
	if err := s.Flush(context.Background()); err != nil {
		t.Fatalf("Flush: %v", err)
	}
}

// sessRows counts the rows of kf_sessions.
func sessRows(t testing.TB, db *sql.DB) int {
	t.Helper()
	var n int
	if err := db.QueryRow(`SELECT COUNT(*) FROM kf_sessions`).Scan(&n); err != nil {
		t.Fatalf("count rows: %v", err)
	}
	return n
}

// sessResolutionIDs reduces a console.Resolution to the resolved openid, or to the
// candidates' openids when nobody is resolved, checking that a resolved
// record comes with its evidence and first among the candidates.
func sessResolutionIDs(t *testing.T, r console.Resolution) (string, []string) {
	t.Helper()
	if r.Record != nil {
		if r.Evidence == "" || len(r.Candidates) == 0 || r.Candidates[0].OpenID != r.Record.OpenID {
			t.Errorf("resolution of %s: evidence %q, candidates %v; want evidence and the record first", r.Record.OpenID, r.Evidence, r.Candidates)
		}
		return r.Record.OpenID, nil
	}
	if r.Evidence != "" {
		t.Errorf("unresolved resolution has evidence %q", r.Evidence)
	}
	var cands []string
	for _, c := range r.Candidates {
		cands = append(cands, c.OpenID)
	}
	return "", cands
}

const (
	sessAvatarA   = "http://wx.qlogo.cn/mmhead/AAAA"
	sessAvatarDef = "http://wx.qlogo.cn/mmhead/DEFAULT"
	sessAvatarDup = "http://wx.qlogo.cn/mmhead/SAME"
)

// sessFixture is the population the Resolve and restart tests share.
func sessFixture() []console.Record {
	return []console.Record{
		{OpenID: "oA", Nickname: "Alice", HeadImgURL: sessAvatarA, FansUIN: "1001", Source: console.SourceManual, SeenAt: sessT0},
		// Two users behind one default avatar, told apart by nickname.
		{OpenID: "oBob", Nickname: "Bob", HeadImgURL: sessAvatarDef, Source: console.SourceAuto, SeenAt: sessT0.Add(-2 * time.Hour)},
		{OpenID: "oCarol", Nickname: "Carol", HeadImgURL: sessAvatarDef, Source: console.SourceAuto, SeenAt: sessT0.Add(-time.Hour)},
		// Three users behind one avatar, two of them with the same nickname.
		{OpenID: "oDan1", Nickname: "Dan", HeadImgURL: sessAvatarDup, Source: console.SourceAuto, SeenAt: sessT0.Add(-2 * time.Hour)},
		{OpenID: "oDan2", Nickname: "Dan", HeadImgURL: sessAvatarDup, Source: console.SourceAuto, SeenAt: sessT0.Add(-time.Hour)},
		{OpenID: "oEve", Nickname: "Eve", HeadImgURL: sessAvatarDup, Source: console.SourceAuto, SeenAt: sessT0.Add(-3 * time.Hour)},
		// Users without an avatar.
		{OpenID: "oNobody", Nickname: "Nobody", Source: console.SourcePage, SeenAt: sessT0},
		{OpenID: "oTwin1", Nickname: "Twin", Source: console.SourcePage, SeenAt: sessT0},
		{OpenID: "oTwin2", Nickname: "Twin", Source: console.SourcePage, SeenAt: sessT0},
		{OpenID: "oMixed1", Nickname: "Mixed", Source: console.SourcePage, SeenAt: sessT0},
		{OpenID: "oMixed2", Nickname: "Mixed", HeadImgURL: "http://wx.qlogo.cn/mmhead/MIXED", Source: console.SourcePage, SeenAt: sessT0},
		// Fay has a uin of her own; Wei has a picture of his own but
		// WeChat's default nickname.
		{OpenID: "oFay", Nickname: "Fay", HeadImgURL: "http://wx.qlogo.cn/mmhead/FAY", FansUIN: "2002", Source: console.SourceManual, SeenAt: sessT0},
		{OpenID: "oWei", Nickname: "微信用户", HeadImgURL: "http://wx.qlogo.cn/mmhead/WEI", Source: console.SourceManual, SeenAt: sessT0},
		// Expired by sessT0 (73h old): shares Alice's avatar, has its own uin.
		{OpenID: "oExpired", Nickname: "Alice", HeadImgURL: sessAvatarA, FansUIN: "9999", Source: console.SourceManual, SeenAt: sessT0.Add(-73 * time.Hour)},
	}
}

// sessResolveCases are the Resolve expectations against sessFixture at
// sessT0: the user and the evidence, or the candidates when nobody is
// resolved.
var sessResolveCases = []struct {
	name      string
	q         console.Query
	wantID    string
	wantEv    string
	wantCands []string
}{
	{"card uin wins over looks", console.Query{UIN: "1001", Avatar: sessAvatarDef + "/132", Nickname: "Bob"}, "oA", console.EvidenceUIN, nil},
	{"history request names the user", console.Query{Opened: "1001", Avatar: sessAvatarA + "/132", Nickname: "Alice"}, "oA", console.EvidenceOpened, nil},
	{"history request and card agree", console.Query{Opened: "1001", UIN: "1001"}, "oA", console.EvidenceOpened, nil},
	{"history request and card disagree", console.Query{Opened: "1001", UIN: "2002", Nickname: "Alice"}, "", "", []string{"oA", "oFay"}},
	{"history request for a user who does not look like the card", console.Query{Opened: "1001", Avatar: sessAvatarDef + "/132", Nickname: "Bob"}, "", "", []string{"oA", "oBob"}},
	{"unknown card uin never falls back to looks", console.Query{UIN: "5555", Avatar: sessAvatarA + "/132", Nickname: "Alice"}, "", "", nil},
	{"expired card uin never falls back to looks", console.Query{UIN: "9999", Avatar: sessAvatarA + "/132", Nickname: "Alice"}, "", "", nil},
	{"expired uin alone", console.Query{UIN: "9999"}, "", "", nil},
	{"unknown opened uin: only look-alikes without a uin remain", console.Query{Opened: "7777", Avatar: sessAvatarDef + "/132", Nickname: "Carol"}, "", "", []string{"oCarol"}},
	{"avatar page form matches JSON form", console.Query{Avatar: "https://wx.qlogo.cn/mmhead/AAAA/132", Nickname: "Alice"}, "oA", console.EvidenceAvatar, nil},
	{"avatar alias host and size", console.Query{Avatar: "https://thirdwx.qlogo.cn/mmhead/AAAA/0", Nickname: "Alice"}, "oA", console.EvidenceAvatar, nil},
	{"avatar without a nickname is not enough", console.Query{Avatar: sessAvatarA + "/132"}, "", "", []string{"oA"}},
	{"avatar with another nickname is asked about", console.Query{Avatar: sessAvatarA, Nickname: "someone else"}, "", "", []string{"oA"}},
	{"shared avatar narrowed by trimmed nickname", console.Query{Avatar: sessAvatarDef + "/132", Nickname: "  Carol "}, "oCarol", console.EvidenceAvatar, nil},
	{"two look-alike cards on the page", console.Query{Avatar: sessAvatarDef + "/132", Nickname: "Carol", Peers: 2}, "", "", []string{"oCarol"}},
	{"shared avatar, unknown nickname: all, newest first", console.Query{Avatar: sessAvatarDef + "/132", Nickname: "Zed"}, "", "", []string{"oCarol", "oBob"}},
	{"shared avatar, no nickname: all, newest first", console.Query{Avatar: sessAvatarDup + "/132"}, "", "", []string{"oDan2", "oDan1", "oEve"}},
	{"shared avatar and nickname: those, newest first", console.Query{Avatar: sessAvatarDup + "/132", Nickname: "Dan"}, "", "", []string{"oDan2", "oDan1"}},
	{"shared avatar narrowed to the odd one", console.Query{Avatar: sessAvatarDup + "/132", Nickname: "Eve"}, "oEve", console.EvidenceAvatar, nil},
	{"default nickname never identifies", console.Query{Avatar: "https://wx.qlogo.cn/mmhead/WEI/132", Nickname: "微信用户"}, "", "", []string{"oWei"}},
	{"no avatar, unique nickname", console.Query{Nickname: "Nobody"}, "oNobody", console.EvidenceAvatar, nil},
	{"no avatar, unique nickname, page shows a default image", console.Query{Avatar: "https://res.wx.qq.com/mpres/default.png", Nickname: "Nobody"}, "oNobody", console.EvidenceAvatar, nil},
	{"no avatar, nickname shared", console.Query{Nickname: "Twin"}, "", "", []string{"oTwin1", "oTwin2"}},
	{"no avatar: a user with an avatar is ruled out", console.Query{Nickname: "Mixed"}, "oMixed1", console.EvidenceAvatar, nil},
	{"nickname of a user with an avatar is not enough", console.Query{Nickname: "Alice"}, "", "", nil},
	{"unknown avatar", console.Query{Avatar: "https://wx.qlogo.cn/mmhead/ZZZZ/132"}, "", "", nil},
	{"empty query", console.Query{}, "", "", nil},
	{"blank query", console.Query{UIN: " ", Avatar: " ", Nickname: " "}, "", "", nil},
}

// sessLoadFixture adds sessFixture while the clock still lets oExpired in,
// then moves the clock to sessT0.
func sessLoadFixture(t *testing.T, s *Sessions, clock *sessClock) {
	t.Helper()
	clock.Set(sessT0.Add(-2 * time.Hour))
	sessAdd(t, s, sessFixture()...)
	clock.Set(sessT0)
}

func TestSessionsResolve(t *testing.T) {
	clock := &sessClock{}
	db := sessOpenDB(t, filepath.Join(t.TempDir(), "kf.db"))
	s := sessOpen(t, db, clock, 0)
	sessLoadFixture(t, s, clock)

	for _, tc := range sessResolveCases {
		t.Run(tc.name, func(t *testing.T) {
			r := s.Resolve(tc.q)
			gotID, gotCands := sessResolutionIDs(t, r)
			if gotID != tc.wantID || r.Evidence != tc.wantEv || !reflect.DeepEqual(gotCands, tc.wantCands) {
				t.Errorf("Resolve(%+v) = %q (%s) %v, want %q (%s) %v", tc.q, gotID, r.Evidence, gotCands, tc.wantID, tc.wantEv, tc.wantCands)
			}
		})
	}
	if got, want := s.Len(), len(sessFixture())-1; got != want {
		t.Errorf("Len() = %d, want %d", got, want)
	}
	if _, ok := s.Get("oExpired"); ok {
		t.Errorf("Get(oExpired) found an expired record")
	}
}

func TestSessionsAddMerges(t *testing.T) {
	clock := &sessClock{t: sessT0}
	path := filepath.Join(t.TempDir(), "kf.db")
	db := sessOpenDB(t, path)
	s := sessOpen(t, db, clock, 0)

	const av1, av2 = "http://wx.qlogo.cn/mmhead/AV1", "http://wx.qlogo.cn/mmhead/AV2"
	sessAdd(t, s, console.Record{OpenID: "oU", Nickname: "U", HeadImgURL: av1, FansUIN: "1", SessionID: "s1", Source: console.SourceManual, SeenAt: sessT0})
	// A later sighting without nickname, avatar or uin keeps them.
	sessAdd(t, s, console.Record{OpenID: "oU", SessionID: "s2", Source: console.SourceAuto, SeenAt: sessT0.Add(time.Minute)})
	// An older sighting changes nothing it would overwrite, but fills gaps.
	sessAdd(t, s, console.Record{OpenID: "oU", Nickname: "Old", HeadImgURL: "http://wx.qlogo.cn/mmhead/OLD", Source: console.SourceTransfer, SeenAt: sessT0.Add(-time.Minute)})
	// Records without an openid are ignored.
	sessAdd(t, s, console.Record{Nickname: "ghost", HeadImgURL: av1, SeenAt: sessT0})

	want := console.Record{OpenID: "oU", Nickname: "U", HeadImgURL: av1, FansUIN: "1", SessionID: "s2", Source: console.SourceAuto, SeenAt: sessT0.Add(time.Minute).Local()}
	if got, ok := s.Get("oU"); !ok || !reflect.DeepEqual(got, want) {
		t.Fatalf("Get(oU) = %+v, %v; want %+v", got, ok, want)
	}
	if got := s.Len(); got != 1 {
		t.Errorf("Len() = %d, want 1", got)
	}

	// A new avatar and uin move the indexes.
	sessAdd(t, s, console.Record{OpenID: "oU", HeadImgURL: av2, FansUIN: "2", Source: console.SourceAuto, SeenAt: sessT0.Add(2 * time.Minute)})
	for _, tc := range []struct {
		q      console.Query
		wantID string
	}{
		{console.Query{Avatar: av1 + "/132", Nickname: "U"}, ""},
		{console.Query{UIN: "1"}, ""},
		{console.Query{Avatar: av2 + "/132", Nickname: "U"}, "oU"},
		{console.Query{UIN: "2"}, "oU"},
	} {
		if gotID, _ := sessResolutionIDs(t, s.Resolve(tc.q)); gotID != tc.wantID {
			t.Errorf("after the avatar change, Resolve(%+v) = %q, want %q", tc.q, gotID, tc.wantID)
		}
	}

	// The table holds the merged record, and the first sighting's source.
	want = console.Record{OpenID: "oU", Nickname: "U", HeadImgURL: av2, FansUIN: "2", SessionID: "s2", Source: console.SourceAuto, SeenAt: sessT0.Add(2 * time.Minute).Local()}
	s2 := sessOpen(t, sessOpenDB(t, path), clock, 0)
	if got, ok := s2.Get("oU"); !ok || !reflect.DeepEqual(got, want) {
		t.Errorf("after reopening, Get(oU) = %+v, %v; want %+v", got, ok, want)
	}
	var first string
	if err := db.QueryRow(`SELECT source FROM kf_sessions WHERE openid = ?`, "oU").Scan(&first); err != nil || first != console.SourceTransfer {
		t.Errorf("stored first source = %q, %v; want %q", first, err, console.SourceTransfer)
	}
}

func TestSessionsExpiry(t *testing.T) {
	clock := &sessClock{t: sessT0}
	db := sessOpenDB(t, filepath.Join(t.TempDir(), "kf.db"))
	s := sessOpen(t, db, clock, time.Hour)
	q := console.Query{Avatar: sessAvatarA + "/132", Nickname: "Alice"}

	sessAdd(t, s, console.Record{OpenID: "oA", Nickname: "Alice", HeadImgURL: sessAvatarA, FansUIN: "1", Source: console.SourceManual}) // zero SeenAt: now
	// Already older than the TTL: ignored.
	sessAdd(t, s, console.Record{OpenID: "oOld", Nickname: "Old", Source: console.SourceManual, SeenAt: sessT0.Add(-time.Hour)})

	for _, tc := range []struct {
		at   time.Duration
		live bool
	}{
		{0, true},
		{59 * time.Minute, true},
		{time.Hour, false},
		{2 * time.Hour, false},
	} {
		clock.Set(sessT0.Add(tc.at))
		_, got := s.Get("oA")
		gotID, _ := sessResolutionIDs(t, s.Resolve(q))
		gotUIN, _ := sessResolutionIDs(t, s.Resolve(console.Query{UIN: "1"}))
		if got != tc.live || (gotID == "oA") != tc.live || (gotUIN == "oA") != tc.live || (s.Len() == 1) != tc.live {
			t.Errorf("at +%v: Get found %v, Resolve %q/%q, Len %d; want live=%v", tc.at, got, gotID, gotUIN, s.Len(), tc.live)
		}
	}
	if _, ok := s.Get("oOld"); ok {
		t.Errorf("a record older than the TTL was added")
	}

	if got := sessRows(t, db); got != 1 {
		t.Fatalf("rows before Prune = %d, want 1", got)
	}
	if err := s.Prune(context.Background()); err != nil {
		t.Fatalf("Prune: %v", err)
	}
	if got := sessRows(t, db); got != 0 {
		t.Errorf("rows after Prune = %d, want 0", got)
	}

	// Seen again after expiry: a new first sighting, live again.
	sessAdd(t, s, console.Record{OpenID: "oA", Nickname: "Alice", HeadImgURL: sessAvatarA, Source: console.SourceAuto})
	if gotID, _ := sessResolutionIDs(t, s.Resolve(q)); gotID != "oA" {
		t.Errorf("after a new sighting, Resolve = %q, want oA", gotID)
	}
	if got := s.Counts(1)[clock.Now().Format(time.DateOnly)]; !reflect.DeepEqual(got, map[string]int{console.SourceAuto: 1}) {
		t.Errorf("Counts after a new sighting = %v, want auto:1", got)
	}
}

// TestSessionsSeenAgainBeforePrune: a user seen again after expiring but
// before Prune removed them is a first sighting, indexed by avatar again.
func TestSessionsSeenAgainBeforePrune(t *testing.T) {
	clock := &sessClock{t: sessT0}
	s := sessOpen(t, sessOpenDB(t, filepath.Join(t.TempDir(), "kf.db")), clock, time.Hour)
	rec := console.Record{OpenID: "oA", Nickname: "阿", HeadImgURL: sessAvatarA, Source: console.SourceManual}
	sessAdd(t, s, rec)
	clock.Set(sessT0.Add(2 * time.Hour))
	rec.Source = console.SourceAuto
	sessAdd(t, s, rec)
	if gotID, _ := sessResolutionIDs(t, s.Resolve(console.Query{Avatar: sessAvatarA + "/132", Nickname: "阿"})); gotID != "oA" {
		t.Errorf("Resolve by avatar after a new sighting = %q, want oA", gotID)
	}
}

func TestSessionsRestart(t *testing.T) {
	clock := &sessClock{}
	path := filepath.Join(t.TempDir(), "kf.db")
	db := sessOpenDB(t, path)
	s := sessOpen(t, db, clock, 0)
	sessLoadFixture(t, s, clock)
	before := make([]console.Resolution, len(sessResolveCases))
	for i, tc := range sessResolveCases {
		before[i] = s.Resolve(tc.q)
	}
	if err := db.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}

	db = sessOpenDB(t, path)
	s = sessOpen(t, db, clock, 0)
	for i, tc := range sessResolveCases {
		if got := s.Resolve(tc.q); !reflect.DeepEqual(got, before[i]) {
			t.Errorf("%s: after restart Resolve = %+v, want %+v", tc.name, got, before[i])
		}
	}
	// Open deleted the row that had expired while we were down.
	if got, want := sessRows(t, db), len(sessFixture())-1; got != want {
		t.Errorf("rows after restart = %d, want %d", got, want)
	}

	// Down until the users seen before sessT0 have expired: only the users
	// seen at sessT0 remain.
	db.Close()
	clock.Set(sessT0.Add(DefaultTTL - 30*time.Minute))
	db = sessOpenDB(t, path)
	s = sessOpen(t, db, clock, 0)
	want := 0
	for _, r := range sessFixture() {
		_, got := s.Get(r.OpenID)
		if wantLive := r.SeenAt.Equal(sessT0); got != wantLive {
			t.Errorf("after a long restart, Get(%s) = %v, want %v", r.OpenID, got, wantLive)
		} else if wantLive {
			want++
		}
	}
	if got := sessRows(t, db); got != want {
		t.Errorf("rows after a long restart = %d, want %d", got, want)
	}
}

func TestSessionsStoreFailure(t *testing.T) {
	clock := &sessClock{t: sessT0}
	path := filepath.Join(t.TempDir(), "kf.db")
	sessOpen(t, sessOpenDB(t, path), clock, 0) // creates the table

	ro, err := sqlitedb.OpenReadOnly(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ro.Close() })
	s := sessOpen(t, ro, clock, 0)
	rec := console.Record{OpenID: "oA", Nickname: "Alice", HeadImgURL: sessAvatarA, Source: console.SourceManual, SeenAt: sessT0}
	if err := s.Add(context.Background(), []console.Record{rec}); err != nil {
		t.Fatalf("Add on a read-only database: %v; Add must not wait for the store", err)
	}
	if err := s.Flush(context.Background()); err == nil {
		t.Fatalf("storing on a read-only database succeeded")
	}
	if s.StoreError() == nil {
		t.Errorf("StoreError is nil after a failed write")
	}
	if gotID, _ := sessResolutionIDs(t, s.Resolve(console.Query{Avatar: sessAvatarA + "/132", Nickname: "Alice"})); gotID != "oA" {
		t.Errorf("after a store failure, Resolve = %q, want oA", gotID)
	}
	// The unsaved record stays dirty: the next write tries it again.
	if err := s.Flush(context.Background()); err == nil {
		t.Errorf("retrying the write on a read-only database succeeded")
	}
	if err := s.Prune(context.Background()); err == nil {
		t.Errorf("Prune on a read-only database succeeded")
	}
	if _, ok := s.Get("oA"); !ok {
		t.Errorf("Prune forgot a live record")
	}
}

func TestSessionsStoreRetry(t *testing.T) {
	clock := &sessClock{t: sessT0}
	db := sessOpenDB(t, filepath.Join(t.TempDir(), "kf.db"))
	s := sessOpen(t, db, clock, 0)
	if _, err := db.Exec(`CREATE TRIGGER kf_sessions_fail BEFORE INSERT ON kf_sessions
		BEGIN SELECT RAISE(ABORT, 'disk full'); END`); err != nil {
		t.Fatalf("create trigger: %v", err)
	}
	s.Add(context.Background(), []console.Record{{OpenID: "oA", Source: console.SourceManual}})
	if err := s.Flush(context.Background()); err == nil {
		t.Fatalf("storing with a failing store succeeded")
	}
	if _, err := db.Exec(`DROP TRIGGER kf_sessions_fail`); err != nil {
		t.Fatalf("drop trigger: %v", err)
	}
	// The writer retries by itself, without another Add, and then clears
	// the error (just after the row is committed: wait for both).
	deadline := time.Now().Add(20 * time.Second)
	for sessRows(t, db) != 1 || s.StoreError() != nil {
		if time.Now().After(deadline) {
			t.Fatalf("after the store recovered: %d rows, StoreError %v; want the write retried and no error", sessRows(t, db), s.StoreError())
		}
		time.Sleep(20 * time.Millisecond)
	}
	sessAdd(t, s, console.Record{OpenID: "oB", Source: console.SourceManual})
	if got := sessRows(t, db); got != 2 {
		t.Errorf("rows = %d, want 2", got)
	}
}

func TestSessionsSubscribe(t *testing.T) {
	clock := &sessClock{t: sessT0}
	s := sessOpen(t, sessOpenDB(t, filepath.Join(t.TempDir(), "kf.db")), clock, 0)
	ch, cancel := s.Subscribe()
	other, cancelOther := s.Subscribe()
	defer cancelOther()
	rec := console.Record{OpenID: "oA", HeadImgURL: sessAvatarA, Source: console.SourceManual, SeenAt: sessT0}

	signalled := func(c <-chan struct{}) bool {
		select {
		case <-c:
			return true
		default:
			return false
		}
	}
	steps := []struct {
		name string
		recs []console.Record
		want bool
	}{
		{"new record", []console.Record{rec}, true},
		{"same record again", []console.Record{rec}, false},
		{"nothing", nil, false},
		{"no openid", []console.Record{{Nickname: "x"}}, false},
		{"already expired", []console.Record{{OpenID: "oA", Nickname: "Alice", Source: console.SourceManual, SeenAt: sessT0.Add(-DefaultTTL)}}, false},
		{"new nickname", []console.Record{{OpenID: "oA", Nickname: "Alice", Source: console.SourceManual, SeenAt: sessT0}}, true},
	}
	for _, st := range steps {
		sessAdd(t, s, st.recs...)
		if got := signalled(ch); got != st.want {
			t.Errorf("%s: signalled = %v, want %v", st.name, got, st.want)
		}
	}
	for range steps { // drain the other subscriber: signals coalesced into one
		signalled(other)
	}

	// Two changes without a receive coalesce into one signal.
	sessAdd(t, s, console.Record{OpenID: "oB", Source: console.SourceAuto})
	sessAdd(t, s, console.Record{OpenID: "oC", Source: console.SourceAuto})
	if !signalled(ch) || signalled(ch) {
		t.Errorf("two Adds did not coalesce into exactly one signal")
	}

	cancel()
	cancel() // a second cancel is harmless
	if _, ok := <-ch; ok {
		t.Errorf("cancelled channel still open")
	}
	sessAdd(t, s, console.Record{OpenID: "oD", Source: console.SourceAuto})
	if !signalled(other) {
		t.Errorf("the remaining subscriber got no signal")
	}
}

func TestSessionsCounts(t *testing.T) {
	cst := time.FixedZone("CST", 8*60*60)
	day := func(d, h int) time.Time { return time.Date(2024, 5, d, h, 0, 0, 0, cst) }
	clock := &sessClock{t: day(10, 10)}
	s := sessOpen(t, sessOpenDB(t, filepath.Join(t.TempDir(), "kf.db")), clock, 7*24*time.Hour)
	sessAdd(t, s,
		console.Record{OpenID: "a", Source: console.SourceManual, SeenAt: day(10, 9)},
		console.Record{OpenID: "b", Source: console.SourceAuto, SeenAt: day(10, 1)}, // 9 May in UTC: counted by the clock's zone
		console.Record{OpenID: "c", Source: console.SourceTransfer, SeenAt: day(9, 23)},
		console.Record{OpenID: "d", Source: console.SourcePage, SeenAt: day(9, 2)},
		console.Record{OpenID: "e", Source: console.SourceManual, SeenAt: day(8, 12)},
		console.Record{OpenID: "f", Source: console.SourceAuto, SeenAt: day(5, 12)}, // outside a 3-day window
	)
	// Accepted by hand on the 8th, seen by a poll today: still "manual" on the 8th.
	sessAdd(t, s, console.Record{OpenID: "e", Source: console.SourceAuto, SeenAt: day(10, 9)})

	tests := []struct {
		days int
		want map[string]map[string]int
	}{
		{3, map[string]map[string]int{
			"2024-05-10": {console.SourceManual: 1, console.SourceAuto: 1},
			"2024-05-09": {console.SourceTransfer: 1, console.SourcePage: 1},
			"2024-05-08": {console.SourceManual: 1},
		}},
		{1, map[string]map[string]int{"2024-05-10": {console.SourceManual: 1, console.SourceAuto: 1}}},
		{0, map[string]map[string]int{}},
	}
	for _, tc := range tests {
		if got := s.Counts(tc.days); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("Counts(%d) = %v, want %v", tc.days, got, tc.want)
		}
	}
	got := s.Counts(7)
	if len(got) != 7 || len(got["2024-05-06"]) != 0 || got["2024-05-05"][console.SourceAuto] != 1 {
		t.Errorf("Counts(7) = %v, want 7 days with auto:1 on 2024-05-05 only before the 8th", got)
	}
}

func TestSessionsConcurrent(t *testing.T) {
	clock := &sessClock{t: sessT0}
	s := sessOpen(t, sessOpenDB(t, filepath.Join(t.TempDir(), "kf.db")), clock, 0)
	ctx := context.Background()
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := range 50 {
				rec := console.Record{
					OpenID:     fmt.Sprintf("o%d", i%20),
					Nickname:   fmt.Sprintf("n%d", w),
					HeadImgURL: fmt.Sprintf("http://wx.qlogo.cn/mmhead/A%d", i%5),
					FansUIN:    fmt.Sprint(i % 20),
					Source:     console.SourceAuto,
					SeenAt:     sessT0.Add(time.Duration(i) * time.Second),
				}
				if err := s.Add(ctx, []console.Record{rec}); err != nil {
					t.Errorf("Add: %v", err)
				}
			}
		})
		wg.Go(func() {
			ch, cancel := s.Subscribe()
			defer cancel()
			for i := range 200 {
				s.Resolve(console.Query{UIN: fmt.Sprint(i % 20), Avatar: fmt.Sprintf("https://wx.qlogo.cn/mmhead/A%d/132", i%5), Nickname: "n1"})
				s.Get(fmt.Sprintf("o%d", i%20))
				select {
				case <-ch:
				default:
				}
			}
			s.Len()
			s.Counts(3)
			if err := s.Prune(ctx); err != nil {
				t.Errorf("Prune: %v", err)
			}
		})
	}
	wg.Wait()
	if got := s.Len(); got != 20 {
		t.Errorf("Len() = %d, want 20", got)
	}
	for i := range 20 {
		r, ok := s.Get(fmt.Sprintf("o%d", i))
		if !ok {
			t.Errorf("o%d missing", i)
			continue
		}
		if gotID, _ := sessResolutionIDs(t, s.Resolve(console.Query{UIN: r.FansUIN})); gotID != r.OpenID {
			t.Errorf("Resolve(uin %s) = %q, want %s", r.FansUIN, gotID, r.OpenID)
		}
	}
}

func BenchmarkResolve(b *testing.B) {
	clock := &sessClock{t: sessT0}
	s := sessOpen(b, sessOpenDB(b, filepath.Join(b.TempDir(), "kf.db")), clock, 0)
	const n = 10000
	recs := make([]console.Record, n)
	for i := range recs {
		avatar := fmt.Sprintf("http://wx.qlogo.cn/mmhead/AV%05d", i)
		if i%100 == 0 { // some users share a default avatar
			avatar = sessAvatarDef
		}
		recs[i] = console.Record{OpenID: fmt.Sprintf("o%05d", i), Nickname: fmt.Sprintf("user %d", i), HeadImgURL: avatar,
			Source: console.SourceAuto, SeenAt: sessT0.Add(-time.Duration(i) * time.Second)}
	}
	sessAdd(b, s, recs...)
	var queries []console.Query
	for i := 1; len(queries) < 256; i += 37 {
		if i%100 != 0 {
			queries = append(queries, console.Query{Avatar: fmt.Sprintf("https://wx.qlogo.cn/mmhead/AV%05d/132", i), Nickname: "x"})
		}
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if s.Resolve(queries[i%len(queries)]).Record == nil {
			b.Fatal("not resolved")
		}
		i++
	}
}

// TestSessionsSeenAgainIsFree: the console's polls name the same users
// again and again; within seenAtGranularity that changes nothing (no
// signal, no write), later it refreshes SeenAt.
func TestSessionsSeenAgainIsFree(t *testing.T) {
	clock := &sessClock{t: sessT0}
	db := sessOpenDB(t, filepath.Join(t.TempDir(), "kf.db"))
	s := sessOpen(t, db, clock, 0)
	rec := console.Record{OpenID: "oA", Nickname: "A", HeadImgURL: sessAvatarA, FansUIN: "1", Source: console.SourceManual, SeenAt: sessT0}
	sessAdd(t, s, rec)
	ch, cancel := s.Subscribe()
	defer cancel()
	signalled := func() bool {
		select {
		case <-ch:
			return true
		default:
			return false
		}
	}
	tests := []struct {
		name       string
		later      time.Duration
		wantSignal bool
		wantSeen   time.Duration
	}{
		{"seen again 30 s later", 30 * time.Second, false, 0},
		{"seen again 2 min later", 2 * time.Minute, true, 2 * time.Minute},
	}
	for _, tt := range tests {
		r := rec
		r.Source = console.SourceOther
		r.SeenAt = sessT0.Add(tt.later)
		sessAdd(t, s, r)
		if got := signalled(); got != tt.wantSignal {
			t.Errorf("%s: signalled %v, want %v", tt.name, got, tt.wantSignal)
		}
		got, _ := s.Get("oA")
		if want := sessT0.Add(tt.wantSeen); !got.SeenAt.Equal(want) {
			t.Errorf("%s: SeenAt %v, want %v", tt.name, got.SeenAt, want)
		}
	}
	if id, _ := sessResolutionIDs(t, s.Resolve(console.Query{UIN: "1"})); id != "oA" {
		t.Errorf("after refreshes, Resolve by uin = %q, want oA", id)
	}
}

// TestStoreAddNeverQueues: while a write holds the store (a locked file
// makes it wait for the busy timeout), Add updates memory and returns at
// once; the writer stores its rows when the store is free again.
func TestStoreAddNeverQueues(t *testing.T) {
	path := filepath.Join(t.TempDir(), "kfsidebar.db")
	s := sessOpen(t, sessOpenDB(t, path), &sessClock{t: time.Now()}, 0)
	rows := sessOpenDB(t, path)
	s.storeMu.Lock() // a write under way
	done := make(chan error, 1)
	go func() {
		done <- s.Add(context.Background(), []console.Record{{OpenID: "oQ", HeadImgURL: "http://wx.qlogo.cn/mmhead/Q"}})
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Add: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Add queued behind the write under way")
	}
	if _, ok := s.Get("oQ"); !ok {
		t.Fatal("the user is not in memory")
	}
	if n := sessRows(t, rows); n != 0 {
		t.Fatalf("%d rows written while the store was held", n)
	}
	s.storeMu.Unlock()
	kftest.Poll(t, "the writer stores the row once the store is free", func() bool { return sessRows(t, rows) == 1 })
}
