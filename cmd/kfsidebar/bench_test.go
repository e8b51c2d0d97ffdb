package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/kfsidebar/kfsidebar/internal/browsertest"
	"github.com/kfsidebar/kfsidebar/proxy/mpkftest"
	"github.com/kfsidebar/kfsidebar/sidebar/shop/embedded"
)

// The speed an agent feels: click a chat in the console, see the customer
// and their orders in the sidebar, in Chromium, through the real proxy, with
// a shop of benchCustomers customers and benchCustomers*benchOrdersEach
// orders in the embedded SQLite database.
//
//	go test ./cmd/kfsidebar -run '^$' -bench ClickToCustomer -benchtime 200x
//
// The database takes a few minutes to build the first time; it is kept
// in os.TempDir()/kfsidebar-bench-<version> for the next runs.

const (
	benchCustomers  = 100_000
	benchOrdersEach = 10 // 1 000 000 orders
	// benchVersion names the cached database; change it when the
	// generated data or the schema changes.
	benchVersion = "v1"
)

// benchFans are the simulated console's fans the benchmark clicks in
// turn; each is a customer of the generated shop.
var benchFans = []string{"林小满", "陈晓雯", "王建国", "孙浩然", "吴佩琪", "李想"}

func BenchmarkClickToCustomer(b *testing.B) {
	browsertest.Require(b)
	db := benchDatabase(b)
	// uncached: every click reaches SQLite (the cache keeps answers for a
	// millisecond); cached: the default cache answers repeated clicks.
	for _, mode := range []struct{ name, ttl string }{{"uncached", "1ms"}, {"cached", "30s"}} {
		b.Run(mode.name, func(b *testing.B) {
			w, ctx := benchWorld(b, db, mode.ttl)
			if err := chromedp.Do(ctx, chromedp.Navigate(w.sim.URL()), chromedp.WaitVisible(chromedp.CSS(".card"))); err != nil {
				b.Fatalf("open console: %v\n%s", err, w.log)
			}
			var fans []mpkftest.Fan
			for _, name := range benchFans {
				f := fanByName(b, name)
				w.sim.TransferIn(f)
				if err := chromedp.Do(ctx, chromedp.WaitVisible(cardSel(f))); err != nil {
					b.Fatal(err)
				}
				fans = append(fans, f)
			}
			click := func(i int) float64 {
				f := fans[i%len(fans)]
				ms, err := chromedp.Run(ctx, chromedp.Evaluate[float64](
					fmt.Sprintf(`(%s)(%q, %q)`, clickToCustomer, string(cardSel(f)), f.OpenID), chromedp.EvalAwaitPromise))
				if err != nil {
					b.Fatalf("click %s: %v\n%s", f.Nickname, err, w.log)
				}
				return ms
			}
			for i := range 2 * len(fans) { // warm up: connections, JIT, page caches
				click(i)
			}
			ms := make([]float64, 0, b.N)
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				ms = append(ms, click(i))
			}
			b.StopTimer()
			sort.Float64s(ms)
			b.ReportMetric(ms[len(ms)/2], "p50-ms")
			b.ReportMetric(ms[min(len(ms)-1, len(ms)*95/100)], "p95-ms")
			b.ReportMetric(ms[len(ms)-1], "max-ms")
		})
	}
}

func fanByName(tb testing.TB, name string) mpkftest.Fan {
	tb.Helper()
	for _, f := range mpkftest.Roster {
		if f.Nickname == name {
			return f
		}
	}
	tb.Fatalf("no fan %q", name)
	return mpkftest.Fan{}
}

// benchWorld runs kfsidebar on a copy of the benchmark database with the
// cache TTL given, and a browser of its own pointed at it.
func benchWorld(b *testing.B, db, ttl string) (*e2eWorld, context.Context) {
	b.Helper()
	config := filepath.Join(b.TempDir(), "kfsidebar.toml")
	if err := os.WriteFile(config, []byte(fmt.Sprintf("[orders]\ncache_ttl = %q\n", ttl)), 0o600); err != nil {
		b.Fatal(err)
	}
	w, err := startWorldWith(config, func(data string) error { return copyFile(db, filepath.Join(data, dbFile)) })
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(w.stop)
	br, err := browsertest.Start(browsertest.Options{ProxyServer: w.addr, SPKIList: w.pins, TimeZone: "Asia/Shanghai"})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(br.Close)
	return w, br.Tab(b)
}

