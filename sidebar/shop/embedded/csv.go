package embedded

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/kfsidebar/kfsidebar/internal/jsonrecord"
)

// CSV import: what a shop exports from Excel, WPS or its order system, one
// row per order item (or per customer), read into the JSON import format
// and imported by Import, all or nothing. The first row names the columns,
// in English (the JSON keys) or in Chinese; the columns a file lacks are
// left out. Rows with the same order_no are one order: its fields come
// from its first row, and each row with a title adds an item. A row with
// an openid and a name is also (the first time) a customer. Amounts are in
// yuan ("129.00", "¥1,299.5") in the 金额/单价 columns, or in fen in
// amount_fen/price_fen; times are RFC 3339 or Excel's "2026-11-20 10:00"
// and "2026/11/20 10:00", in this computer's time zone. Tags are separated
// by ";", "；", "、" or "，".

// csvColumns maps every header kfsidebar knows to its field.
var csvColumns = map[string]string{}

func init() {
	for field, names := range map[string][]string{
		"openid":      {"openid", "用户openid", "fans_openid"},
		"name":        {"name", "姓名", "客户", "客户姓名", "客户名称", "收货人"},
		"phone":       {"phone", "手机", "手机号", "电话", "联系电话"},
		"level":       {"level", "等级", "会员等级"},
		"tags":        {"tags", "标签"},
		"note":        {"note", "备注", "客户备注"},
		"order_no":    {"order_no", "订单号", "订单编号"},
		"created_at":  {"created_at", "下单时间", "创建时间", "订单时间"},
		"status":      {"status", "状态", "订单状态"},
		"amount_fen":  {"amount_fen", "金额(分)", "金额（分）"},
		"amount":      {"amount", "金额", "订单金额", "实付金额", "实付款"},
		"title":       {"title", "商品", "商品名称", "宝贝标题"},
		"sku":         {"sku", "商品编码", "规格编码"},
		"qty":         {"qty", "数量", "购买数量"},
		"price_fen":   {"price_fen", "单价(分)", "单价（分）"},
		"price":       {"price", "单价", "商品单价"},
		"carrier":     {"carrier", "快递公司", "物流公司"},
		"tracking_no": {"tracking_no", "快递单号", "运单号", "物流单号"},
		"address":     {"address", "收货地址", "地址"},
	} {
		for _, n := range names {
			csvColumns[strings.ToLower(n)] = field
		}
	}
}

// csvRows remembers which lines of the file became which record, to name
// the line when Import refuses a record.
type csvRows struct {
	customers []int   // line of each customer record
	orders    [][]int // lines of each order record: its first, then one per item
}

// ImportCSV loads a CSV file (see above) into the database, all or
// nothing, like Import. A bad row is a *jsonrecord.ImportError whose
// Reason names the line and the column.
func (b *Backend) ImportCSV(ctx context.Context, r io.Reader) (ImportStats, error) {
	doc, rows, err := csvToImport(r)
	if err != nil {
		return ImportStats{}, err
	}
	stats, err := b.Import(ctx, bytes.NewReader(doc))
	var ie *jsonrecord.ImportError
	if errors.As(err, &ie) {
		return stats, rows.locate(ie)
	}
	return stats, err
}

// locate turns Import's record position into the CSV line.
func (rows csvRows) locate(ie *jsonrecord.ImportError) error {
	line := 0
	switch {
	case ie.Section == sectionCustomers && ie.Index < len(rows.customers):
		line = rows.customers[ie.Index]
	case ie.Section == sectionOrders && ie.Index < len(rows.orders):
		lines := rows.orders[ie.Index]
		line = lines[0]
		var item int
		if _, err := fmt.Sscanf(ie.Field, "items[%d]", &item); err == nil && item+1 < len(lines) {
			line = lines[item+1]
		}
	default:
		return ie
	}
	field := ie.Field
	if i := strings.Index(field, "]."); strings.HasPrefix(field, "items[") && i >= 0 {
		field = field[i+2:]
	}
	return &jsonrecord.ImportError{Reason: fmt.Sprintf("line %d, column %s: %s", line, field, ie.Reason)}
}

