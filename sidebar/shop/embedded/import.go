package embedded

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/kfsidebar/kfsidebar/internal/jsonrecord"
	"github.com/kfsidebar/kfsidebar/internal/sqlitedb"
	"github.com/kfsidebar/kfsidebar/sidebar/shop"
)

// Import file sections, also the jsonrecord.ImportError.Section values.
const (
	sectionCustomers = "customers"
	sectionOrders    = "orders"
)

// longWriteImport is how an import names itself in the database while it
// runs (see sqlitedb.AnnounceLongWrite).
const longWriteImport = "orders import"

// ImportStats says what an import did, so the CLI can tell the user.
// Records that already existed and were updated count like new ones.
type ImportStats struct{ Customers, Orders, Items int }

// Import loads an import file (JSON; ImportCSV reads CSV) in one
// transaction: all of it or, on the first bad record, none of it, so a
// half-fixed file never leaves half-updated customers. Customers are
// upserted by openid and orders by order_no; a re-imported order's items
// replace the old ones. A bad record is reported as a
// *jsonrecord.ImportError; read and database failures are returned wrapped
// as they are.
//
// The file is one JSON object with two optional arrays:
//
//	{"customers": [{"openid": "oA1…", "name": "张三", "phone": "13812345678", "level": "VIP2",
//	                "tags": ["老客户"], "note": "", "admin_url": "https://shop.example/admin/u/42"}],
//	 "orders": [{"order_no": "2026112200001", "openid": "oA1…", "created_at": "2026-11-20T10:00:00+08:00",
//	             "status": "shipped", "amount_fen": 12900,
//	             "items": [{"title": "保温杯", "sku": "CUP-1", "qty": 1, "price_fen": 12900}],
//	             "carrier": "顺丰", "tracking_no": "SF1234567890", "address": "…",
//	             "refund": {"status": "none", "amount_fen": 0, "reason": ""},
//	             "admin_url": "https://shop.example/admin/o/2026112200001"}]}
//
// Unknown keys are errors (a misspelt "amout_fen" must not import as zero),
// and so are values of the wrong JSON type. Required: customer openid (no
// whitespace) and name; order order_no (unique in the file), openid,
// created_at (RFC 3339), status, amount_fen (fen, ≥ 0) and at least one item
// with title, qty (≥ 1) and price_fen (≥ 0). Optional: phone (digits, "+",
// "-", spaces), tags, admin_url (absolute http or https URL), refund
// (missing means status "none"; its amount_fen may not exceed the order's),
// an order's latest logistics event (tracking_event, with tracking_at in
// RFC 3339), and on customers and orders "extra": up to 50 fields of the
// shop's own, each {"label", "value", "href", "copy", "mask"} (label
// required; href an http or https URL; copy offers a copy button; mask
// hides the value until revealed). An order's openid need not have a
// customer record. The customer's order count, total spent and last order
// date are computed from the orders, not imported.
//
// Order status is stored as one of
//
//	pending            待付款   (WeChat shop 10, Taobao WAIT_BUYER_PAY)
//	paid               待发货   (20, WAIT_SELLER_SEND_GOODS)
//	partially_shipped  部分发货 (21, SELLER_CONSIGNED_PART)
//	shipped            已发货   (30, WAIT_BUYER_CONFIRM_GOODS)
//	delivered          已签收   (TRADE_BUYER_SIGNED)
//	completed          已完成   (100, TRADE_FINISHED, TRADE_SUCCESS)
//	cancelled          已取消   (250, TRADE_CLOSED_BY_TAOBAO)
//	closed             已关闭   (200, TRADE_CLOSED)
//	refunding          售后中
//	refunded           已退款
//
// and the file may use any spelling in that table: the English name in any
// case with "_", "-" or " ", "canceled", the Chinese label, the WeChat shop
// (微信小店 / 视频号小店) numeric code as a string, or the Taobao-style
// trade status that shop systems export. Refund status is one of none,
// requested, approved, returned, refunded, rejected.
//
// The file is read as a stream, one record at a time, so a large export
// needs memory for one record (plus the set of seen ids), not for the file.
//
// The transaction holds the database's write lock until it ends (7.6 s
// for 50 MB), so the import announces itself first
// (sqlitedb.AnnounceLongWrite): a running proxy's reveals, which must be
// recorded before they are shown, wait a moment and then tell the agent
// that an import is running instead of failing for no stated reason.
func (b *Backend) Import(ctx context.Context, r io.Reader) (ImportStats, error) {
	lw, err := sqlitedb.AnnounceLongWrite(ctx, b.db, longWriteImport)
	if err != nil {
		return ImportStats{}, fmt.Errorf("import: %w", err)
	}
	defer lw.Close() // after the rollback below: it needs the write lock
	tx, err := b.db.BeginTx(ctx, nil)
	if err != nil {
		return ImportStats{}, fmt.Errorf("import: %w", err)
	}
	defer tx.Rollback() // after Commit a no-op; otherwise undoes everything

	imp := &importer{
		ctx:            ctx,
		upsertCustomer: tx.StmtContext(ctx, b.upsertCustomer),
		upsertOrder:    tx.StmtContext(ctx, b.upsertOrder),
		deleteItems:    tx.StmtContext(ctx, b.deleteItems),
		insertItem:     tx.StmtContext(ctx, b.insertItem),
		customers:      map[string]int{},
		orders:         map[string]int{},
	}
	if err := imp.read(r); err != nil {
		return ImportStats{}, err
	}
	if err := lw.EndIn(ctx, tx); err != nil {
		return ImportStats{}, fmt.Errorf("import: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return ImportStats{}, fmt.Errorf("import: commit: %w", err)
	}
	return imp.stats, nil
}

// importer is one Import's state: the transaction's statements and the ids
// seen so far, for duplicate checks.
type importer struct {
	ctx                                                  context.Context
	upsertCustomer, upsertOrder, deleteItems, insertItem *sql.Stmt

	customers map[string]int // openid → index of its record
	orders    map[string]int // order_no → index of its record
	stats     ImportStats
}

// countingReader remembers how much was read and the reader's own error, to
// tell a truncated file (with its length) from a failing disk.
type countingReader struct {
	r   io.Reader
	n   int64
	err error
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	if err != nil {
		c.err = err
	}
	return n, err
}

// read walks the top-level object token by token and decodes one record at
// a time, writing each as soon as it is valid.
func (imp *importer) read(r io.Reader) error {
	in := &countingReader{r: r}
	dec := json.NewDecoder(in)
	dec.UseNumber() // a top-level 1e999 is a wrong value, not a float overflow
	tok, err := dec.Token()
	if err != nil {
		return jsonError(in, "", 0, err)
	}
	if tok != json.Delim('{') {
		return &jsonrecord.ImportError{Reason: fmt.Sprintf(
			`the file must be one JSON object like {"customers": [...], "orders": [...]} (got %s)`,
			describeToken(tok))}
	}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return jsonError(in, "", 0, err)
		}
		key, _ := tok.(string) // the decoder only yields strings as object keys
		if key != sectionCustomers && key != sectionOrders {
			return &jsonrecord.ImportError{Field: key, Reason: `unknown top-level key; expected "customers" or "orders"`}
		}
		if seen[key] {
			return &jsonrecord.ImportError{Field: key, Reason: "appears twice; put all its records in one array"}
		}
		seen[key] = true
		if err := imp.section(in, dec, key); err != nil {
			return err
		}
	}
	if _, err := dec.Token(); err != nil {
		return jsonError(in, "", 0, err)
	}
	end := dec.InputOffset()
	if _, err := dec.Token(); err != io.EOF {
		if in.err != nil && in.err != io.EOF {
			return fmt.Errorf("import: read: %w", in.err)
		}
		return &jsonrecord.ImportError{Reason: fmt.Sprintf(
			"the JSON object ends at byte %d but more data follows; the file must hold exactly one object", end)}
	}
	return nil
}

