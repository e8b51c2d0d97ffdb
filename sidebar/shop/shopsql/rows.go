package shopsql

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/kfsidebar/kfsidebar/sidebar/shop"
)

// row is one result row: the JSON values by column name, and the values
// as the driver gave them (the customer's id is bound again as it came).
type row struct {
	values jsonRow
	raw    map[string]any
}

// jsonRow is a row as a JSON object, NULL columns left out.
type jsonRow map[string]any

// query runs q and converts up to max rows (0: all) by column name.
func (b *Backend) query(ctx context.Context, tx *sql.Tx, q *namedQuery, params map[string]any, max int) ([]row, error) {
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
