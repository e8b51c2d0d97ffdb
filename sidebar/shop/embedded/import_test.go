package embedded

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/kfsidebar/kfsidebar/internal/jsonrecord"
)

// dumpOrderTables renders every row of the backend's tables, to check that a
// failed import changed nothing at all.
func dumpOrderTables(t *testing.T, db *sql.DB) string {
	t.Helper()
	var sb strings.Builder
	for _, q := range []string{
		"SELECT * FROM kf_customers ORDER BY openid",
		"SELECT * FROM kf_orders ORDER BY order_no",
		"SELECT * FROM kf_order_items ORDER BY order_id, pos",
	} {
		fmt.Fprintln(&sb, q)
		rows, err := db.Query(q)
		if err != nil {
			t.Fatal(err)
		}
		cols, err := rows.Columns()
		if err != nil {
			t.Fatal(err)
		}
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		for rows.Next() {
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			for _, v := range vals {
				if b, ok := v.([]byte); ok {
					v = string(b)
				}
				fmt.Fprintf(&sb, "%q ", v)
			}
			sb.WriteByte('\n')
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		rows.Close()
	}
	return sb.String()
}

func countRows(t *testing.T, db *sql.DB, table string) int {
	t.Helper()
	var n int
	if err := db.QueryRow("SELECT count(*) FROM " + table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestImportUpserts(t *testing.T) {
	b, db := newTestBackend(t)
	importTestFile(t, b, "good.json")
	got := importTestFile(t, b, "update.json")
	if want := (ImportStats{Customers: 1, Orders: 2, Items: 2}); got != want {
		t.Errorf("stats = %+v, want %+v", got, want)
	}
	// 3 customers, 5+1 orders; order 2026112200002 went from 3 items to 1.
	for table, want := range map[string]int{"kf_customers": 3, "kf_orders": 6, "kf_order_items": 6} {
		if got := countRows(t, db, table); got != want {
			t.Errorf("%s has %d rows, want %d", table, got, want)
		}
	}
	checkLookups(t, b, wantFromImportFiles(t, "good.json", "update.json"))
}

func TestImportSameFileTwiceChangesNothing(t *testing.T) {
	b, db := newTestBackend(t)
	importTestFile(t, b, "good.json")
	first := dumpOrderTables(t, db)
	importTestFile(t, b, "good.json")
	if second := dumpOrderTables(t, db); second != first {
		t.Errorf("re-import changed the tables:\nbefore\n%s\nafter\n%s", first, second)
	}
}

func TestImportEmptySections(t *testing.T) {
	b, _ := newTestBackend(t)
	for _, in := range []string{`{}`, ` {"customers": null, "orders": []} `, "{\"orders\": []}\n\n"} {
		got, err := b.Import(context.Background(), strings.NewReader(in))
		if err != nil || got != (ImportStats{}) {
			t.Errorf("Import(%q) = %+v, %v; want zero stats, no error", in, got, err)
		}
	}
}

// TestImportBadFiles imports good.json, then each bad file: each must fail
// with its message and leave the good data exactly as it was.
func TestImportBadFiles(t *testing.T) {
	const orderKeys = "order_no, openid, created_at, status, amount_fen, items, carrier, tracking_no, address, refund, admin_url, tracking_event, tracking_at, extra"
	tests := []struct{ file, want string }{
		{"bad-empty.json", `the file is empty; expected a JSON object like {"customers": [...], "orders": [...]}`},
		{"bad-not-object.json", `the file must be one JSON object like {"customers": [...], "orders": [...]} (got an array)`},
		{"bad-truncated.json", `orders[0]: the file ends at byte 149 before the JSON is complete; is it truncated?`},
		{"bad-trailing.json", `the JSON object ends at byte 47 but more data follows; the file must hold exactly one object`},
		{"bad-syntax.json", `customers[1]: invalid JSON at byte 51: expected comma after array element`},
		{"bad-unknown-top.json", `custmers: unknown top-level key; expected "customers" or "orders"`},
		{"bad-section-twice.json", `orders: appears twice; put all its records in one array`},
		{"bad-section-type.json", `orders: must be an array of records (got an object)`},
		{"bad-section-number.json", `orders: must be an array of records (got a number)`},
		{"bad-unknown-field.json", `orders[0].amout_fen: unknown field; expected one of ` + orderKeys},
		{"bad-unknown-item-field.json", `orders[0].items[1].quantity: unknown field; expected one of title, sku, qty, price_fen`},
		{"bad-customer-orders.json", `customers[0].orders: unknown field; expected one of openid, name, phone, level, tags, note, admin_url, extra`},
		{"bad-customer-summary.json", `customers[0].order_count: unknown field; expected one of openid, name, phone, level, tags, note, admin_url, extra`},
		{"bad-extra-label.json", `orders[1].extra[1].label: required: what the value is, e.g. "优惠券"`},
		{"bad-extra-href.json", `customers[0].extra[0].href: must be an absolute http(s) URL like "https://shop.example/admin/u/42" (got "javascript:alert(1)")`},
		{"bad-extra-field.json", `customers[0].extra[0].link: unknown field; expected one of label, value, href, copy, mask`},
		{"bad-tracking-at.json", `orders[0].tracking_at: must be an RFC 3339 time like "2026-11-20T10:00:00+08:00" (got "昨天")`},
		{"bad-wrong-type.json", `orders[0].amount_fen: must be a whole number of fen (1 yuan = 100 fen) (got string)`},
		{"bad-float-amount.json", `orders[0].amount_fen: must be a whole number of fen (1 yuan = 100 fen) (got number 129.5)`},
		{"bad-tags-type.json", `customers[0].tags: must be an array of strings (got number)`},
		{"bad-record-type.json", `customers[1]: must be a JSON object (got string)`},
		{"bad-record-null.json", `orders[0]: must be a JSON object (got null)`},
		{"bad-items-type.json", `orders[0].items: must be an array (got object)`},
		{"bad-dup-order.json", `orders[2].order_no: duplicate of orders[0]; each order_no must appear once`},
		{"bad-dup-customer.json", `customers[2].openid: duplicate of customers[0]; each customer must appear once`},
		{"bad-refund-too-large.json", `orders[0].refund.amount_fen: must not exceed the order's amount_fen 12900 (got 13000)`},
		{"bad-refund-status.json", `orders[0].refund.status: must be one of none, requested, approved, returned, refunded, rejected (got "pending")`},
		{"bad-time.json", `orders[0].created_at: must be an RFC 3339 time like "2026-11-20T10:00:00+08:00" (got "2026-11-20 10:00:00")`},
		{"bad-time-missing.json", `orders[0].created_at: required: an RFC 3339 time like "2026-11-20T10:00:00+08:00"`},
		{"bad-status.json", `orders[0].status: must be one of pending, paid, partially_shipped, shipped, delivered, completed, cancelled, closed, refunding, refunded, or a Chinese label, WeChat shop code or Taobao-style status for one of them (got "sent")`},
		{"bad-qty.json", `orders[0].items[2].qty: must be a positive integer (got -1)`},
		{"bad-price-missing.json", `orders[0].items[0].price_fen: required: the unit price in fen (use 0 for a free item)`},
		{"bad-amount-missing.json", `orders[0].amount_fen: required: the amount paid in fen (1 yuan = 100 fen)`},
		{"bad-amount-negative.json", `orders[0].amount_fen: must not be negative (got -100)`},
		{"bad-no-items.json", `orders[0].items: must list at least one item`},
		{"bad-openid-space.json", `customers[0].openid: must not contain whitespace (got "oX1 ")`},
		{"bad-order-openid-missing.json", `orders[0].openid: required: the user's openid in the mini-program`},
		{"bad-name-missing.json", `customers[0].name: required: the customer's name as the shop knows it`},
		{"bad-phone.json", `customers[0].phone: must contain only digits, "+", "-" and spaces (found 'x')`},
		{"bad-admin-url.json", `customers[0].admin_url: must be an absolute http(s) URL like "https://shop.example/admin/u/42" (got "shop.example/admin/u/1")`},
		{"bad-later-record.json", `orders[2].items[0].title: required: the product name`},
	}

	files, err := filepath.Glob(filepath.Join("testdata", "import", "bad-*.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if !slices.ContainsFunc(tests, func(tt struct{ file, want string }) bool { return tt.file == filepath.Base(f) }) {
			t.Errorf("%s has no expected error in this table", f)
		}
	}

	b, db := newTestBackend(t)
	importTestFile(t, b, "good.json")
	before := dumpOrderTables(t, db)
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", "import", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			stats, err := b.Import(context.Background(), bytes.NewReader(data))
			var ie *jsonrecord.ImportError
			if !errors.As(err, &ie) {
				t.Fatalf("error = %v (%T), want an *jsonrecord.ImportError", err, err)
			}
			if got := err.Error(); got != tt.want {
				t.Errorf("error\ngot  %s\nwant %s", got, tt.want)
			}
			if stats != (ImportStats{}) {
				t.Errorf("stats = %+v, want zero", stats)
			}
			if after := dumpOrderTables(t, db); after != before {
				t.Errorf("failed import changed the tables:\nbefore\n%s\nafter\n%s", before, after)
			}
		})
	}
	checkLookups(t, b, wantFromImportFiles(t, "good.json"))
}

