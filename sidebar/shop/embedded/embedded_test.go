package embedded

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kfsidebar/kfsidebar/internal/sqlitedb"
	"github.com/kfsidebar/kfsidebar/internal/sqlitedb/sqlitedbtest"
	"github.com/kfsidebar/kfsidebar/sidebar/shop"
)

func newTestBackend(t testing.TB) (*Backend, *sql.DB) {
	t.Helper()
	db := sqlitedbtest.New(t)
	b, err := New(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := b.Close(); err != nil {
			t.Error(err)
		}
	})
	return b, db
}

func importTestFile(t testing.TB, b *Backend, name string) ImportStats {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "import", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	stats, err := b.Import(context.Background(), f)
	if err != nil {
		t.Fatalf("import %s: %v", name, err)
	}
	return stats
}

// wantFromImportFiles computes what Lookup should return after importing
// the files in order, using only encoding/json and the Customer types, so
// that it shares no code with the importer it checks.
func wantFromImportFiles(t *testing.T, names ...string) map[string]*shop.Customer {
	t.Helper()
	customers := map[string]*shop.Customer{}
	orders := map[string]shop.Order{}
	for _, name := range names {
		data, err := os.ReadFile(filepath.Join("testdata", "import", name))
		if err != nil {
			t.Fatal(err)
		}
		var f struct {
			Customers []shop.Customer `json:"customers"`
			Orders    []shop.Order    `json:"orders"`
		}
		if err := json.Unmarshal(data, &f); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for _, c := range f.Customers {
			if len(c.Tags) == 0 {
				c.Tags = nil
			}
			customers[c.OpenID] = &c
		}
		for _, o := range f.Orders {
			if o.Refund.Status == "" {
				o.Refund.Status = "none"
			}
			orders[o.OrderNo] = o
		}
	}
	for _, o := range orders {
		c := customers[o.OpenID]
		if c == nil {
			c = &shop.Customer{OpenID: o.OpenID}
			customers[o.OpenID] = c
		}
		c.Orders = append(c.Orders, o)
	}
	for _, c := range customers {
		slices.SortFunc(c.Orders, func(a, b shop.Order) int {
			if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
				return c
			}
			return strings.Compare(b.OrderNo, a.OrderNo)
		})
		// The summary: every order counts; what was paid for (not
		// pending, cancelled or closed), less refunds, is spent.
		for i, o := range c.Orders {
			if i == 0 {
				last := o.CreatedAt
				c.LastOrderAt = &last
			}
			c.OrderCount++
			switch {
			case o.Status == "pending" || o.Status == "cancelled" || o.Status == "closed":
			case o.Refund.Status == "refunded":
				c.TotalSpentFen += max(o.AmountFen-o.Refund.AmountFen, 0)
			default:
				c.TotalSpentFen += o.AmountFen
			}
		}
	}
	return customers
}

// checkLookups compares every customer's Lookup with want by JSON encoding,
// which is what the sidebar receives.
func checkLookups(t *testing.T, b *Backend, want map[string]*shop.Customer) {
	t.Helper()
	for openid, w := range want {
		got, err := b.Lookup(context.Background(), openid)
		if err != nil {
			t.Errorf("Lookup(%s): %v", openid, err)
			continue
		}
		gotJSON, _ := json.MarshalIndent(got, "", "  ")
		wantJSON, _ := json.MarshalIndent(w, "", "  ")
		if string(gotJSON) != string(wantJSON) {
			t.Errorf("Lookup(%s):\ngot  %s\nwant %s", openid, gotJSON, wantJSON)
		}
	}
}

func TestSQLiteLookupReturnsImport(t *testing.T) {
	b, _ := newTestBackend(t)
	got := importTestFile(t, b, "good.json")
	if want := (ImportStats{Customers: 3, Orders: 5, Items: 7}); got != want {
		t.Errorf("stats = %+v, want %+v", got, want)
	}
	checkLookups(t, b, wantFromImportFiles(t, "good.json"))
}