// csvError is a bad cell, by line and column.
func csvError(line int, column, format string, args ...any) error {
	return &jsonrecord.ImportError{Reason: fmt.Sprintf("line %d, column %s: %s", line, column, fmt.Sprintf(format, args...))}
}

// csvToImport reads the CSV file into the JSON import document.
func csvToImport(r io.Reader) ([]byte, csvRows, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1 // Excel leaves trailing empty cells out
	cr.LazyQuotes = true
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, csvRows{}, &jsonrecord.ImportError{Reason: "the file is empty; the first line must name the columns, e.g. openid,name,order_no,…"}
	}
	if err != nil {
		return nil, csvRows{}, csvReadError(err)
	}
	col := map[string]int{}
	for i, h := range header {
		h = strings.ToLower(strings.TrimSpace(h))
		f, ok := csvColumns[h]
		if !ok {
			return nil, csvRows{}, &jsonrecord.ImportError{Reason: fmt.Sprintf("line 1: unknown column %q; docs/import.md lists the columns (openid, name, order_no, title, qty, 金额, …)", header[i])}
		}
		if _, dup := col[f]; dup {
			return nil, csvRows{}, &jsonrecord.ImportError{Reason: fmt.Sprintf("line 1: column %q is there twice", header[i])}
		}
		col[f] = i
	}
	if _, ok := col["openid"]; !ok {
		return nil, csvRows{}, &jsonrecord.ImportError{Reason: "line 1: no openid column; every row needs the customer's openid"}
	}

	var (
		rows      csvRows
		customers []map[string]any
		orders    []map[string]any
		seenCust  = map[string]bool{}
		orderAt   = map[string]int{}
	)
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, rows, csvReadError(err)
		}
		line, _ := cr.FieldPos(0)
		cell := func(f string) string {
			if i, ok := col[f]; ok && i < len(rec) {
				return strings.TrimSpace(rec[i])
			}
			return ""
		}
		if strings.TrimSpace(strings.Join(rec, "")) == "" {
			continue // a blank row
		}
		openid := cell("openid")
		if name := cell("name"); name != "" && openid != "" && !seenCust[openid] {
			seenCust[openid] = true
			c := map[string]any{"openid": openid, "name": name}
			for _, f := range []string{"phone", "level", "note"} {
				if v := cell(f); v != "" {
					c[f] = v
				}
			}
			if v := cell("tags"); v != "" {
				c["tags"] = splitTags(v)
			}
			customers = append(customers, c)
			rows.customers = append(rows.customers, line)
		}
		orderNo := cell("order_no")
		if orderNo == "" {
			continue
		}
		i, ok := orderAt[orderNo]
		if !ok {
			o := map[string]any{"order_no": orderNo, "openid": openid, "items": []map[string]any{}}
			for _, f := range []string{"status", "carrier", "tracking_no", "address"} {
				if v := cell(f); v != "" {
					o[f] = v
				}
			}
			if v := cell("created_at"); v != "" {
				t, err := parseCSVTime(v)
				if err != nil {
					return nil, rows, csvError(line, header[col["created_at"]], "%v", err)
				}
				o["created_at"] = t
			}
			if err := moneyCell(o, "amount_fen", cell, col, header, line, "amount_fen", "amount"); err != nil {
				return nil, rows, err
			}
			i = len(orders)
			orderAt[orderNo] = i
			orders = append(orders, o)
			rows.orders = append(rows.orders, []int{line})
		}
		if title := cell("title"); title != "" {
			it := map[string]any{"title": title}
			if v := cell("sku"); v != "" {
				it["sku"] = v
			}
			qty := 1
			if v := cell("qty"); v != "" {
				n, err := strconv.Atoi(strings.TrimSuffix(v, ".0"))
				if err != nil {
					return nil, rows, csvError(line, header[col["qty"]], "want a whole number (got %q)", v)
				}
				qty = n
			}
			it["qty"] = qty
			if err := moneyCell(it, "price_fen", cell, col, header, line, "price_fen", "price"); err != nil {
				return nil, rows, err
			}
			orders[i]["items"] = append(orders[i]["items"].([]map[string]any), it)
			rows.orders[i] = append(rows.orders[i], line)
		}
	}
	doc, err := json.Marshal(map[string]any{"customers": nonNil(customers), "orders": nonNil(orders)})
	return doc, rows, err
}