func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	if err := os.MkdirAll(filepath.Dir(to), 0o700); err != nil {
		return err
	}
	out, err := os.OpenFile(to, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// benchDatabase returns the path of the benchmark database, building it
// the first time: the shop's customers and orders imported with the
// real importer from a generated file, streamed.
func benchDatabase(b *testing.B) string {
	b.Helper()
	dir := filepath.Join(os.TempDir(), fmt.Sprintf("kfsidebar-bench-%s-%d", benchVersion, benchCustomers))
	path := filepath.Join(dir, dbFile)
	if _, err := os.Stat(path); err == nil {
		return path
	}
	b.Logf("building the benchmark database in %s (once; a few minutes)", dir)
	start := time.Now()
	tmp, err := os.MkdirTemp(os.TempDir(), "kfsidebar-bench-build-*")
	if err != nil {
		b.Fatal(err)
	}
	defer os.RemoveAll(tmp)
	ctx := context.Background()
	db, err := openDB(ctx, tmp)
	if err != nil {
		b.Fatal(err)
	}
	backend, err := embedded.New(ctx, db)
	if err != nil {
		b.Fatal(err)
	}
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(writeBenchShop(pw, benchCustomers, benchOrdersEach)) }()
	stats, err := backend.Import(ctx, pr)
	pr.CloseWithError(io.ErrClosedPipe)
	if err != nil {
		b.Fatal(err)
	}
	backend.Close()
	// One file, no WAL beside it: the copy each run makes is complete.
	if _, err := db.Exec(`PRAGMA wal_checkpoint(TRUNCATE); PRAGMA journal_mode = DELETE; VACUUM;`); err != nil {
		b.Fatal(err)
	}
	if err := db.Close(); err != nil {
		b.Fatal(err)
	}
	// The finished directory appears at once, or not at all.
	if err := os.Rename(tmp, dir); err != nil {
		if _, statErr := os.Stat(path); statErr != nil {
			b.Fatal(err)
		}
	}
	b.Logf("built %d customers, %d orders, %d items in %s", stats.Customers, stats.Orders, stats.Items, time.Since(start).Round(time.Second))
	return path
}

// writeBenchShop writes an import file of n customers with each orders:
// the console's fans first (so their chats find them), then made-up ones.
func writeBenchShop(w io.Writer, n, each int) error {
	bw := bufio.NewWriterSize(w, 1<<20)
	enc := json.NewEncoder(bw)
	openid := func(i int) string {
		if i < len(mpkftest.Roster) {
			return mpkftest.Roster[i].OpenID
		}
		return fmt.Sprintf("oBench%022d", i)
	}
	surnames := []rune("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗")
	given := []string{"伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "洋", "艳", "勇", "军", "杰", "娟", "涛", "明", "超", "秀英", "华", "小满"}
	levels := []string{"普通会员", "银卡会员", "金卡会员"}
	io.WriteString(bw, `{"customers":[`)
	for i := range n {
		if i > 0 {
			bw.WriteByte(',')
		}
		err := enc.Encode(map[string]any{
			"openid": openid(i),
			"name":   string(surnames[i%len(surnames)]) + given[(i/len(surnames))%len(given)],
			"phone":  fmt.Sprintf("13%09d", i*7919%1_000_000_000),
			"level":  levels[i%len(levels)],
			"tags":   []string{"批量"},
		})
		if err != nil {
			return err
		}
	}
	io.WriteString(bw, `],"orders":[`)
	statuses := []string{"completed", "completed", "delivered", "shipped", "paid", "completed", "refunded", "completed", "cancelled", "completed"}
	carriers := []string{"顺丰速运", "中通快递", "圆通速递", "京东物流"}
	base := time.Date(2026, 11, 22, 10, 0, 0, 0, time.FixedZone("CST", 8*3600))
	first := true
	for i := range n {
		for j := range each {
			if !first {
				bw.WriteByte(',')
			}
			first = false
			no := fmt.Sprintf("B%07d%02d", i, j)
			status := statuses[(i+j)%len(statuses)]
			order := map[string]any{
				"order_no":   no,
				"openid":     openid(i),
				"created_at": base.Add(-time.Duration(j*17+i%13) * 24 * time.Hour).Add(-time.Duration(i%720) * time.Minute).Format(time.RFC3339),
				"status":     status,
				"amount_fen": 1990 + (i*31+j*97)%50000,
				"items": []map[string]any{{"title": "保温杯", "sku": "CUP-500", "qty": 1, "price_fen": 1990},
					{"title": "杯套", "qty": 1 + j%2, "price_fen": (i*31 + j*97) % 50000}},
				"address": "浙江省杭州市西湖区文三路398号 东信大厦5楼",
				"refund":  map[string]any{"status": "none", "amount_fen": 0},
			}
			if status != "paid" && status != "cancelled" {
				order["carrier"] = carriers[(i+j)%len(carriers)]
				order["tracking_no"] = fmt.Sprintf("SF%012d", i*100+j)
			}
			if status == "refunded" {
				order["refund"] = map[string]any{"status": "refunded", "amount_fen": 1990, "reason": "不想要了"}
			}
			if err := enc.Encode(order); err != nil {
				return err
			}
		}
	}
	io.WriteString(bw, `]}`)
	return bw.Flush()
}
