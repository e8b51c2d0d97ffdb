package shopsql

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5/pgconn"
)

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
func (b *Backend) Check(ctx context.Context) error {
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
