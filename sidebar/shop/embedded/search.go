package embedded

import (
	"context"
	"fmt"
	"strings"

	"github.com/kfsidebar/kfsidebar/sidebar/shop"
)

// Customer returns the customer with this id. The embedded database keys
// customers by openid, so the id is the openid.
func (b *Backend) Customer(ctx context.Context, id string) (*shop.Customer, error) {
	return b.Lookup(ctx, id)
}

// Search finds customers whose phone number ends with query (at least four
// digits: agents ask for "the last four"), who placed the order numbered
// query, or whose name contains query. Results carry no orders.
func (b *Backend) Search(ctx context.Context, query string, limit int) ([]shop.Customer, error) {
	q := strings.TrimSpace(query)
	if q == "" || limit <= 0 {
		return []shop.Customer{}, nil
	}
	phoneSuffix := ""
	if digits := strings.Map(keepDigit, q); len(digits) >= 4 && len(digits) == len(strings.ReplaceAll(strings.ReplaceAll(q, " ", ""), "-", "")) {
		phoneSuffix = digits
	}
	rows, err := b.db.QueryContext(ctx, `
		SELECT openid, name, phone, level FROM kf_customers
		WHERE (? <> '' AND replace(replace(phone, ' ', ''), '-', '') LIKE '%' || ?)
		   OR openid IN (SELECT openid FROM kf_orders WHERE order_no = ?)
		   OR instr(name, ?) > 0
		ORDER BY name LIMIT ?`, phoneSuffix, phoneSuffix, q, q, limit)
	if err != nil {
		return nil, fmt.Errorf("search customers: %w", err)
	}
	defer rows.Close()
	out := []shop.Customer{}
	for rows.Next() {
		var c shop.Customer
		if err := rows.Scan(&c.OpenID, &c.Name, &c.Phone, &c.Level); err != nil {
			return nil, fmt.Errorf("search customers: %w", err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("search customers: %w", err)
	}
	return out, nil
}

func keepDigit(r rune) rune {
	if r >= '0' && r <= '9' {
		return r
	}
	return -1
}
