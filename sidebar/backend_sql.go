package sidebar

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

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/kfsidebar/kfsidebar/sidebar/shop"
)

// Defaults of SQLOptions.
const (
	DefaultStatementTimeout = 3 * time.Second
)

// SQLQueries are the shop's own SELECTs that answer for kfsidebar. Each
// names its values :like_this (bound, never spliced in) and returns
// columns named like the fields of the Customer JSON (see the README's
// "Order backends"): "SELECT real_name AS name, mobile AS phone …".
type SQLQueries struct {
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

// SQLOptions configure an SQLBackend.
type SQLOptions struct {
	// Queries are the shop's queries.
	Queries SQLQueries
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

// SQL drivers, as OpenSQLDB and NewSQLBackend name them.
const (
	DriverPostgres = "postgres"
	DriverMySQL    = "mysql" // MySQL and MariaDB
)

// OpenSQLDB opens the shop's database: driver is DriverPostgres (pgx) or
// DriverMySQL (go-sql-driver/mysql, for MariaDB too); password, when not
// empty, replaces the one in the DSN (so it can come from the
// environment). Values are always bound on the server (no client-side
// interpolation, no multi-statements), and MySQL times are read as text
// so that TimeZone applies. The pool is small: a lookup needs one
// connection for a few milliseconds.
func OpenSQLDB(driver, dsn, password string) (*sql.DB, error) {
	var db *sql.DB
	switch driver {
	case DriverPostgres:
		cfg, err := pgx.ParseConfig(dsn)
		if err != nil {
			return nil, fmt.Errorf("dsn: not a PostgreSQL connection string like postgres://kfsidebar@db.shop.lan:5432/shop?sslmode=verify-full (%s)", redactDSN(err.Error(), password))
		}
		if password != "" {
			cfg.Password = password
		}
		if cfg.ConnectTimeout == 0 {
			cfg.ConnectTimeout = 5 * time.Second
		}
		db = stdlib.OpenDB(*cfg)
	case DriverMySQL:
		cfg, err := mysql.ParseDSN(dsn)
		if err != nil {
			return nil, fmt.Errorf("dsn: not a MySQL/MariaDB DSN like kfsidebar@tcp(db.shop.lan:3306)/shop (%s)", redactDSN(err.Error(), password))
		}
		if password != "" {
			cfg.Passwd = password
		}
		if cfg.Timeout == 0 {
			cfg.Timeout = 5 * time.Second
		}
		cfg.ParseTime, cfg.InterpolateParams, cfg.MultiStatements = false, false, false
		conn, err := mysql.NewConnector(cfg)
		if err != nil {
			return nil, fmt.Errorf("dsn: %s", redactDSN(err.Error(), password))
		}
		db = sql.OpenDB(conn)
	default:
		return nil, fmt.Errorf("driver %q: want %q or %q (also for MariaDB)", driver, DriverPostgres, DriverMySQL)
	}
	db.SetMaxOpenConns(4)
	db.SetMaxIdleConns(2)
	db.SetConnMaxIdleTime(5 * time.Minute)
	db.SetConnMaxLifetime(30 * time.Minute)
	return db, nil
}

func redactDSN(msg, password string) string {
	if password == "" {
		return msg
	}
	return strings.ReplaceAll(msg, password, "xxxxx")
}

// SQLBackend answers from the shop's PostgreSQL, MySQL or MariaDB with
// the shop's configured queries. Every lookup runs in one read-only,
// repeatable-read transaction (one consistent snapshot for the customer,
// their orders and the items) under a server-side statement timeout, so a
// slow query is stopped on the server and not only abandoned here.
type SQLBackend struct {
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

var _ shop.Backend = (*SQLBackend)(nil)

// orderParams are the parameters of the orders and order_items queries.
var orderParams = []string{"customer_id", "openid", "limit"}

// NewSQLBackend checks the queries (their parameters, not yet their
// columns: see Check) for driver, DriverPostgres or DriverMySQL. db stays
// owned by the caller.
func NewSQLBackend(db *sql.DB, driver string, opts SQLOptions) (*SQLBackend, error) {
	b := &SQLBackend{db: db, timeout: opts.StatementTimeout, limit: opts.RecentOrders, tz: opts.TimeZone, log: opts.Logger}
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
func (b *SQLBackend) Lookup(ctx context.Context, openid string) (*shop.Customer, error) {
	c, err := b.customerBy(ctx, b.byOpenID, map[string]any{"openid": openid}, openid)
	if err != nil {
		return nil, fmt.Errorf("lookup: %w", err)
	}
	return c, nil
}

// Customer runs customer_by_id (or customer_by_openid), then the orders.
func (b *SQLBackend) Customer(ctx context.Context, id string) (*shop.Customer, error) {
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

func (b *SQLBackend) customerBy(ctx context.Context, q *namedQuery, params map[string]any, openid string) (*shop.Customer, error) {
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
func (b *SQLBackend) Search(ctx context.Context, query string, limit int) ([]shop.Customer, error) {
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
func (b *SQLBackend) readOnly(ctx context.Context, fn func(*sql.Tx) error) error {
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
func (b *SQLBackend) setTimeout(ctx context.Context, tx *sql.Tx) error {
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

// row is one result row: the JSON values by column name, and the values
// as the driver gave them (the customer's id is bound again as it came).
type row struct {
	values jsonRow
	raw    map[string]any
}

// jsonRow is a row as a JSON object, NULL columns left out.
type jsonRow map[string]any

// query runs q and converts up to max rows (0: all) by column name.
func (b *SQLBackend) query(ctx context.Context, tx *sql.Tx, q *namedQuery, params map[string]any, max int) ([]row, error) {
	rows, err := tx.QueryContext(ctx, q.text, q.args(params)...)
	if err != nil {
		return nil, fmt.Errorf("%s query: %w", q.key, err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, fmt.Errorf("%s query: %w", q.key, err)
	}
	var out []row
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if max > 0 && len(out) >= max {
			continue // drain: a query without LIMIT must still end cleanly
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, fmt.Errorf("%s query: %w", q.key, err)
		}
		r := row{values: jsonRow{}, raw: map[string]any{}}
		for i, c := range cols {
			c = strings.ToLower(c)
			if vals[i] == nil {
				continue
			}
			v, err := columnValue(c, vals[i], b.tz)
			if err != nil {
				return nil, fmt.Errorf("%s query, row %d: %w", q.key, len(out)+1, &shop.ContractError{Field: c, Reason: err.Error()})
			}
			if v != nil {
				r.values[c] = v
			}
			r.raw[c] = vals[i]
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("%s query: %w", q.key, err)
	}
	return out, nil
}

// assembleRefund turns the refund_status, refund_amount_fen and
// refund_reason columns into the refund object.
func (o jsonRow) assembleRefund() {
	refund := map[string]any{}
	for _, k := range []string{"status", "amount_fen", "reason"} {
		if v, ok := o["refund_"+k]; ok {
			refund[k] = v
			delete(o, "refund_"+k)
		}
	}
	if len(refund) > 0 {
		if _, ok := o["refund"]; !ok {
			o["refund"] = refund
		}
	}
}

// How a column's value becomes JSON, by the column's name; every other
// column is text.
var (
	integerColumns = map[string]bool{"order_count": true, "total_spent_fen": true, "amount_fen": true,
		"refund_amount_fen": true, "qty": true, "price_fen": true}
	timeColumns = map[string]bool{"last_order_at": true, "created_at": true, "tracking_at": true}
	jsonColumns = map[string]bool{"extra": true, "items": true, "refund": true}
)

// columnValue converts a driver value for the column named col.
func columnValue(col string, v any, tz *time.Location) (any, error) {
	if b, ok := v.([]byte); ok {
		v = string(b)
	}
	switch {
	case integerColumns[col]:
		return integerValue(v)
	case timeColumns[col]:
		return timeValue(v, tz)
	case jsonColumns[col]:
		s, ok := v.(string)
		if !ok {
			return nil, fmt.Errorf("must be JSON text (got %T)", v)
		}
		if strings.TrimSpace(s) == "null" {
			return nil, nil
		}
		if !json.Valid([]byte(s)) {
			return nil, fmt.Errorf("must be JSON text (got %q)", clip(s))
		}
		return json.RawMessage(s), nil
	case col == "tags":
		return tagsValue(v)
	}
	switch x := v.(type) {
	case string:
		return x, nil
	case int64:
		return strconv.FormatInt(x, 10), nil
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), nil
	case bool:
		return strconv.FormatBool(x), nil
	case time.Time:
		return x.In(tz).Format(time.RFC3339), nil
	}
	return fmt.Sprint(v), nil
}

func integerValue(v any) (any, error) {
	switch x := v.(type) {
	case int64:
		return x, nil
	case float64:
		if x == float64(int64(x)) {
			return int64(x), nil
		}
		return nil, fmt.Errorf("must be a whole number (got %v); amounts are in fen: multiply yuan by 100 in the query", x)
	case string:
		s := strings.TrimSpace(x)
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			return n, nil
		}
		// A DECIMAL column: 12900.00 is fine, 129.50 is yuan.
		if whole, frac, ok := strings.Cut(s, "."); ok && strings.Trim(frac, "0") == "" {
			if n, err := strconv.ParseInt(whole, 10, 64); err == nil {
				return n, nil
			}
		}
		return nil, fmt.Errorf("must be a whole number (got %q); amounts are in fen: multiply yuan by 100 in the query", clip(s))
	}
	return nil, fmt.Errorf("must be a whole number (got %T)", v)
}

// Layouts of times that come as text: with an offset (PostgreSQL's text
// form) or without (MySQL DATETIME, read in the configured time zone).
var (
	zonedLayouts = []string{time.RFC3339Nano, "2006-01-02 15:04:05.999999999Z07:00", "2006-01-02 15:04:05.999999999Z07"}
	localLayouts = []string{"2006-01-02 15:04:05.999999999", "2006-01-02T15:04:05.999999999", "2006-01-02"}
)

func timeValue(v any, tz *time.Location) (any, error) {
	switch x := v.(type) {
	case time.Time:
		return x.In(tz).Format(time.RFC3339), nil
	case string:
		s := strings.TrimSpace(x)
		for _, l := range zonedLayouts {
			if t, err := time.Parse(l, s); err == nil {
				return t.In(tz).Format(time.RFC3339), nil
			}
		}
		for _, l := range localLayouts {
			if t, err := time.ParseInLocation(l, s, tz); err == nil {
				return t.Format(time.RFC3339), nil
			}
		}
		return nil, fmt.Errorf("must be a time like 2026-11-20 10:00:00 (got %q)", clip(s))
	}
	return nil, fmt.Errorf("must be a time (got %T)", v)
}

// tagsValue accepts a JSON array of strings, a PostgreSQL array's text
// ({a,b}) or comma-separated text ("a,b" or "a，b").
func tagsValue(v any) (any, error) {
	s, ok := v.(string)
	if !ok {
		return nil, fmt.Errorf("must be text: a JSON array or comma-separated (got %T)", v)
	}
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "[") {
		var tags []string
		if err := json.Unmarshal([]byte(s), &tags); err != nil {
			return nil, fmt.Errorf("must be a JSON array of strings or comma-separated text (got %q)", clip(s))
		}
		return tags, nil
	}
	if strings.HasPrefix(s, "{") && strings.HasSuffix(s, "}") {
		s = s[1 : len(s)-1]
	}
	tags := []string{}
	for _, t := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == '，' }) {
		if t = strings.Trim(strings.TrimSpace(t), `"`); t != "" {
			tags = append(tags, t)
		}
	}
	return tags, nil
}

func clip(s string) string {
	if len(s) > 60 {
		return s[:60] + "…"
	}
	return s
}

// The columns each query may return, and those it must.
var (
	customerColumns = []string{"id", "openid", "name", "phone", "level", "tags", "note", "admin_url",
		"order_count", "total_spent_fen", "last_order_at", "extra"}
	orderColumns = []string{"order_no", "openid", "created_at", "status", "amount_fen", "items", "carrier",
		"tracking_no", "address", "tracking_event", "tracking_at", "refund", "refund_status",
		"refund_amount_fen", "refund_reason", "admin_url", "extra"}
	itemColumns = []string{"order_no", "title", "sku", "qty", "price_fen"}
)

// Check runs every query once with NULL values (LIMIT 0), which finds no
// rows but makes the server check the SQL, the tables and the permissions,
// and checks the column names. It is what `kfsidebar config check` and the
// start-up run.
func (b *SQLBackend) Check(ctx context.Context) error {
	type check struct {
		q        *namedQuery
		columns  []string
		required []string
	}
	checks := []check{
		{b.byOpenID, customerColumns, []string{"name"}},
		{b.byID, customerColumns, []string{"name"}},
		{b.orders, orderColumns, []string{"order_no", "created_at", "status", "amount_fen"}},
		{b.items, itemColumns, []string{"order_no", "title", "qty", "price_fen"}},
		{b.searchPhone, customerColumns, []string{"name"}},
		{b.searchOrder, customerColumns, []string{"name"}},
		{b.searchNm, customerColumns, []string{"name"}},
	}
	return b.readOnly(ctx, func(tx *sql.Tx) error {
		var errs []error
		for _, c := range checks {
			if c.q == nil {
				continue
			}
			params := map[string]any{"limit": int64(0)}
			rows, err := tx.QueryContext(ctx, c.q.text, c.q.args(params)...)
			if err != nil {
				return fmt.Errorf("%s: %w", c.q.key, err) // the transaction is unusable now
			}
			cols, err := rows.Columns()
			rows.Close()
			if err != nil {
				return fmt.Errorf("%s: %w", c.q.key, err)
			}
			errs = append(errs, checkColumns(c.q.key, cols, c.columns, c.required))
			switch {
			case c.q == b.orders && b.items == nil && !containsFold(cols, "items"):
				errs = append(errs, errors.New("orders: returns no items column, and there is no order_items query; configure one of them"))
			case c.q == b.orders && b.items != nil && containsFold(cols, "items"):
				errs = append(errs, errors.New("orders: returns an items column and there is an order_items query too; keep one of them"))
			case c.q != b.byOpenID && c.q != b.orders && c.q != b.items && !containsFold(cols, "id") && !containsFold(cols, "openid"):
				errs = append(errs, fmt.Errorf("%s: must return an id or an openid column (or both)", c.q.key))
			}
		}
		return errors.Join(errs...)
	})
}

func checkColumns(key string, cols, known, required []string) error {
	var errs []error
	for _, c := range cols {
		if !containsFold(known, c) {
			errs = append(errs, fmt.Errorf("%s: column %q is not a field kfsidebar knows; name the columns %s (rename with AS)",
				key, c, strings.Join(known, ", ")))
		}
	}
	for _, r := range required {
		if !containsFold(cols, r) {
			errs = append(errs, fmt.Errorf("%s: must return the %q column", key, r))
		}
	}
	return errors.Join(errs...)
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

// IsQueryError says whether err is the database refusing a query (bad
// SQL, a missing table or column, no permission) rather than the
// database being out of reach: a configuration problem to fix, not an
// outage to wait out.
func IsQueryError(err error) bool {
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		return strings.HasPrefix(pg.Code, "42") // syntax error or access rule violation
	}
	var my *mysql.MySQLError
	if errors.As(err, &my) {
		switch my.Number {
		case 1054, 1064, 1142, 1143, 1146, 1149: // bad field, syntax, denied, no table
			return true
		}
	}
	return false
}
