package sidebar

import (
	"context"
	"database/sql"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/kfsidebar/kfsidebar/internal/kftest"
	"github.com/kfsidebar/kfsidebar/internal/sqlitedb/sqlitedbtest"
	"github.com/kfsidebar/kfsidebar/sidebar/shop"
	"github.com/kfsidebar/kfsidebar/sidebar/shop/embedded"
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

// countReveals is how many rows the reveal log holds.
func countReveals(t *testing.T, db *sql.DB) int {
	t.Helper()
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM kf_reveals`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestRevealFloodLeavesFewRows: a script in the page that asks for the
// same field 200 times at once (well within two seconds) is answered 200
// times, with the value or with a clear refusal, keeps its tab, and
// leaves one audit row, not 200.
func TestRevealFloodLeavesFewRows(t *testing.T) {
	const flood = 200
	db := sqlitedbtest.New(t)
	log, err := OpenRevealLog(context.Background(), db, nil)
	if err != nil {
		t.Fatal(err)
	}
	th := newTestHub(t, HubOptions{Resolver: standardResolver(), Reveals: log,
		Backend: customers(map[string]*shop.Customer{"oAlice": richCustomer}),
		Logger:  kftest.LevelLogger(t, slog.LevelInfo)})
	conn := th.dial(t)
	showRich(t, conn, 1)
	start := time.Now()
	for i := range flood {
		if err := conn.WriteJSON(request{Type: typeReveal, Seq: int64(10 + i), Field: "phone"}); err != nil {
			t.Fatalf("reveal %d: %v", i, err)
		}
	}
	var shown, refused int
	for range flood {
		switch m := recv(t, conn); {
		case m.Type == typeRevealed && m.Value == richCustomer.Phone:
			shown++
		case m.Type == typeError && m.Message == msgRevealTooFast:
			refused++
		default:
			t.Fatalf("after %d answers: %s", shown+refused, summary(m))
		}
	}
	took := time.Since(start)
	t.Logf("%d reveals of one field in %v: %d shown, %d refused, %d audit rows", flood, took, shown, refused, countReveals(t, db))
	// The first is shown; how many more depends on how fast the recorder
	// keeps up (a full queue refuses too), never more than the bucket.
	if shown < 1 || shown > revealBurst+1 || refused == 0 {
		t.Errorf("%d shown and %d refused, want the first shown, at most %d, and the flood refused", shown, refused, revealBurst)
	}
	if n := countReveals(t, db); n < 1 || n > 3 {
		t.Errorf("%d audit rows after %d reveals of one field, want 1 (a few at most)", n, flood)
	}
	if n := th.Clients(); n != 1 {
		t.Fatalf("Clients() = %d after the flood, want the tab still connected", n)
	}
	// Another field is another row, once there is a token for it again.
	time.Sleep(revealEvery)
	send(t, conn, request{Type: typeReveal, Seq: 1000, Field: "address:N1"})
	if m := recv(t, conn); m.Type != typeRevealed || m.Seq != 1000 {
		t.Fatalf("reveal after the flood: %s", summary(m))
	}
	if n := countReveals(t, db); n < 2 {
		t.Errorf("%d audit rows, want the address recorded too", n)
	}
}

// stalledImport is an import file whose reader stops after the first
// customer, so the import holds its write transaction open until release
// is closed; reading tells that the first record was written (the lock
// is taken) and the import waits for more.
type stalledImport struct {
	chunks  []string
	reading chan struct{} // closed at the second read
	release chan struct{}
}

func newStalledImport() *stalledImport {
	return &stalledImport{
		chunks: []string{`{"customers": [{"openid": "oImport1", "name": "甲"},`,
			` {"openid": "oImport2", "name": "乙"}]}`},
		reading: make(chan struct{}),
		release: make(chan struct{}),
	}
}

func (s *stalledImport) Read(p []byte) (int, error) {
	switch len(s.chunks) {
	case 0:
		return 0, io.EOF
	case 1:
		close(s.reading)
		<-s.release
	}
	n := copy(p, s.chunks[0])
	s.chunks = s.chunks[1:]
	return n, nil
}

// TestRevealDuringImport: while `orders import` (another process, another
// handle on the file) holds the database's write lock, a reveal is
// answered within about a second that an import is running, not after
// the 5 s busy timeout with a failure that says nothing; one asked just
// before the import ends waits for it and is shown.
func TestRevealDuringImport(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "kf.db")
	db := sqlitedbtest.Open(t, path)
	log, err := OpenRevealLog(ctx, db, nil)
	if err != nil {
		t.Fatal(err)
	}
	orders, err := embedded.New(ctx, sqlitedbtest.Open(t, path))
	if err != nil {
		t.Fatal(err)
	}
	th := newTestHub(t, HubOptions{Resolver: standardResolver(), Reveals: log,
		Backend: customers(map[string]*shop.Customer{"oAlice": richCustomer})})
	conn := th.dial(t)
	showRich(t, conn, 1)

	file := newStalledImport()
	imported := make(chan error, 1)
	go func() {
		_, err := orders.Import(ctx, file)
		imported <- err
	}()
	defer func() {
		select {
		case <-file.release:
		default:
			close(file.release)
		}
		<-imported
	}()
	<-file.reading

	start := time.Now()
	send(t, conn, request{Type: typeReveal, Seq: 2, Field: "phone"})
	m := recv(t, conn)
	took := time.Since(start)
	t.Logf("reveal during the import answered after %v: %s", took, summary(m))
	if want := (message{Type: typeError, Seq: 2, Field: "phone", Message: msgImportRunning}); summary(m) != summary(want) {
		t.Fatalf("reveal during the import:\n got %s\nwant %s", summary(m), summary(want))
	}
	if took > 3*time.Second {
		t.Errorf("told after %v that an import is running, want about %v", took, revealImportWait)
	}
	if n := countReveals(t, db); n != 0 {
		t.Errorf("%d audit rows for a reveal that was not shown", n)
	}

	send(t, conn, request{Type: typeReveal, Seq: 3, Field: "phone"})
	time.Sleep(revealImportWait / 5)
	close(file.release)
	expect(t, conn, message{Type: typeRevealed, Seq: 3, Field: "phone", Value: richCustomer.Phone})
	if err := <-imported; err != nil {
		t.Fatalf("import: %v", err)
	}
	imported <- nil // for the deferred wait
	if n := countReveals(t, db); n != 1 {
		t.Errorf("%d audit rows, want the reveal that was shown", n)
	}
	if n := th.Clients(); n != 1 {
		t.Errorf("Clients() = %d, want the tab connected throughout", n)
	}
}