func nonNil(v []map[string]any) []map[string]any {
	if v == nil {
		return []map[string]any{}
	}
	return v
}

// csvReadError says where the CSV itself is broken.
func csvReadError(err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return &jsonrecord.ImportError{Reason: fmt.Sprintf("line %d: not valid CSV: %v", pe.Line, pe.Err)}
	}
	return fmt.Errorf("import: read: %w", err)
}

// moneyCell sets dst[key] in fen from the fen column or, failing that,
// the yuan column.
func moneyCell(dst map[string]any, key string, cell func(string) string, col map[string]int, header []string, line int, fenCol, yuanCol string) error {
	if v := cell(fenCol); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return csvError(line, header[col[fenCol]], "want a whole number of fen (got %q)", v)
		}
		dst[key] = n
		return nil
	}
	if v := cell(yuanCol); v != "" {
		n, err := yuanToFen(v)
		if err != nil {
			return csvError(line, header[col[yuanCol]], "%v", err)
		}
		dst[key] = n
	}
	return nil
}

// yuanToFen reads an amount in yuan exactly, as Excel shows it: "129",
// "129.5", "¥1,299.00", "-3.10".
func yuanToFen(s string) (int64, error) {
	v := strings.NewReplacer(",", "", "，", "", "¥", "", "￥", "", "元", "", " ", "").Replace(s)
	neg := strings.HasPrefix(v, "-")
	v = strings.TrimPrefix(v, "-")
	whole, frac, _ := strings.Cut(v, ".")
	if whole == "" || len(frac) > 2 || strings.Trim(whole+frac, "0123456789") != "" {
		return 0, fmt.Errorf("want an amount in yuan like 129.00 (got %q)", s)
	}
	frac = (frac + "00")[:2]
	y, err := strconv.ParseInt(whole, 10, 64)
	if err != nil || y > 1<<50 {
		return 0, fmt.Errorf("want an amount in yuan like 129.00 (got %q)", s)
	}
	f, _ := strconv.ParseInt(frac, 10, 64)
	n := y*100 + f
	if neg {
		n = -n
	}
	return n, nil
}

// csvTimeLayouts are how Excel and shop systems write a time.
var csvTimeLayouts = []string{
	"2006-01-02 15:04:05", "2006-01-02 15:04", "2006/1/2 15:04:05", "2006/1/2 15:04",
	"2006-01-02", "2006/1/2", "2006-01-02T15:04:05",
}

// parseCSVTime reads a time as RFC 3339, or in one of Excel's layouts in
// this computer's time zone, and returns it as RFC 3339.
func parseCSVTime(s string) (string, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.Format(time.RFC3339), nil
	}
	for _, l := range csvTimeLayouts {
		if t, err := time.ParseInLocation(l, s, time.Local); err == nil {
			return t.Format(time.RFC3339), nil
		}
	}
	return "", fmt.Errorf("want a time like 2026-11-20 10:00 or 2026-11-20T10:00:00+08:00 (got %q)", s)
}

// splitTags splits a tags cell.
func splitTags(s string) []string {
	var tags []string
	for _, t := range strings.FieldsFunc(s, func(r rune) bool { return strings.ContainsRune(";；、，,", r) }) {
		if t = strings.TrimSpace(t); t != "" {
			tags = append(tags, t)
		}
	}
	return tags
}