func TestSQLiteLookupOrdersWithoutCustomer(t *testing.T) {
	b, _ := newTestBackend(t)
	importTestFile(t, b, "good.json")
	c, err := b.Lookup(context.Background(), "oD4_guest_only")
	if err != nil {
		t.Fatal(err)
	}
	if c.OpenID != "oD4_guest_only" || c.Name != "" || len(c.Orders) != 1 || c.Orders[0].OrderNo != "GUEST-1" {
		t.Errorf("got %+v, want only the openid and order GUEST-1", c)
	}
}

func TestSQLiteLookupNotFound(t *testing.T) {
	b, _ := newTestBackend(t)
	for _, openid := range []string{"oNobody", ""} {
		if _, err := b.Lookup(context.Background(), openid); !errors.Is(err, shop.ErrNotFound) {
			t.Errorf("empty db: Lookup(%q) error = %v, want ErrNotFound", openid, err)
		}
	}
	importTestFile(t, b, "good.json")
	if _, err := b.Lookup(context.Background(), "oNobody"); !errors.Is(err, shop.ErrNotFound) {
		t.Errorf("Lookup(oNobody) error = %v, want ErrNotFound", err)
	}
}

func TestSQLiteLookupNewestFirstAndLimited(t *testing.T) {
	b, _ := newTestBackend(t)
	// Text order and time order differ on purpose: +08:00 and Z times
	// interleave, and two orders share an instant (ties go by order_no).
	created := map[string]string{
		"N1": "2026-11-20T10:00:00+08:00", // 02:00Z
		"N2": "2026-11-20T03:00:00Z",
		"N3": "2026-11-20T11:30:00+08:00", // 03:30Z
		"N4": "2026-11-19T23:00:00-05:00", // 2026-11-20 04:00Z
		"N5": "2026-11-20T12:00:00+08:00", // 04:00Z, same instant as N4
		"N6": "2025-01-01T00:00:00Z",
	}
	var sb strings.Builder
	sb.WriteString(`{"orders": [`)
	i := 0
	for no, at := range created {
		if i > 0 {
			sb.WriteByte(',')
		}
		i++
		fmt.Fprintf(&sb, `{"order_no": %q, "openid": "oLimit", "created_at": %q, "status": "paid",
			"amount_fen": 1, "items": [{"title": "t", "qty": 1, "price_fen": 1}]}`, no, at)
	}
	sb.WriteString(`]}`)
	if _, err := b.Import(context.Background(), strings.NewReader(sb.String())); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		recent int
		want   []string
	}{
		{0, []string{"N5", "N4", "N3", "N2", "N1", "N6"}},
		{3, []string{"N5", "N4", "N3"}},
		{1, []string{"N5"}},
	}
	for _, tt := range tests {
		b.RecentOrders = tt.recent
		c, err := b.Lookup(context.Background(), "oLimit")
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, o := range c.Orders {
			got = append(got, o.OrderNo)
			if want := created[o.OrderNo]; o.CreatedAt.Format(time.RFC3339) != want {
				t.Errorf("%s created_at = %s, want %s (zone kept)", o.OrderNo, o.CreatedAt.Format(time.RFC3339), want)
			}
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("RecentOrders=%d: orders %v, want %v", tt.recent, got, tt.want)
		}
	}
}

func TestSQLiteLookupHonoursContext(t *testing.T) {
	b, _ := newTestBackend(t)
	importTestFile(t, b, "good.json")

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := b.Lookup(ctx, "oA1bC2dE3fG4hI5jK6lM7nO8pQ9r"); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: error = %v, want context.Canceled", err)
	}
	ctx, cancel = context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel()
	if _, err := b.Lookup(ctx, "oA1bC2dE3fG4hI5jK6lM7nO8pQ9r"); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("past deadline: error = %v, want context.DeadlineExceeded", err)
	}
}