// section reads one top-level array; null counts as empty.
func (imp *importer) section(in *countingReader, dec *json.Decoder, key string) error {
	tok, err := dec.Token()
	if err != nil {
		return jsonError(in, "", 0, err)
	}
	if tok == nil {
		return nil
	}
	if tok != json.Delim('[') {
		return &jsonrecord.ImportError{Field: key, Reason: fmt.Sprintf("must be an array of records (got %s)", describeToken(tok))}
	}
	i := 0
	for ; dec.More(); i++ {
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return jsonError(in, key, i, err)
		}
		if key == sectionCustomers {
			err = imp.customer(i, raw)
		} else {
			err = imp.order(i, raw)
		}
		if err != nil {
			return err
		}
	}
	if _, err := dec.Token(); err != nil {
		return jsonError(in, key, i, err)
	}
	return nil
}

// jsonError turns a decoder error into a jsonrecord.ImportError with the
// byte offset or the length of a truncated file; a failing reader stays a
// plain error.
func jsonError(in *countingReader, section string, index int, err error) error {
	if in.err != nil && in.err != io.EOF {
		return fmt.Errorf("import: read: %w", in.err)
	}
	e := &jsonrecord.ImportError{Section: section, Index: index}
	var syn *json.SyntaxError
	switch {
	case errors.As(err, &syn):
		e.Reason = fmt.Sprintf("invalid JSON at byte %d: %v", syn.Offset, syn)
	case in.n == 0 && errors.Is(err, io.EOF):
		e.Reason = `the file is empty; expected a JSON object like {"customers": [...], "orders": [...]}`
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		e.Reason = fmt.Sprintf("the file ends at byte %d before the JSON is complete; is it truncated?", in.n)
	default:
		return fmt.Errorf("import: %w", err)
	}
	return e
}

