// Package embedded is the default order backend: customers and orders kept
// in kfsidebar's own SQLite database on the workstation, loaded from an
// import file (`kfsidebar orders import`, and the demo). It lets a shop
// without an API, or before one is wired, still see its customers in the
// sidebar, and it is the reference the other backends are tested against.
//
// Its import is the one place the import format is read as a whole file;
// each record is checked by package shop, which the live backends' answers
// are checked by too.
package embedded

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/kfsidebar/kfsidebar/internal/sqlitedb"
	"github.com/kfsidebar/kfsidebar/sidebar/shop"
)

// Backend is the embedded order backend: customers and orders in the
// workstation's SQLite database, loaded with Import.
//
// Times are stored twice: as unix nanoseconds, which orders and indexes
// them, and as the RFC 3339 text they were imported with, so Lookup returns
// them with their original zone offset (an order placed at 10:00 Beijing
// time reads 10:00+08:00, not 02:00Z).
//
// The database is shared with the rest of kfsidebar, so every table is
// prefixed kf_. Open it with sqlitedb.Open (WAL, a busy timeout, more than
// one connection): then lookups keep answering while an import runs.
type Backend struct {
	// RecentOrders is how many of a customer's most recent orders Lookup
	// returns. Zero means shop.DefaultRecentOrders (20). Set it before the
	// first Lookup.
	RecentOrders int

	db *sql.DB

	lookupCustomer *sql.Stmt
	lookupSummary  *sql.Stmt
	lookupOrders   *sql.Stmt
	lookupItems    *sql.Stmt

	upsertCustomer *sql.Stmt
	upsertOrder    *sql.Stmt
	deleteItems    *sql.Stmt
	insertItem     *sql.Stmt
}

var _ shop.Backend = (*Backend)(nil)

// migrations are the order tables' schema steps (see sqlitedb.Step: each
// ID names its step forever). The first ones are idempotent, because
// databases made before steps were recorded have the tables, with or
// without the columns added since their first release.
var migrations = []sqlitedb.Step{
	{ID: "create kf_customers, kf_orders, kf_order_items", Apply: sqlitedb.Exec(schema)},
	{ID: "add kf_customers.extra", Apply: sqlitedb.AddColumn("kf_customers", "extra", "TEXT NOT NULL DEFAULT '[]'")},
	{ID: "add kf_orders.tracking_event", Apply: sqlitedb.AddColumn("kf_orders", "tracking_event", "TEXT NOT NULL DEFAULT ''")},
	{ID: "add kf_orders.tracking_at", Apply: sqlitedb.AddColumn("kf_orders", "tracking_at", "TEXT NOT NULL DEFAULT ''")},
	{ID: "add kf_orders.extra", Apply: sqlitedb.AddColumn("kf_orders", "extra", "TEXT NOT NULL DEFAULT '[]'")},
}

// schema is the first step: the tables as a new database got them when
// steps began to be recorded, with the columns added before that (whose
// steps then find them there). Like every released step it never changes;
// a new column is a new step. Items hang off the order's integer id rather
// than its order_no to keep the items table and its key small. The orders
// index serves Lookup's "this openid, newest first" without a sort;
// order_no breaks ties so equal times come back in a stable order.
const schema = `
CREATE TABLE IF NOT EXISTS kf_customers (
	openid    TEXT PRIMARY KEY NOT NULL,
	name      TEXT NOT NULL,
	phone     TEXT NOT NULL DEFAULT '',
	level     TEXT NOT NULL DEFAULT '',
	tags      TEXT NOT NULL DEFAULT '[]',
	note      TEXT NOT NULL DEFAULT '',
	admin_url TEXT NOT NULL DEFAULT '',
	extra     TEXT NOT NULL DEFAULT '[]'
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
	admin_url         TEXT NOT NULL DEFAULT '',
	tracking_event    TEXT NOT NULL DEFAULT '',
	tracking_at       TEXT NOT NULL DEFAULT '',
	extra             TEXT NOT NULL DEFAULT '[]'
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
	lookupCustomerSQL = `SELECT name, phone, level, tags, note, admin_url, extra
FROM kf_customers WHERE openid = ?`

	// lookupSummarySQL summarizes all the customer's orders, not only the
	// recent ones: how many, and what they spent. Spent counts the orders
	// that were paid for (every status but pending, cancelled and closed),
	// less what was refunded.
	lookupSummarySQL = `SELECT count(*), coalesce(sum(CASE
	WHEN status IN ('pending', 'cancelled', 'closed') THEN 0
	WHEN refund_status = 'refunded' THEN max(amount_fen - refund_amount_fen, 0)
	ELSE amount_fen END), 0)
FROM kf_orders WHERE openid = ?`

	lookupOrdersSQL = `SELECT id, order_no, created_at, status, amount_fen, carrier, tracking_no,
	address, refund_status, refund_amount_fen, refund_reason, admin_url, tracking_event,
	tracking_at, extra
FROM kf_orders WHERE openid = ?
ORDER BY created_unix_ns DESC, order_no DESC LIMIT ?`

	// lookupItemsSQL repeats the orders query as a subquery so that one
	// statement fetches the items of exactly the orders returned.
	lookupItemsSQL = `SELECT order_id, title, sku, qty, price_fen FROM kf_order_items
WHERE order_id IN (SELECT id FROM kf_orders WHERE openid = ?
	ORDER BY created_unix_ns DESC, order_no DESC LIMIT ?)
ORDER BY order_id, pos`

	upsertCustomerSQL = `INSERT INTO kf_customers (openid, name, phone, level, tags, note, admin_url, extra)