// TestSQLiteLookupUsesIndex guards the query plans: a lookup must be a few
// index probes, never a scan or a sort, whatever the table size.
func TestSQLiteLookupUsesIndex(t *testing.T) {
	_, db := newTestBackend(t)
	tests := []struct {
		name  string
		query string
		want  string
	}{
		{"customer", lookupCustomerSQL, "SEARCH kf_customers USING PRIMARY KEY (openid=?)"},
		{"orders", lookupOrdersSQL, "SEARCH kf_orders USING INDEX kf_orders_openid_created (openid=?)"},
		{"summary", lookupSummarySQL, "SEARCH kf_orders USING INDEX kf_orders_openid_created (openid=?)"},
		{"items", lookupItemsSQL, "SEARCH kf_order_items USING PRIMARY KEY (order_id=?)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := []any{"oX", 20}[:strings.Count(tt.query, "?")]
			rows, err := db.Query("EXPLAIN QUERY PLAN "+tt.query, args...)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			var plan []string
			for rows.Next() {
				var id, parent, notused int
				var detail string
				if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
					t.Fatal(err)
				}
				plan = append(plan, detail)
			}
			if err := rows.Err(); err != nil {
				t.Fatal(err)
			}
			joined := strings.Join(plan, "\n")
			if !strings.Contains(joined, tt.want) {
				t.Errorf("plan:\n%s\nwant a step %q", joined, tt.want)
			}
			for _, bad := range []string{"SCAN kf_", "TEMP B-TREE"} {
				if strings.Contains(joined, bad) {
					t.Errorf("plan:\n%s\nhas %q", joined, bad)
				}
			}
		})
	}
}

// TestSQLiteUpgradesOlderTables opens a database made before extra fields
// and tracking events: its orders survive and the new fields can be
// imported.
func TestSQLiteUpgradesOlderTables(t *testing.T) {
	db := sqlitedbtest.New(t)
	const older = `
CREATE TABLE kf_customers (openid TEXT PRIMARY KEY NOT NULL, name TEXT NOT NULL,
	phone TEXT NOT NULL DEFAULT '', level TEXT NOT NULL DEFAULT '', tags TEXT NOT NULL DEFAULT '[]',
	note TEXT NOT NULL DEFAULT '', admin_url TEXT NOT NULL DEFAULT '') WITHOUT ROWID;
CREATE TABLE kf_orders (id INTEGER PRIMARY KEY, order_no TEXT NOT NULL UNIQUE, openid TEXT NOT NULL,
	created_unix_ns INTEGER NOT NULL, created_at TEXT NOT NULL, status TEXT NOT NULL,
	amount_fen INTEGER NOT NULL, carrier TEXT NOT NULL DEFAULT '', tracking_no TEXT NOT NULL DEFAULT '',
	address TEXT NOT NULL DEFAULT '', refund_status TEXT NOT NULL DEFAULT 'none',
	refund_amount_fen INTEGER NOT NULL DEFAULT 0, refund_reason TEXT NOT NULL DEFAULT '',
	admin_url TEXT NOT NULL DEFAULT '');
INSERT INTO kf_customers (openid, name) VALUES ('oOld', '老王');
INSERT INTO kf_orders (order_no, openid, created_unix_ns, created_at, status, amount_fen)
	VALUES ('OLD-1', 'oOld', 1763604000000000000, '2025-11-20T10:00:00+08:00', 'completed', 500);`
	if _, err := db.Exec(older); err != nil {
		t.Fatal(err)
	}
	b, err := New(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	c, err := b.Lookup(context.Background(), "oOld")
	if err != nil {
		t.Fatal(err)
	}
	if c.Name != "老王" || len(c.Orders) != 1 || c.Orders[0].OrderNo != "OLD-1" || c.OrderCount != 1 || c.TotalSpentFen != 500 {
		t.Errorf("after the upgrade: %+v", c)
	}
	importTestFile(t, b, "good.json")
	checkLookups(t, b, wantFromImportFiles(t, "good.json"))
	checkMigrated(t, db)
	if _, err := New(context.Background(), db); err != nil {
		t.Errorf("second open of the upgraded database: %v", err)
	}
}

// TestOpensTheDatabaseOfThePreviousRelease opens a database that the
// release before recorded migrations made: every table and column there,
// no kf_migrations. Its data stays, and every step is recorded as applied.
func TestOpensTheDatabaseOfThePreviousRelease(t *testing.T) {
	db := sqlitedbtest.New(t)
	// What that release's New ran on every start.
	if _, err := db.Exec(schema); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`INSERT INTO kf_customers (openid, name, extra) VALUES ('oPrev', '老李', '[{"label":"积分","value":"90"}]')`); err != nil {
		t.Fatal(err)
	}
	b, err := New(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	c, err := b.Lookup(context.Background(), "oPrev")
	if err != nil || c.Name != "老李" || len(c.Extra) != 1 || c.Extra[0].Value != "90" {
		t.Errorf("Lookup(oPrev) = %+v, %v", c, err)
	}
	checkMigrated(t, db)
}

// checkMigrated checks that every step of the order tables is recorded.
func checkMigrated(t *testing.T, db *sql.DB) {
	t.Helper()
	ids, err := sqlitedb.Applied(context.Background(), db, "orders")
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, s := range migrations {
		want = append(want, s.ID)
	}
	if !slices.Equal(ids, want) {
		t.Errorf("applied %q, want %q", ids, want)
	}
}

func TestNewTwiceKeepsData(t *testing.T) {
	b, db := newTestBackend(t)
	importTestFile(t, b, "good.json")
	again, err := New(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	checkLookups(t, again, wantFromImportFiles(t, "good.json"))
}

// writeGeneratedImport writes an import file of n customers with m orders
// spread over them, two items each, for benchmarks and large-import tests.
func writeGeneratedImport(w io.Writer, n, m int) error {
	bw := bufio.NewWriter(w)
	bw.WriteString(`{"customers": [`)
	for i := range n {
		if i > 0 {
			bw.WriteByte(',')
		}
		fmt.Fprintf(bw, `{"openid": "oGen%08d", "name": "客户%d", "phone": "138%08d", "level": "VIP%d", "tags": ["生成"],
			"admin_url": "https://shop.example/admin/u/%d"}`, i, i, i, i%5, i)
	}
	bw.WriteString(`], "orders": [`)
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.FixedZone("CST", 8*3600))
	for i := range m {
		if i > 0 {
			bw.WriteByte(',')
		}
		fmt.Fprintf(bw, `{"order_no": "G%09d", "openid": "oGen%08d", "created_at": %q, "status": "shipped",
			"amount_fen": 12900, "items": [{"title": "保温杯", "sku": "CUP-%d", "qty": 1, "price_fen": 12700},
			{"title": "杯套", "qty": 2, "price_fen": 100}], "carrier": "顺丰", "tracking_no": "SF%010d",
			"address": "上海市浦东新区世纪大道 %d 号", "admin_url": "https://shop.example/admin/o/G%09d"}`,
			i, i%n, base.Add(time.Duration(i)*time.Minute).Format(time.RFC3339), i%100, i, i%1000, i)
	}
	bw.WriteString(`]}`)
	return bw.Flush()
}

// importGenerated streams a generated file into b through a pipe.
func importGenerated(t testing.TB, b *Backend, n, m int) ImportStats {
	t.Helper()
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(writeGeneratedImport(pw, n, m)) }()
	stats, err := b.Import(context.Background(), pr)
	pr.Close()
	if err != nil {
		t.Fatal(err)
	}
	return stats
}

