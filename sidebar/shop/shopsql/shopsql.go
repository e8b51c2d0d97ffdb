// Package shopsql is the order backend that reads the shop's own
// PostgreSQL, MySQL or MariaDB database with the SELECTs the shop
// configures (docs/backends.md): each query names its values
// :like_this, which are always bound, never spliced in, and returns columns
// named like the fields of the Customer JSON, which package shop checks as
// it checks every backend's answer.
//
// It is the only package that imports the database drivers (pgx and
// go-sql-driver/mysql), so nothing else in kfsidebar links them in.
package shopsql

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/kfsidebar/kfsidebar/sidebar/shop"
)

// Defaults of Options.
const (
	DefaultStatementTimeout = 3 * time.Second
)

// Queries are the shop's own SELECTs that answer for kfsidebar. Each
// names its values :like_this (bound, never spliced in) and returns
// columns named like the fields of the Customer JSON (see
// docs/backends.md): "SELECT real_name AS name, mobile AS phone …".
type Queries struct {
	// CustomerByOpenID finds the customer (:openid). Required.
	CustomerByOpenID string
	// CustomerByID finds the customer by the shop's id (:id); "" means
	// CustomerByOpenID with the id as the openid.
	CustomerByID string
	// Orders lists the customer's most recent orders, newest first
	// (:customer_id — the customer's id column, or the openid when it has
	// none —, :openid, :limit). Required.
	Orders string
	// OrderItems lists the items of the same orders, each row with its
	// order_no (same parameters as Orders). "" when Orders returns an
	// items column (a JSON array).
	OrderItems string
	// SearchByPhone (:phone, the digits the agent typed, four or more),
	// SearchByOrderNo (:order_no) and SearchByName (:name) find customers
	// for the agent to pick (each with :limit); any may be "".
	SearchByPhone, SearchByOrderNo, SearchByName string
}

// Options configure an Backend.
type Options struct {
	// Queries are the shop's queries.
	Queries Queries
	// StatementTimeout bounds each query on the server; default 3s.
	StatementTimeout time.Duration
	// RecentOrders is the :limit of Orders; default DefaultRecentOrders.
	RecentOrders int
	// TimeZone reads times that come without one (MySQL DATETIME);
	// default time.Local. Times are also shown in it.
	TimeZone *time.Location
	// Logger gets problems found by Check; default discards.
	Logger *slog.Logger
}

// Backend answers from the shop's PostgreSQL, MySQL or MariaDB with
// the shop's configured queries. Every lookup runs in one read-only,
// repeatable-read transaction (one consistent snapshot for the customer,
// their orders and the items) under a server-side statement timeout, so a
// slow query is stopped on the server and not only abandoned here.
type Backend struct {
	db      *sql.DB
	dialect string
	timeout time.Duration
	limit   int
	tz      *time.Location
	log     *slog.Logger

	byOpenID, byID, orders, items      *namedQuery
	searchPhone, searchOrder, searchNm *namedQuery

	mu       sync.Mutex
	mysqlSet string // the statement that sets MySQL's or MariaDB's timeout, once known
}

var _ shop.Backend = (*Backend)(nil)

// orderParams are the parameters of the orders and order_items queries.
var orderParams = []string{"customer_id", "openid", "limit"}