VALUES (?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (openid) DO UPDATE SET name = excluded.name, phone = excluded.phone,
	level = excluded.level, tags = excluded.tags, note = excluded.note,
	admin_url = excluded.admin_url, extra = excluded.extra`

	upsertOrderSQL = `INSERT INTO kf_orders (order_no, openid, created_unix_ns, created_at, status,
	amount_fen, carrier, tracking_no, address, refund_status, refund_amount_fen, refund_reason,
	admin_url, tracking_event, tracking_at, extra)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (order_no) DO UPDATE SET openid = excluded.openid,
	created_unix_ns = excluded.created_unix_ns, created_at = excluded.created_at,
	status = excluded.status, amount_fen = excluded.amount_fen, carrier = excluded.carrier,
	tracking_no = excluded.tracking_no, address = excluded.address,
	refund_status = excluded.refund_status, refund_amount_fen = excluded.refund_amount_fen,
	refund_reason = excluded.refund_reason, admin_url = excluded.admin_url,
	tracking_event = excluded.tracking_event, tracking_at = excluded.tracking_at,
	extra = excluded.extra
RETURNING id`

	deleteItemsSQL = `DELETE FROM kf_order_items WHERE order_id = ?`

	insertItemSQL = `INSERT INTO kf_order_items (order_id, pos, title, sku, qty, price_fen)
VALUES (?, ?, ?, ?, ?, ?)`
)

// New creates or upgrades the kf_ tables (migrations) and prepares the
// statements, so a schema problem shows at start-up rather than on the
// first chat. db is opened with sqlitedb.Open; it stays owned by the
// caller.
func New(ctx context.Context, db *sql.DB) (*Backend, error) {
	if err := sqlitedb.Migrate(ctx, db, "orders", migrations); err != nil {
		return nil, fmt.Errorf("create order tables: %w", err)
	}
	b := &Backend{db: db}
	for _, p := range []struct {
		stmt **sql.Stmt
		sql  string
	}{
		{&b.lookupCustomer, lookupCustomerSQL},
		{&b.lookupSummary, lookupSummarySQL},
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
func (b *Backend) Close() error {
	var errs []error
	for _, s := range []*sql.Stmt{b.lookupCustomer, b.lookupSummary, b.lookupOrders, b.lookupItems,
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
func (b *Backend) Lookup(ctx context.Context, openid string) (*shop.Customer, error) {
	limit := b.RecentOrders
	if limit <= 0 {
		limit = shop.DefaultRecentOrders
	}
	tx, err := b.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("lookup: %w", err)
	}
	defer tx.Rollback() // read-only: nothing to undo

	c := &shop.Customer{OpenID: openid}
	var tags, extra string
	err = tx.StmtContext(ctx, b.lookupCustomer).QueryRowContext(ctx, openid).
		Scan(&c.Name, &c.Phone, &c.Level, &tags, &c.Note, &c.AdminURL, &extra)
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
		if c.Extra, err = unmarshalExtras(extra); err != nil {
			return nil, fmt.Errorf("lookup customer: extra: %w", err)
		}
	}

	if c.Orders, err = b.recentOrders(ctx, tx, openid, limit); err != nil {
		return nil, err
	}
	if !known && len(c.Orders) == 0 {
		return nil, fmt.Errorf("lookup: %w", shop.ErrNotFound)
	}
	if len(c.Orders) > 0 {
		if err := tx.StmtContext(ctx, b.lookupSummary).QueryRowContext(ctx, openid).
			Scan(&c.OrderCount, &c.TotalSpentFen); err != nil {
			return nil, fmt.Errorf("lookup order summary: %w", err)
		}
		last := c.Orders[0].CreatedAt
		c.LastOrderAt = &last
	}
	return c, nil
}

// unmarshalExtras reads an extra column: a JSON array, "[]" when empty.
func unmarshalExtras(s string) ([]shop.Extra, error) {
	var out []shop.Extra
	if err := json.Unmarshal([]byte(s), &out); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}

// marshalExtras is the extra column's value for fields already validated.
func marshalExtras(extras []shop.Extra) (string, error) {
	if len(extras) == 0 {
		return "[]", nil
	}
	b, err := json.Marshal(extras)
	return string(b), err
}

// recentOrders reads the orders and then their items in two indexed queries.
func (b *Backend) recentOrders(ctx context.Context, tx *sql.Tx, openid string, limit int) ([]shop.Order, error) {
	rows, err := tx.StmtContext(ctx, b.lookupOrders).QueryContext(ctx, openid, limit)
	if err != nil {
		return nil, fmt.Errorf("lookup orders: %w", err)
	}
	defer rows.Close()
	var orders []shop.Order
	byID := map[int64]int{}
	for rows.Next() {
		var (
			id                         int64
			created, trackingAt, extra string
			o                          = shop.Order{OpenID: openid}
		)
		if err := rows.Scan(&id, &o.OrderNo, &created, &o.Status, &o.AmountFen, &o.Carrier,
			&o.TrackingNo, &o.Address, &o.Refund.Status, &o.Refund.AmountFen, &o.Refund.Reason,
			&o.AdminURL, &o.TrackingEvent, &trackingAt, &extra); err != nil {
			return nil, fmt.Errorf("lookup orders: %w", err)
		}
		if o.CreatedAt, err = time.Parse(time.RFC3339Nano, created); err != nil {
			return nil, fmt.Errorf("lookup orders: order %s: created_at: %w", o.OrderNo, err)
		}
		if trackingAt != "" {
			t, err := time.Parse(time.RFC3339Nano, trackingAt)
			if err != nil {
				return nil, fmt.Errorf("lookup orders: order %s: tracking_at: %w", o.OrderNo, err)
			}
			o.TrackingAt = &t
		}
		if o.Extra, err = unmarshalExtras(extra); err != nil {
			return nil, fmt.Errorf("lookup orders: order %s: extra: %w", o.OrderNo, err)
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
			it shop.Item
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