func TestImportStoresNormalizedStatus(t *testing.T) {
	b, _ := newTestBackend(t)
	in := `{"orders": [{"order_no": "S-1", "openid": "oS", "created_at": "2026-11-20T10:00:00+08:00",
		"status": "已发货", "amount_fen": 1, "items": [{"title": "a", "qty": 1, "price_fen": 1}],
		"refund": {"status": "Requested", "amount_fen": 1}}]}`
	if _, err := b.Import(context.Background(), strings.NewReader(in)); err != nil {
		t.Fatal(err)
	}
	c, err := b.Lookup(context.Background(), "oS")
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Orders[0].Status + "/" + c.Orders[0].Refund.Status; got != "shipped/requested" {
		t.Errorf("status/refund = %s, want shipped/requested", got)
	}
}

func TestImportReadFailureIsNotImportError(t *testing.T) {
	b, db := newTestBackend(t)
	errDisk := errors.New("disk on fire")
	good, err := os.ReadFile(filepath.Join("testdata", "import", "good.json"))
	if err != nil {
		t.Fatal(err)
	}
	r := io.MultiReader(bytes.NewReader(good[:len(good)/2]), iotest.ErrReader(errDisk))
	_, err = b.Import(context.Background(), r)
	var ie *jsonrecord.ImportError
	if !errors.Is(err, errDisk) || errors.As(err, &ie) {
		t.Errorf("error = %v, want the reader's error, not an *jsonrecord.ImportError", err)
	}
	if n := countRows(t, db, "kf_customers"); n != 0 {
		t.Errorf("%d customers imported, want 0", n)
	}
}