// describeToken names a top-level JSON token for an error message.
func describeToken(tok json.Token) string {
	switch tok {
	case json.Delim('{'):
		return "an object"
	case json.Delim('['):
		return "an array"
	case nil:
		return "null"
	}
	switch tok.(type) {
	case string:
		return "a string"
	case bool:
		return "a boolean"
	default:
		return "a number"
	}
}

func (imp *importer) customer(i int, raw json.RawMessage) error {
	fail := func(e *jsonrecord.FieldError) error {
		return &jsonrecord.ImportError{Section: sectionCustomers, Index: i, Field: e.Field, Reason: e.Reason}
	}
	c, e := shop.DecodeImportCustomer(raw)
	if e != nil {
		return fail(e)
	}
	if first, dup := imp.customers[c.OpenID]; dup {
		return fail(jsonrecord.Errorf("openid", "duplicate of customers[%d]; each customer must appear once", first))
	}
	imp.customers[c.OpenID] = i

	tags := []byte("[]")
	if len(c.Tags) > 0 {
		var err error
		if tags, err = json.Marshal(c.Tags); err != nil {
			return fmt.Errorf("import customers[%d]: tags: %w", i, err)
		}
	}
	extra, err := marshalExtras(c.Extra)
	if err != nil {
		return fmt.Errorf("import customers[%d]: extra: %w", i, err)
	}
	if _, err := imp.upsertCustomer.ExecContext(imp.ctx, c.OpenID, c.Name, c.Phone, c.Level,
		string(tags), c.Note, c.AdminURL, extra); err != nil {
		return fmt.Errorf("import customers[%d]: %w", i, err)
	}
	imp.stats.Customers++
	return nil
}

func (imp *importer) order(i int, raw json.RawMessage) error {
	fail := func(e *jsonrecord.FieldError) error {
		return &jsonrecord.ImportError{Section: sectionOrders, Index: i, Field: e.Field, Reason: e.Reason}
	}
	o, e := shop.DecodeImportOrder(raw)
	if e != nil {
		return fail(e)
	}
	if first, dup := imp.orders[o.OrderNo]; dup {
		return fail(jsonrecord.Errorf("order_no", "duplicate of orders[%d]; each order_no must appear once", first))
	}
	imp.orders[o.OrderNo] = i

	extra, err := marshalExtras(o.Extra)
	if err != nil {
		return fmt.Errorf("import orders[%d]: extra: %w", i, err)
	}
	trackingAt := ""
	if o.TrackingAt != nil {
		trackingAt = o.TrackingAt.Format(time.RFC3339Nano)
	}
	var id int64
	if err := imp.upsertOrder.QueryRowContext(imp.ctx, o.OrderNo, o.OpenID, o.CreatedAt.UnixNano(),
		o.CreatedAt.Format(time.RFC3339Nano), o.Status, o.AmountFen, o.Carrier, o.TrackingNo,
		o.Address, o.Refund.Status, o.Refund.AmountFen, o.Refund.Reason, o.AdminURL,
		o.TrackingEvent, trackingAt, extra).Scan(&id); err != nil {
		return fmt.Errorf("import orders[%d]: %w", i, err)
	}
	if _, err := imp.deleteItems.ExecContext(imp.ctx, id); err != nil {
		return fmt.Errorf("import orders[%d]: replace items: %w", i, err)
	}
	for pos, it := range o.Items {
		if _, err := imp.insertItem.ExecContext(imp.ctx, id, pos, it.Title, it.SKU, it.Qty, it.PriceFen); err != nil {
			return fmt.Errorf("import orders[%d].items[%d]: %w", i, pos, err)
		}
	}
	imp.stats.Orders++
	imp.stats.Items += len(o.Items)
	return nil
}
