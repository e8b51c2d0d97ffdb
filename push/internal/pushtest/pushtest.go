// Package pushtest is the push gateway's one test scaffold: a logger that
// writes to t.Log, a poll helper with a deadline (no sleeps in tests), a
// settable clock, and WeChat's published vectors, so that no test package
// grows its own copy. (The layout issue plans one scaffold for the whole
// module; this one can fold into it.)
package pushtest

import (
	"crypto/rand"
	"database/sql"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"net/url"
	"os"
	"sync"
	"testing"
	"time"
)

// Clock is a settable clock for the code's Now fields: the published
// vectors carry timestamps from 2014 and 2024, which a real clock would
// refuse as stale.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock returns a clock standing at unix second sec.
func NewClock(sec int64) *Clock { return &Clock{now: time.Unix(sec, 0)} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Set moves the clock to unix second sec.
func (c *Clock) Set(sec int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = time.Unix(sec, 0)
}

// Add moves the clock by d.
func (c *Clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

//go:embed testdata/vectors.json
var vectorsJSON []byte

// Vector is one of WeChat's published message-push examples
// (testdata/vectors.json, copied verbatim from the sources it names).
// Fields a source does not give are empty; the JSON names say what each
// is, in WeChat's terms.
type Vector struct {
	ID             string `json:"id"`
	What           string `json:"what"`
	Source         string `json:"source"`
	Token          string `json:"token"`
	EncodingAESKey string `json:"encoding_aes_key"`
	AppID          string `json:"appid"`
	Timestamp      string `json:"timestamp"`
	Nonce          string `json:"nonce"`
	OpenID         string `json:"openid"`
	Echostr        string `json:"echostr"`
	Encrypt        string `json:"encrypt"`
	Body           string `json:"body"`
	Signature      string `json:"signature"`
	MsgSignature   string `json:"msg_signature"`
	Pad            int    `json:"pad"`
	Random         string `json:"random"`
	MsgLen         int    `json:"msg_len"`
	Plaintext      string `json:"plaintext"`
	Content        string `json:"content"`
	MsgID          string `json:"msg_id"`
}

// Vectors returns the published vectors by id (V1 … V7).
func Vectors(t testing.TB) map[string]Vector {
	t.Helper()
	var file struct{ Vectors []Vector }
	if err := json.Unmarshal(vectorsJSON, &file); err != nil {
		t.Fatalf("testdata/vectors.json: %v", err)
	}
	m := make(map[string]Vector, len(file.Vectors))
	for _, v := range file.Vectors {
		m[v.ID] = v
	}
	return m
}

// Unix parses a vector's decimal timestamp.
func Unix(t testing.TB, s string) int64 {
	t.Helper()
	var n int64
	for _, c := range s {
		if c < '0' || c > '9' {
			t.Fatalf("timestamp %q is not decimal", s)
		}
		n = n*10 + int64(c-'0')
	}
	return n
}

// PostgresDSN returns a connection string for the gateway's PostgreSQL
// tests: KFSIDEBAR_TEST_GATEWAY_DSN (exported by `.ci/run databases`) with
// a schema of the test's own as search_path, dropped when the test ends,
// so tests never see each other's rows. The test binary must register
// pgx's database/sql driver ("pgx"); this package imports no driver, so the
// module keeps one home for pgx. Without the variable the test is skipped,
// unless CI is set: then it fails, since CI must run it.
func PostgresDSN(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv("KFSIDEBAR_TEST_GATEWAY_DSN")
	if dsn == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("KFSIDEBAR_TEST_GATEWAY_DSN is not set, and CI must test PostgreSQL: run eval \"$(.ci/run databases)\"")
		}
		t.Skip("KFSIDEBAR_TEST_GATEWAY_DSN not set (eval \"$(.ci/run databases)\" starts PostgreSQL)")
	}
	var rnd [6]byte
	rand.Read(rnd[:])
	schema := "t_" + hex.EncodeToString(rnd[:])
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatalf("open postgres: %v", err)
	}
	defer db.Close()
	if _, err := db.Exec("CREATE SCHEMA " + schema); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		db, err := sql.Open("pgx", dsn)
		if err != nil {
			return
		}
		defer db.Close()
		db.Exec("DROP SCHEMA " + schema + " CASCADE")
	})
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatalf("KFSIDEBAR_TEST_GATEWAY_DSN: %v", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}
