package shopsql_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pelletier/go-toml/v2"

	"github.com/kfsidebar/kfsidebar/proxy/mpkftest"
	"github.com/kfsidebar/kfsidebar/sidebar/shop"
	"github.com/kfsidebar/kfsidebar/sidebar/shop/shopsql"
	"github.com/kfsidebar/kfsidebar/sidebar/shop/shoptest"
)

// The sql backend is tested against real servers with the sample shop
// (testdata) loaded: .ci/run starts them and exports the DSNs.
var sampleDatabases = []struct{ name, config, env string }{
	{"postgres", "postgres.toml", "KFSIDEBAR_TEST_POSTGRES_DSN"},
	{"mariadb", "mysql.toml", "KFSIDEBAR_TEST_MYSQL_DSN"},
}

// sampleSQLConfig is the [orders.sql] table of a sample kfsidebar.toml.
type sampleSQLConfig struct {
	Orders struct {
		Backend string `toml:"backend"`
		SQL     struct {
			Driver           string `toml:"driver"`
			DSNEnv           string `toml:"dsn_env"`
			StatementTimeout string `toml:"statement_timeout"`
			TimeZone         string `toml:"time_zone"`
			CustomerByOpenID string `toml:"customer_by_openid"`
			CustomerByID     string `toml:"customer_by_id"`
			Orders           string `toml:"orders"`
			OrderItems       string `toml:"order_items"`
			SearchByPhone    string `toml:"search_by_phone"`
			SearchByOrderNo  string `toml:"search_by_order_no"`
			SearchByName     string `toml:"search_by_name"`
		} `toml:"sql"`
	} `toml:"orders"`
}

// requireDSN returns the DSN in env, or skips the test with the reason;
// with CI set, a missing database fails instead.
func requireDSN(t testing.TB, env string) string {
	t.Helper()
	dsn := os.Getenv(env)
	if dsn == "" {
		why := env + " is not set: start the test databases with: eval \"$(.ci/run databases)\""
		if os.Getenv("CI") != "" {
			t.Fatal(why + "; CI is set, so the sql backend tests must run")
		}
		t.Skip(why)
	}
	return dsn
}

