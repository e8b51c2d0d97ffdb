package sidebar

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// DefaultRecentOrders is how many orders Lookup returns when
// SQLiteBackend.RecentOrders is not set: enough for an agent to answer "where
// is my order?", few enough that a lookup stays a few index probes.
const DefaultRecentOrders = 20

// SQLiteBackend is the embedded default order backend: customers and orders
// in the workstation's SQLite database, loaded with Import. It lets a shop
// without an API (or before one is wired) still see its customers in the
// sidebar.
//
// Times are stored twice: as unix nanoseconds, which orders and indexes
// them, and as the RFC 3339 text they were imported with, so Lookup returns
// them with their original zone offset (an order placed at 10:00 Beijing
// time reads 10:00+08:00, not 02:00Z).
//
// The database is shared with the rest of kfsidebar, so every table is
// prefixed kf_. Open it with WAL and a busy timeout (go-sqlite3 DSN
// "?_journal_mode=WAL&_busy_timeout=5000") and allow more than one
// connection: then lookups keep answering while an import runs.
type SQLiteBackend struct {
	// RecentOrders is how many of a customer's most recent orders Lookup
	// returns. Zero means DefaultRecentOrders (20). Set it before the first
	// Lookup.
	RecentOrders int

	db *sql.DB

	lookupCustomer *sql.Stmt
	lookupOrders   *sql.Stmt
	lookupItems    *sql.Stmt

	upsertCustomer *sql.Stmt
	upsertOrder    *sql.Stmt
	deleteItems    *sql.Stmt
	insertItem     *sql.Stmt
}

var _ Backend = (*SQLiteBackend)(nil)

// sqliteSchema is idempotent so that every start can run it. Items hang off
// the order's integer id rather than its order_no to keep the items table
// and its key small. The orders index serves Lookup's "this openid, newest
// first" without a sort; order_no breaks ties so equal times come back in a
// stable order.
const sqliteSchema = `
CREATE TABLE IF NOT EXISTS kf_customers (
	openid    TEXT PRIMARY KEY NOT NULL,
	name      TEXT NOT NULL,
	phone     TEXT NOT NULL DEFAULT '',
	level     TEXT NOT NULL DEFAULT '',
	tags      TEXT NOT NULL DEFAULT '[]',
	note      TEXT NOT NULL DEFAULT '',
	admin_url TEXT NOT NULL DEFAULT ''
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS kf_orders (
	id                INTEGER PRIMARY KEY,
	order_no          TEXT NOT NULL UNIQUE,
	openid            TEXT NOT NULL,
	created_unix_ns   INTEGER NOT NULL,
	created_at        TEXT NOT NULL,
	status            TEXT NOT NULL,
	amount_fen        INTEGER NOT NULL,
	carrier           TEXT NOT NULL DEFAULT '',
	tracking_no       TEXT NOT NULL DEFAULT '',
	address           TEXT NOT NULL DEFAULT '',
	refund_status     TEXT NOT NULL DEFAULT 'none',
	refund_amount_fen INTEGER NOT NULL DEFAULT 0,
	refund_reason     TEXT NOT NULL DEFAULT '',
	admin_url         TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS kf_orders_openid_created
	ON kf_orders (openid, created_unix_ns DESC, order_no DESC);
CREATE TABLE IF NOT EXISTS kf_order_items (
	order_id  INTEGER NOT NULL REFERENCES kf_orders (id) ON DELETE CASCADE,
	pos       INTEGER NOT NULL,
	title     TEXT NOT NULL,
	sku       TEXT NOT NULL DEFAULT '',
	qty       INTEGER NOT NULL,
	price_fen INTEGER NOT NULL,
	PRIMARY KEY (order_id, pos)
) WITHOUT ROWID;
`

const (
	lookupCustomerSQL = `SELECT name, phone, level, tags, note, admin_url
FROM kf_customers WHERE openid = ?`

	lookupOrdersSQL = `SELECT id, order_no, created_at, status, amount_fen, carrier, tracking_no,
	address, refund_status, refund_amount_fen, refund_reason, admin_url
FROM kf_orders WHERE openid = ?
ORDER BY created_unix_ns DESC, order_no DESC LIMIT ?`

	// lookupItemsSQL repeats the orders query as a subquery so that one
	// statement fetches the items of exactly the orders returned.
	lookupItemsSQL = `SELECT order_id, title, sku, qty, price_fen FROM kf_order_items
WHERE order_id IN (SELECT id FROM kf_orders WHERE openid = ?
	ORDER BY created_unix_ns DESC, order_no DESC LIMIT ?)
ORDER BY order_id, pos`

	upsertCustomerSQL = `INSERT INTO kf_customers (openid, name, phone, level, tags, note, admin_url)
VALUES (?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (openid) DO UPDATE SET name = excluded.name, phone = excluded.phone,
	level = excluded.level, tags = excluded.tags, note = excluded.note,
	admin_url = excluded.admin_url`

	upsertOrderSQL = `INSERT INTO kf_orders (order_no, openid, created_unix_ns, created_at, status,
	amount_fen, carrier, tracking_no, address, refund_status, refund_amount_fen, refund_reason,
	admin_url)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (order_no) DO UPDATE SET openid = excluded.openid,
	created_unix_ns = excluded.created_unix_ns, created_at = excluded.created_at,
	status = excluded.status, amount_fen = excluded.amount_fen, carrier = excluded.carrier,
	tracking_no = excluded.tracking_no, address = excluded.address,
	refund_status = excluded.refund_status, refund_amount_fen = excluded.refund_amount_fen,
	refund_reason = excluded.refund_reason, admin_url = excluded.admin_url
RETURNING id`

	deleteItemsSQL = `DELETE FROM kf_order_items WHERE order_id = ?`

	insertItemSQL = `INSERT INTO kf_order_items (order_id, pos, title, sku, qty, price_fen)
VALUES (?, ?, ?, ?, ?, ?)`
)