// New checks the queries (their parameters, not yet their
// columns: see Check) for driver, DriverPostgres or DriverMySQL. db stays
// owned by the caller.
func New(db *sql.DB, driver string, opts Options) (*Backend, error) {
	b := &Backend{db: db, timeout: opts.StatementTimeout, limit: opts.RecentOrders, tz: opts.TimeZone, log: opts.Logger}
	switch driver {
	case DriverPostgres:
		b.dialect = dialectPostgres
	case DriverMySQL:
		b.dialect = dialectMySQL
	default:
		return nil, fmt.Errorf("driver %q: want %q or %q (also for MariaDB)", driver, DriverPostgres, DriverMySQL)
	}
	if b.timeout <= 0 {
		b.timeout = DefaultStatementTimeout
	}
	if b.limit <= 0 {
		b.limit = shop.DefaultRecentOrders
	}
	if b.tz == nil {
		b.tz = time.Local
	}
	if b.log == nil {
		b.log = slog.New(slog.DiscardHandler)
	}
	q := opts.Queries
	var errs []error
	parse := func(dst **namedQuery, key, text string, required bool, allowed ...string) {
		if strings.TrimSpace(text) == "" {
			if required {
				errs = append(errs, fmt.Errorf("%s: required", key))
			}
			return
		}
		nq, err := parseNamedQuery(key, text, b.dialect, allowed...)
		if err != nil {
			errs = append(errs, err)
			return
		}
		*dst = nq
	}
	parse(&b.byOpenID, "customer_by_openid", q.CustomerByOpenID, true, "openid")
	parse(&b.byID, "customer_by_id", q.CustomerByID, false, "id")
	parse(&b.orders, "orders", q.Orders, true, orderParams...)
	parse(&b.items, "order_items", q.OrderItems, false, orderParams...)
	parse(&b.searchPhone, "search_by_phone", q.SearchByPhone, false, "phone", "limit")
	parse(&b.searchOrder, "search_by_order_no", q.SearchByOrderNo, false, "order_no", "limit")
	parse(&b.searchNm, "search_by_name", q.SearchByName, false, "name", "limit")
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return b, nil
}

// Lookup runs customer_by_openid, then orders and order_items.
func (b *Backend) Lookup(ctx context.Context, openid string) (*shop.Customer, error) {
	c, err := b.customerBy(ctx, b.byOpenID, map[string]any{"openid": openid}, openid)
	if err != nil {
		return nil, fmt.Errorf("lookup: %w", err)
	}
	return c, nil
}

// Customer runs customer_by_id (or customer_by_openid), then the orders.
func (b *Backend) Customer(ctx context.Context, id string) (*shop.Customer, error) {
	q, params, openid := b.byID, map[string]any{"id": id}, ""
	if q == nil {
		q, params, openid = b.byOpenID, map[string]any{"openid": id}, id
	}
	c, err := b.customerBy(ctx, q, params, openid)
	if err != nil {
		return nil, fmt.Errorf("customer: %w", err)
	}
	return c, nil
}

func (b *Backend) customerBy(ctx context.Context, q *namedQuery, params map[string]any, openid string) (*shop.Customer, error) {
	var c *shop.Customer
	err := b.readOnly(ctx, func(tx *sql.Tx) error {
		rows, err := b.query(ctx, tx, q, params, 1)
		if err != nil {
			return err
		}
		if len(rows) == 0 {
			return shop.ErrNotFound
		}
		cust := rows[0]
		if s, ok := cust.values["openid"].(string); ok && openid == "" {
			openid = s
		}
		customerID := cust.raw["id"]
		if customerID == nil {
			customerID = openid
		}
		p := map[string]any{"customer_id": customerID, "openid": openid, "limit": int64(b.limit)}
		orders, err := b.query(ctx, tx, b.orders, p, b.limit)
		if err != nil {
			return err
		}
		byNo := map[string]*row{}
		list := make([]map[string]any, 0, len(orders))
		for i := range orders {
			o := orders[i].values
			o.assembleRefund()
			if no, ok := o["order_no"].(string); ok {
				byNo[no] = &orders[i]
			}
			list = append(list, o)
		}
		if b.items != nil && len(orders) > 0 {
			items, err := b.query(ctx, tx, b.items, p, 0)
			if err != nil {
				return err
			}
			for _, it := range items {
				no, _ := it.values["order_no"].(string)
				delete(it.values, "order_no")
				if o := byNo[no]; o != nil {
					its, _ := o.values["items"].([]map[string]any)
					o.values["items"] = append(its, map[string]any(it.values))
				}
			}
		}
		if len(list) > 0 {
			cust.values["orders"] = list
		}
		raw, err := json.Marshal(cust.values)
		if err != nil {
			return err
		}
		if c, err = shop.DecodeCustomer(raw, openid); err != nil {
			return fmt.Errorf("the shop's answer: %w", err)
		}
		return nil
	})
	return c, err
}