func TestImportHonoursContext(t *testing.T) {
	b, db := newTestBackend(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	f, err := os.Open(filepath.Join("testdata", "import", "good.json"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := b.Import(ctx, f); !errors.Is(err, context.Canceled) {
		t.Errorf("error = %v, want context.Canceled", err)
	}
	if n := countRows(t, db, "kf_orders"); n != 0 {
		t.Errorf("%d orders imported, want 0", n)
	}
}

func TestImportGeneratedStream(t *testing.T) {
	b, db := newTestBackend(t)
	got := importGenerated(t, b, 300, 3000)
	if want := (ImportStats{Customers: 300, Orders: 3000, Items: 6000}); got != want {
		t.Errorf("stats = %+v, want %+v", got, want)
	}
	if n := countRows(t, db, "kf_order_items"); n != 6000 {
		t.Errorf("%d items stored, want 6000", n)
	}
	c, err := b.Lookup(context.Background(), "oGen00000007")
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Orders) != 10 || c.Orders[0].OrderNo != "G000002707" || len(c.Orders[0].Items) != 2 {
		t.Errorf("got %d orders, first %+v; want 10, newest G000002707 with 2 items", len(c.Orders), c.Orders[0])
	}
}

// TestLookupDuringImport checks that lookups answer, with the data from
// before, while an import holds its write transaction open, and see all of
// the import once it commits.
func TestLookupDuringImport(t *testing.T) {
	b, _ := newTestBackend(t)
	importTestFile(t, b, "good.json")
	update, err := os.ReadFile(filepath.Join("testdata", "import", "update.json"))
	if err != nil {
		t.Fatal(err)
	}
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		_, err := b.Import(context.Background(), pr)
		done <- err
	}()
	// Hand over all but the closing bracket: the importer writes what it
	// got and waits, inside its transaction, for the rest.
	if _, err := pw.Write(update[:bytes.LastIndexByte(update, '}')]); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := b.Lookup(ctx, "oA1bC2dE3fG4hI5jK6lM7nO8pQ9r")
	if err != nil {
		t.Fatalf("Lookup during import: %v", err)
	}
	if c.Name != "张三" {
		t.Errorf("during import: name = %q, want the old 张三", c.Name)
	}

	if _, err := pw.Write([]byte("}")); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	checkLookups(t, b, wantFromImportFiles(t, "good.json", "update.json"))
}

// FuzzImport checks that no input crashes the importer or gets past it
// with anything but an *ImportError.
func FuzzImport(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("testdata", "import", "*.json"))
	if err != nil {
		f.Fatal(err)
	}
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte("1" + strings.Repeat("0", 400)))
	f.Add([]byte(`{"orders": [{"order_no": "x", "openid": "o", "created_at": "2026-01-01T00:00:00Z",
		"status": "paid", "amount_fen": 0, "items": [{"title": "t", "qty": 1, "price_fen": 0}], "refund": {}}]}`))
	b, _ := newTestBackend(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		_, err := b.Import(context.Background(), bytes.NewReader(data))
		var ie *jsonrecord.ImportError
		if err != nil && (!errors.As(err, &ie) || ie.Reason == "") {
			t.Fatalf("error %v (%T) is not an *jsonrecord.ImportError with a reason", err, err)
		}
	})
}

// BenchmarkImport reports bulk import speed in orders per second, each
// iteration loading 10 000 orders (20 000 items) into a fresh database.
func BenchmarkImport(b *testing.B) {
	const customers, orders = 1_000, 10_000
	var buf bytes.Buffer
	if err := writeGeneratedImport(&buf, customers, orders); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(buf.Len()))
	for b.Loop() {
		b.StopTimer()
		be, _ := newTestBackend(b)
		b.StartTimer()
		if _, err := be.Import(context.Background(), bytes.NewReader(buf.Bytes())); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(orders*b.N)/b.Elapsed().Seconds(), "orders/s")
}