// NewSQLiteBackend creates the kf_ tables if needed and prepares the
// statements, so a schema problem shows at start-up rather than on the first
// chat. db must use the "sqlite3" driver (github.com/mattn/go-sqlite3); it
// stays owned by the caller.
func NewSQLiteBackend(ctx context.Context, db *sql.DB) (*SQLiteBackend, error) {
	if _, err := db.ExecContext(ctx, sqliteSchema); err != nil {
		return nil, fmt.Errorf("create order tables: %w", err)
	}
	b := &SQLiteBackend{db: db}
	for _, p := range []struct {
		stmt **sql.Stmt
		sql  string
	}{
		{&b.lookupCustomer, lookupCustomerSQL},
		{&b.lookupOrders, lookupOrdersSQL},
		{&b.lookupItems, lookupItemsSQL},
		{&b.upsertCustomer, upsertCustomerSQL},
		{&b.upsertOrder, upsertOrderSQL},
		{&b.deleteItems, deleteItemsSQL},
		{&b.insertItem, insertItemSQL},
	} {
		stmt, err := db.PrepareContext(ctx, p.sql)
		if err != nil {
			b.Close()
			return nil, fmt.Errorf("prepare order statements: %w", err)
		}
		*p.stmt = stmt
	}
	return b, nil
}

// Close releases the prepared statements. It does not close the database,
// which belongs to the caller.
func (b *SQLiteBackend) Close() error {
	var errs []error
	for _, s := range []*sql.Stmt{b.lookupCustomer, b.lookupOrders, b.lookupItems,
		b.upsertCustomer, b.upsertOrder, b.deleteItems, b.insertItem} {
		if s != nil {
			errs = append(errs, s.Close())
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("close order statements: %w", err)
	}
	return nil
}

// Lookup returns the customer with their most recent orders, newest first,
// each with its items and refund. An openid the shop knows only from orders
// (no customer record) still gets a Customer with OpenID and Orders, because
// the orders are what the agent needs. An openid with neither is ErrNotFound.
// All reads happen in one transaction, so a concurrent import is seen
// entirely or not at all.
func (b *SQLiteBackend) Lookup(ctx context.Context, openid string) (*Customer, error) {
	limit := b.RecentOrders
	if limit <= 0 {
		limit = DefaultRecentOrders
	}
	tx, err := b.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("lookup: %w", err)
	}
	defer tx.Rollback() // read-only: nothing to undo

	c := &Customer{OpenID: openid}
	var tags string
	err = tx.StmtContext(ctx, b.lookupCustomer).QueryRowContext(ctx, openid).
		Scan(&c.Name, &c.Phone, &c.Level, &tags, &c.Note, &c.AdminURL)
	known := err == nil
	switch {
	case errors.Is(err, sql.ErrNoRows):
	case err != nil:
		return nil, fmt.Errorf("lookup customer: %w", err)
	default:
		if err := json.Unmarshal([]byte(tags), &c.Tags); err != nil {
			return nil, fmt.Errorf("lookup customer: tags: %w", err)
		}
		if len(c.Tags) == 0 {
			c.Tags = nil
		}
	}

	if c.Orders, err = b.recentOrders(ctx, tx, openid, limit); err != nil {
		return nil, err
	}
	if !known && len(c.Orders) == 0 {
		return nil, fmt.Errorf("lookup: %w", ErrNotFound)
	}
	return c, nil
}

// recentOrders reads the orders and then their items in two indexed queries.
func (b *SQLiteBackend) recentOrders(ctx context.Context, tx *sql.Tx, openid string, limit int) ([]Order, error) {
	rows, err := tx.StmtContext(ctx, b.lookupOrders).QueryContext(ctx, openid, limit)
	if err != nil {
		return nil, fmt.Errorf("lookup orders: %w", err)
	}
	defer rows.Close()
	var orders []Order
	byID := map[int64]int{}
	for rows.Next() {
		var (
			id      int64
			created string
			o       = Order{OpenID: openid}
		)
		if err := rows.Scan(&id, &o.OrderNo, &created, &o.Status, &o.AmountFen, &o.Carrier,
			&o.TrackingNo, &o.Address, &o.Refund.Status, &o.Refund.AmountFen, &o.Refund.Reason,
			&o.AdminURL); err != nil {
			return nil, fmt.Errorf("lookup orders: %w", err)
		}
		if o.CreatedAt, err = time.Parse(time.RFC3339Nano, created); err != nil {
			return nil, fmt.Errorf("lookup orders: order %s: created_at: %w", o.OrderNo, err)
		}
		byID[id] = len(orders)
		orders = append(orders, o)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("lookup orders: %w", err)
	}
	if len(orders) == 0 {
		return nil, nil
	}

	items, err := tx.StmtContext(ctx, b.lookupItems).QueryContext(ctx, openid, limit)
	if err != nil {
		return nil, fmt.Errorf("lookup order items: %w", err)
	}
	defer items.Close()
	for items.Next() {
		var (
			id int64
			it Item
		)
		if err := items.Scan(&id, &it.Title, &it.SKU, &it.Qty, &it.PriceFen); err != nil {
			return nil, fmt.Errorf("lookup order items: %w", err)
		}
		if i, ok := byID[id]; ok {
			orders[i].Items = append(orders[i].Items, it)
		}
	}
	if err := items.Err(); err != nil {
		return nil, fmt.Errorf("lookup order items: %w", err)
	}
	return orders, nil
}