// Search runs the configured searches that fit the query, in the order
// phone, order number, name, and returns the first limit customers.
func (b *Backend) Search(ctx context.Context, query string, limit int) ([]shop.Customer, error) {
	q := strings.TrimSpace(query)
	out := []shop.Customer{}
	if q == "" || limit <= 0 {
		return out, nil
	}
	type search struct {
		q     *namedQuery
		param string
		value string
	}
	var searches []search
	if digits := phoneDigits(q); digits != "" && b.searchPhone != nil {
		searches = append(searches, search{b.searchPhone, "phone", digits})
	}
	if b.searchOrder != nil {
		searches = append(searches, search{b.searchOrder, "order_no", q})
	}
	if b.searchNm != nil {
		searches = append(searches, search{b.searchNm, "name", q})
	}
	if len(searches) == 0 {
		return out, nil
	}
	seen := map[string]bool{}
	err := b.readOnly(ctx, func(tx *sql.Tx) error {
		for _, s := range searches {
			rows, err := b.query(ctx, tx, s.q, map[string]any{s.param: s.value, "limit": int64(limit)}, limit)
			if err != nil {
				return err
			}
			for i, r := range rows {
				raw, err := json.Marshal(r.values)
				if err != nil {
					return err
				}
				c, err := shop.DecodeCustomer(raw, "")
				if err != nil {
					return fmt.Errorf("%s, row %d: %w", s.q.key, i+1, err)
				}
				key := c.ID + "\x00" + c.OpenID
				if seen[key] || len(out) >= limit {
					continue
				}
				seen[key] = true
				c.Orders = nil
				out = append(out, *c)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("search: %w", err)
	}
	return out, nil
}

// phoneDigits returns the digits of a query that looks like (the end of) a
// phone number: only digits, spaces, "-" and "+", four digits or more.
func phoneDigits(q string) string {
	var d strings.Builder
	for _, r := range q {
		switch {
		case r >= '0' && r <= '9':
			d.WriteRune(r)
		case r == ' ' || r == '-' || r == '+':
		default:
			return ""
		}
	}
	if d.Len() < 4 {
		return ""
	}
	return d.String()
}

// readOnly runs fn in a read-only, repeatable-read transaction with the
// statement timeout set on the server.
func (b *Backend) readOnly(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := b.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true, Isolation: sql.LevelRepeatableRead})
	if err != nil {
		return fmt.Errorf("begin read-only transaction: %w", err)
	}
	defer tx.Rollback() // nothing was written
	if err := b.setTimeout(ctx, tx); err != nil {
		return err
	}
	return fn(tx)
}

// setTimeout bounds every statement of the transaction on the server:
// PostgreSQL's statement_timeout (for this transaction only), MariaDB's
// max_statement_time (seconds) or MySQL's max_execution_time
// (milliseconds), for this session, which only kfsidebar uses.
func (b *Backend) setTimeout(ctx context.Context, tx *sql.Tx) error {
	ms := b.timeout.Milliseconds()
	if b.dialect == dialectPostgres {
		if _, err := tx.ExecContext(ctx, "SELECT set_config('statement_timeout', $1, true)", strconv.FormatInt(ms, 10)); err != nil {
			return fmt.Errorf("set statement timeout: %w", err)
		}
		return nil
	}
	b.mu.Lock()
	stmt := b.mysqlSet
	b.mu.Unlock()
	if stmt == "" {
		var version string
		if err := tx.QueryRowContext(ctx, "SELECT VERSION()").Scan(&version); err != nil {
			return fmt.Errorf("server version: %w", err)
		}
		stmt = "SET SESSION max_execution_time = ?"
		if strings.Contains(strings.ToLower(version), "mariadb") {
			stmt = "SET SESSION max_statement_time = ?"
		}
		b.mu.Lock()
		b.mysqlSet = stmt
		b.mu.Unlock()
	}
	arg := any(ms)
	if strings.Contains(stmt, "max_statement_time") {
		arg = b.timeout.Seconds()
	}
	if _, err := tx.ExecContext(ctx, stmt, arg); err != nil {
		return fmt.Errorf("set statement timeout: %w", err)
	}
	return nil
}