// sampleSQL reads a sample configuration and opens its database.
func sampleSQL(t testing.TB, config, env string) (driver string, opts shopsql.Options, backend func(shopsql.Options) *shopsql.Backend) {
	t.Helper()
	dsn := requireDSN(t, env)
	data, err := os.ReadFile(filepath.Join("testdata", config))
	if err != nil {
		t.Fatal(err)
	}
	var cfg sampleSQLConfig
	if err := toml.NewDecoder(strings.NewReader(string(data))).DisallowUnknownFields().Decode(&cfg); err != nil {
		t.Fatalf("%s: %v", config, err)
	}
	s := cfg.Orders.SQL
	if cfg.Orders.Backend != "sql" || s.DSNEnv != env {
		t.Fatalf("%s: backend %q, dsn_env %q", config, cfg.Orders.Backend, s.DSNEnv)
	}
	tz, err := time.LoadLocation(s.TimeZone)
	if err != nil {
		t.Fatal(err)
	}
	timeout, err := time.ParseDuration(s.StatementTimeout)
	if err != nil {
		t.Fatal(err)
	}
	db, err := shopsql.Open(s.Driver, dsn, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	opts = shopsql.Options{
		Queries: shopsql.Queries{
			CustomerByOpenID: s.CustomerByOpenID, CustomerByID: s.CustomerByID,
			Orders: s.Orders, OrderItems: s.OrderItems,
			SearchByPhone: s.SearchByPhone, SearchByOrderNo: s.SearchByOrderNo, SearchByName: s.SearchByName,
		},
		StatementTimeout: max(timeout, 30*time.Second), // a busy CI machine is not a slow shop
		TimeZone:         tz,
	}
	return s.Driver, opts, func(o shopsql.Options) *shopsql.Backend {
		t.Helper()
		b, err := shopsql.New(db, s.Driver, o)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
}

func TestSQLBackendSampleShop(t *testing.T) {
	for _, sdb := range sampleDatabases {
		t.Run(sdb.name, func(t *testing.T) {
			_, opts, open := sampleSQL(t, sdb.config, sdb.env)
			b := open(opts)
			if err := b.Check(context.Background()); err != nil {
				t.Fatalf("Check: %v", err)
			}
			shoptest.CheckLookups(t, b, mpkftest.DemoOrdersJSON)
			shoptest.CheckDemoCustomerAndSearch(t, b)

			// What only the shop's own database knows: the summary, an
			// extra field, the latest tracking event, the refund.
			c, err := b.Lookup(context.Background(), "oVx3k5gCfrL1spNxnyVmihA-2O76") // 陈晓雯
			if err != nil {
				t.Fatal(err)
			}
			o := c.Orders[0]
			got := fmt.Sprintf("id %s, %d orders, %d fen spent, last %s, extra %+v; order %s: %s at %s, refund %+v",
				c.ID, c.OrderCount, c.TotalSpentFen, c.LastOrderAt.Format(time.RFC3339), c.Extra,
				o.OrderNo, o.TrackingEvent, o.TrackingAt.Format(time.RFC3339), o.Refund)
			want := "id 10041, 2 orders, 28100 fen spent, last 2026-11-14T14:20:33+08:00, extra [{Label:积分 Value:560 Href: Copy:false Mask:false}]; " +
				"order E202611141420330041: 已签收，签收人：本人 at 2026-11-17T04:20:33+08:00, refund {Status:requested AmountFen:4800 Reason:收到的品茗杯有一道裂纹}"
			if got != want {
				t.Errorf("shop-only fields:\ngot  %s\nwant %s", got, want)
			}
		})
	}
}

// TestSQLBackendTransaction: every lookup runs in a read-only transaction
// whose statements the server stops at the statement timeout.
func TestSQLBackendTransaction(t *testing.T) {
	settings := map[string]string{
		"postgres": `SELECT 0 AS id, 'oA1' AS openid,
			current_setting('transaction_read_only') || ' ' || current_setting('statement_timeout') AS name`,
		"mariadb": `SELECT 0 AS id, 'oA1' AS openid, CONCAT(@@in_transaction, ' ', @@max_statement_time) AS name`,
	}
	sleeps := map[string]string{
		"postgres": `SELECT 0 AS id, 'oA1' AS openid, 'x' || pg_sleep(30) AS name`,
		"mariadb":  `SELECT 0 AS id, 'oA1' AS openid, CONCAT('x', SLEEP(30)) AS name`,
	}
	wantSettings := map[string]string{"postgres": "on 1s", "mariadb": "1 1.000000"}
	// The server's own "statement timeout" errors.
	stopped := map[string]string{"postgres": "SQLSTATE 57014", "mariadb": "Error 1969"}
	for _, sdb := range sampleDatabases {
		t.Run(sdb.name, func(t *testing.T) {
			_, opts, open := sampleSQL(t, sdb.config, sdb.env)
			opts.StatementTimeout = time.Second
			opts.Queries.CustomerByOpenID = settings[sdb.name]
			c, err := open(opts).Lookup(context.Background(), "oA1")
			if err != nil {
				t.Fatal(err)
			}
			if c.Name != wantSettings[sdb.name] {
				t.Errorf("in the lookup transaction: %q, want %q", c.Name, wantSettings[sdb.name])
			}

			opts.Queries.CustomerByOpenID = sleeps[sdb.name]
			_, err = open(opts).Lookup(context.Background(), "oA1")
			if err == nil || !strings.Contains(err.Error(), stopped[sdb.name]) {
				t.Fatalf("a 30 s query: err = %v, want the server's statement timeout (%s)", err, stopped[sdb.name])
			}
		})
	}
}

func TestSQLBackendConfigProblems(t *testing.T) {
	for _, sdb := range sampleDatabases {
		t.Run(sdb.name, func(t *testing.T) {
			_, opts, open := sampleSQL(t, sdb.config, sdb.env)
			tests := []struct {
				name       string
				tweak      func(*shopsql.Queries)
				want       string
				queryError bool
			}{
				{"unknown column", func(q *shopsql.Queries) {
					q.CustomerByOpenID = "SELECT real_name AS name, mobile FROM customers WHERE wx_openid = :openid"
				}, `customer_by_openid: column "mobile" is not a field kfsidebar knows`, false},
				{"missing required column", func(q *shopsql.Queries) {
					q.OrderItems = "SELECT o.order_no, i.product_title AS title FROM orders o JOIN order_items i ON i.order_id = o.id WHERE o.customer_id = :customer_id"
				}, `order_items: must return the "qty" column`, false},
				{"no items at all", func(q *shopsql.Queries) { q.OrderItems = "" },
					`orders: returns no items column, and there is no order_items query`, false},
				{"missing table", func(q *shopsql.Queries) {
					q.SearchByName = "SELECT id, real_name AS name FROM members WHERE real_name = :name LIMIT :limit"
				}, `search_by_name: `, true},
				{"syntax", func(q *shopsql.Queries) {
					q.CustomerByID = "SELEKT id FROM customers WHERE id = :id"
				}, `customer_by_id: `, true},
			}
			for _, tt := range tests {
				o := opts
				tt.tweak(&o.Queries)
				err := open(o).Check(context.Background())
				if err == nil || !strings.Contains(err.Error(), tt.want) {
					t.Errorf("%s: Check = %v, want %s", tt.name, err, tt.want)
				}
				if got := shopsql.IsQueryError(err); got != tt.queryError {
					t.Errorf("%s: IsQueryError(%v) = %v", tt.name, err, got)
				}
			}
		})
	}
}

func TestSQLBackendRowErrorsNameTheColumn(t *testing.T) {
	yuan := map[string]string{
		"postgres": `SELECT o.order_no, o.created_at, o.status, o.total_fen / 100.0 + 0.5 AS amount_fen
			FROM orders o WHERE o.customer_id = :customer_id ORDER BY o.created_at DESC LIMIT :limit`,
		"mariadb": `SELECT o.order_no, o.created_at, o.status, o.total_fen / 100 + 0.5 AS amount_fen
			FROM orders o WHERE o.customer_id = :customer_id ORDER BY o.created_at DESC LIMIT :limit`,
	}
	for _, sdb := range sampleDatabases {
		t.Run(sdb.name, func(t *testing.T) {
			_, opts, open := sampleSQL(t, sdb.config, sdb.env)
			opts.Queries.Orders = yuan[sdb.name]
			_, err := open(opts).Lookup(context.Background(), "oVx3k5PtYgjmUhBel31iEl2hpChY")
			var ce *shop.ContractError
			if !errors.As(err, &ce) || ce.Field != "amount_fen" || !strings.Contains(err.Error(), "orders query, row 1: amount_fen: must be a whole number") {
				t.Fatalf("err = %v, want the orders query's amount_fen named", err)
			}

			opts.Queries.Orders = strings.Replace(yuan[sdb.name], "o.total_fen / 100.0 + 0.5", "o.total_fen", 1)
			opts.Queries.Orders = strings.Replace(opts.Queries.Orders, "o.total_fen / 100 + 0.5", "o.total_fen", 1)
			opts.Queries.Orders = strings.Replace(opts.Queries.Orders, "o.status", "'sent' AS status", 1)
			_, err = open(opts).Lookup(context.Background(), "oVx3k5PtYgjmUhBel31iEl2hpChY")
			if !errors.As(err, &ce) || ce.Field != "orders[0].status" {
				t.Fatalf("err = %v, want orders[0].status named", err)
			}
		})
	}
}