// BenchmarkLookup measures Lookup on 10 000 customers with 100 000 orders
// (10 orders of 2 items each per customer), built once by Import.
func BenchmarkLookup(b *testing.B) {
	const customers, orders = 10_000, 100_000
	be, _ := newTestBackend(b)
	start := time.Now()
	stats := importGenerated(b, be, customers, orders)
	took := time.Since(start)
	b.Logf("built %+v in %v: %.0f orders/s", stats, took.Round(time.Millisecond), float64(stats.Orders)/took.Seconds())

	openids := make([]string, customers)
	for i := range openids {
		openids[i] = fmt.Sprintf("oGen%08d", i)
	}
	ctx := context.Background()
	b.Run("known", func(b *testing.B) {
		i := 0
		for b.Loop() {
			c, err := be.Lookup(ctx, openids[i%customers])
			if err != nil || len(c.Orders) != orders/customers {
				b.Fatalf("Lookup: %v, %d orders", err, len(c.Orders))
			}
			i++
		}
	})
	b.Run("unknown", func(b *testing.B) {
		for b.Loop() {
			if _, err := be.Lookup(ctx, "oNobody"); !errors.Is(err, shop.ErrNotFound) {
				b.Fatal(err)
			}
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				if _, err := be.Lookup(ctx, openids[i%customers]); err != nil {
					b.Error(err)
					return
				}
				i += 7
			}
		})
	})
}
