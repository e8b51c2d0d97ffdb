package push_test

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver, for the PostgreSQL tests

	"github.com/kfsidebar/kfsidebar/internal/kftest"
	"github.com/kfsidebar/kfsidebar/push"
	"github.com/kfsidebar/kfsidebar/push/internal/pushtest"
	"github.com/kfsidebar/kfsidebar/push/store"
	"github.com/kfsidebar/kfsidebar/push/wechattest"
	"github.com/kfsidebar/kfsidebar/push/wire"
)

// helperEnv makes the test binary a gateway process (see runGatewayProcess).
const helperEnv = "KFSIDEBAR_PUSH_TEST_GATEWAY"

func TestMain(m *testing.M) {
	if os.Getenv(helperEnv) != "" {
		os.Exit(runGatewayProcess())
	}
	os.Exit(m.Run())
}

// runGatewayProcess is one gateway instance in a process of its own, on
// the PostgreSQL store in KFSIDEBAR_PUSH_TEST_DSN, delivering to
// KFSIDEBAR_PUSH_TEST_TARGET. It writes its address to the ready file named
// by the helper variable and serves until SIGTERM.
func runGatewayProcess() int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	fail := func(err error) int { log.Error("gateway process", "err", err); return 1 }
	db, err := sql.Open("pgx", os.Getenv("KFSIDEBAR_PUSH_TEST_DSN"))
	if err != nil {
		return fail(err)
	}
	st, err := store.Open(ctx, db, store.Postgres)
	if err != nil {
		return fail(err)
	}
	defer st.Close()
	cfg := push.Config{
		Token: testAccount.Token, EncodingAESKey: testAccount.EncodingAESKey, AppID: testAccount.AppID, OriginalID: testAccount.OriginalID,
		Targets: []push.Target{{Name: "erp", URL: os.Getenv("KFSIDEBAR_PUSH_TEST_TARGET"),
			Secret: []byte(os.Getenv("KFSIDEBAR_PUSH_TEST_SECRET"))}},
		Retry:        push.Retry{Base: 20 * time.Millisecond, Max: 200 * time.Millisecond},
		PollInterval: 20 * time.Millisecond,
		Logger:       log,
	}
	srv, err := push.New(cfg, st)
	if err != nil {
		return fail(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fail(err)
	}
	mux := http.NewServeMux()
	mux.Handle(pushPath, srv)
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go hs.Serve(ln)
	ready := os.Getenv(helperEnv)
	if err := os.WriteFile(ready+".tmp", []byte(ln.Addr().String()), 0o600); err != nil {
		return fail(err)
	}
	if err := os.Rename(ready+".tmp", ready); err != nil {
		return fail(err)
	}
	srv.Run(ctx)
	hs.Shutdown(context.Background())
	return 0
}

// startGatewayProcess starts a gateway process and returns its push URL;
// it is stopped (SIGTERM, then waited for) when the test ends.
func startGatewayProcess(t *testing.T, name, dsn string, tg *target) string {
	t.Helper()
	ready := filepath.Join(t.TempDir(), name+".addr")
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"="+ready, "KFSIDEBAR_PUSH_TEST_DSN="+dsn,
		"KFSIDEBAR_PUSH_TEST_TARGET="+tg.URL, "KFSIDEBAR_PUSH_TEST_SECRET="+string(tg.secret))
	var stderr lockedBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		if t.Failed() || testing.Verbose() {
			t.Logf("%s's log:\n%s", name, stderr.String())
		}
	})
	var addr []byte
	kftest.Poll(t, name+" to listen", func() bool {
		select {
		case err := <-done:
			t.Fatalf("%s exited: %v\n%s", name, err, stderr.String())
		default:
		}
		var err error
		addr, err = os.ReadFile(ready)
		return err == nil
	})
	return "http://" + string(addr) + pushPath
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestTwoProcessesOnPostgres runs two gateway processes on one PostgreSQL
// database, as two instances behind one URL. WeChat's retries land on
// either, at the same moment or later, re-signed or not: each push is
// dispatched once, and both instances answer it with the same bytes.
func TestTwoProcessesOnPostgres(t *testing.T) {
	dsn := pushtest.PostgresDSN(t)
	tg := newTarget(t, "erp", time.Now)
	urls := []string{startGatewayProcess(t, "gateway-a", dsn, tg), startGatewayProcess(t, "gateway-b", dsn, tg)}
	senders := make([]*wechattest.Sender, 2)
	for i, u := range urls {
		senders[i] = &wechattest.Sender{URL: u, Account: testAccount, Mode: wire.Safe, Format: wire.XML}
		if ok, err := senders[i].VerifyURL(context.Background()); !ok || err != nil {
			t.Fatalf("instance %d fails the URL check: %v", i, err)
		}
	}
	var pushes []wechattest.Push
	for i := range 4 {
		pushes = append(pushes, wechattest.Catalogue(fmt.Sprintf("oUserPG%d", i), time.Now())...)
	}
	for _, p := range pushes {
		pr, err := senders[0].Prepare(p)
		if err != nil {
			t.Fatal(err)
		}
		// The same request at both instances at once, then re-signed at each.
		replies := make([][]byte, 4)
		var wg sync.WaitGroup
		for i := range 2 {
			wg.Go(func() {
				alt := *pr
				alt.URL = urls[i] + pr.URL[strings.Index(pr.URL, "?"):]
				r, err := senders[i].Deliver(context.Background(), &alt)
				if err != nil || r.Status != 200 || r.Invalid != nil {
					t.Errorf("instance %d: %v %+v", i, err, r)
					return
				}
				replies[i] = r.Body
			})
		}
		wg.Wait()
		for i := range 2 {
			r := send(t, senders[i], p)
			replies[2+i] = r.Body
		}
		for i, r := range replies[1:] {
			if !bytes.Equal(r, replies[0]) {
				t.Errorf("%s %s: reply %d %q differs from %q", p.MsgType(), p.Event(), i+1, r, replies[0])
			}
		}
	}
	// Settled: the shared outbox is empty, so nothing more will arrive.
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	kftest.Poll(t, "the shared outbox to empty", func() bool {
		var n int
		err := db.QueryRow(`SELECT count(*) FROM push_outbox`).Scan(&n)
		return err == nil && n == 0 && len(tg.payloads()) >= len(pushes)
	})
	got := tg.payloads()
	if len(got) != len(pushes) || len(ids(got)) != len(pushes) {
		t.Errorf("%d deliveries of %d distinct pushes, want each of the %d once", len(got), len(ids(got)), len(pushes))
	}
	var seen int
	if err := db.QueryRow(`SELECT count(*) FROM push_seen`).Scan(&seen); err != nil || seen != len(pushes) {
		t.Errorf("push_seen has %d rows (%v), want %d", seen, err, len(pushes))
	}
}
