package shop

import (
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/kfsidebar/kfsidebar/internal/jsonrecord"
)

// importCustomerRecord is a customer of the import file: the profile and
// the shop's own extra fields. The order summary (order_count, …) is not
// imported: it is computed from the imported orders.
type importCustomerRecord struct {
	customerRecord
	Extra []json.RawMessage `json:"extra"`
}

// DecodeImportCustomer checks one customer record of an import file: the
// profile and the shop's own extra fields, no orders and no order summary
// (the embedded backend computes that from the orders). A bad record is a
// FieldError naming the field.
func DecodeImportCustomer(raw json.RawMessage) (*Customer, *jsonrecord.FieldError) {
	var rec importCustomerRecord
	if e := jsonrecord.Decode(raw, &rec); e != nil {
		return nil, e
	}
	if e := rec.validate(); e != nil {
		return nil, e
	}
	extras, e := validateExtras(rec.Extra)
	if e != nil {
		return nil, e
	}
	return &Customer{OpenID: rec.OpenID, Name: rec.Name, Phone: rec.Phone, Level: rec.Level,
		Tags: rec.Tags, Note: rec.Note, AdminURL: rec.AdminURL, Extra: extras}, nil
}

// DecodeImportOrder checks one order record of an import file and returns
// it with its statuses normalized. An imported order is a backend's order
// (see DecodeCustomer) with its openid required.
func DecodeImportOrder(raw json.RawMessage) (Order, *jsonrecord.FieldError) {
	return validateContractOrder(raw, "")
}

type customerRecord struct {
	OpenID   string   `json:"openid"`
	Name     string   `json:"name"`
	Phone    string   `json:"phone"`
	Level    string   `json:"level"`
	Tags     []string `json:"tags"`
	Note     string   `json:"note"`
	AdminURL string   `json:"admin_url"`
}

// orderRecord keeps items and refund raw so that each is decoded on its own
// and its errors carry its path ("items[2].qty"); numbers are pointers so
// that a missing amount is an error rather than a silent zero.
type orderRecord struct {
	OrderNo    string            `json:"order_no"`
	OpenID     string            `json:"openid"`
	CreatedAt  string            `json:"created_at"`
	Status     string            `json:"status"`
	AmountFen  *int64            `json:"amount_fen"`
	Items      []json.RawMessage `json:"items"`
	Carrier    string            `json:"carrier"`
	TrackingNo string            `json:"tracking_no"`
	Address    string            `json:"address"`
	Refund     json.RawMessage   `json:"refund"`
	AdminURL   string            `json:"admin_url"`
}

type itemRecord struct {
	Title    string `json:"title"`
	SKU      string `json:"sku"`
	Qty      *int   `json:"qty"`
	PriceFen *int64 `json:"price_fen"`
}

type refundRecord struct {
	Status    string `json:"status"`
	AmountFen *int64 `json:"amount_fen"`
	Reason    string `json:"reason"`
}

func (rec *customerRecord) validate() *jsonrecord.FieldError {
	if e := checkOpenID(rec.OpenID); e != nil {
		return e
	}
	return rec.validateProfile()
}

// validateProfile checks everything but the openid.
func (rec *customerRecord) validateProfile() *jsonrecord.FieldError {
	if strings.TrimSpace(rec.Name) == "" {
		return jsonrecord.Errorf("name", "required: the customer's name as the shop knows it")
	}
	if i := strings.IndexFunc(rec.Phone, func(r rune) bool {
		return !(r >= '0' && r <= '9' || r == '+' || r == '-' || r == ' ')
	}); i >= 0 {
		bad, _ := utf8.DecodeRuneInString(rec.Phone[i:])
		return jsonrecord.Errorf("phone", `must contain only digits, "+", "-" and spaces (found %q)`, bad)
	}
	for i, t := range rec.Tags {
		if strings.TrimSpace(t) == "" {
			return jsonrecord.Errorf(fmt.Sprintf("tags[%d]", i), "must not be empty")
		}
	}
	return checkURL("admin_url", rec.AdminURL)
}

// Time bounds for created_at: UnixNano, the sort key, is defined from 1678
// to 2262, and a shop's orders are well inside 1970–2200.
const minOrderYear, maxOrderYear = 1970, 2200

// exampleTime is the created_at shown to the user when theirs is wrong.
const exampleTime = "2026-11-20T10:00:00+08:00"

// validate checks the fields in file-format order and returns the order
// with its status normalized.
func (rec *orderRecord) validate() (Order, *jsonrecord.FieldError) {
	o := Order{OrderNo: rec.OrderNo, OpenID: rec.OpenID, Carrier: rec.Carrier,
		TrackingNo: rec.TrackingNo, Address: rec.Address, AdminURL: rec.AdminURL}
	if strings.TrimSpace(rec.OrderNo) == "" {
		return o, jsonrecord.Errorf("order_no", "required: the shop's order number")
	}
	if e := checkOpenID(rec.OpenID); e != nil {
		return o, e
	}
	if rec.CreatedAt == "" {
		return o, jsonrecord.Errorf("created_at", "required: an RFC 3339 time like %q", exampleTime)
	}
	t, err := time.Parse(time.RFC3339, rec.CreatedAt)
	if err != nil {
		return o, jsonrecord.Errorf("created_at", "must be an RFC 3339 time like %q (got %q)", exampleTime, rec.CreatedAt)
	}
	if t.Year() < minOrderYear || t.Year() > maxOrderYear {
		return o, jsonrecord.Errorf("created_at", "must be between %d and %d (got %q)", minOrderYear, maxOrderYear, rec.CreatedAt)
	}
	o.CreatedAt = t
	if rec.Status == "" {
		return o, jsonrecord.Errorf("status", "required: one of %s", strings.Join(canonicalOrderStatuses, ", "))
	}
	var ok bool
	if o.Status, ok = normalizeOrderStatus(rec.Status); !ok {
		return o, jsonrecord.Errorf("status", "must be one of %s, or a Chinese label, WeChat shop code or Taobao-style status for one of them (got %q)",
			strings.Join(canonicalOrderStatuses, ", "), rec.Status)
	}
	if rec.AmountFen == nil {
		return o, jsonrecord.Errorf("amount_fen", "required: the amount paid in fen (1 yuan = 100 fen)")
	}
	if o.AmountFen = *rec.AmountFen; o.AmountFen < 0 {
		return o, jsonrecord.Errorf("amount_fen", "must not be negative (got %d)", o.AmountFen)
	}
	if len(rec.Items) == 0 {
		return o, jsonrecord.Errorf("items", "must list at least one item")
	}
	o.Items = make([]Item, len(rec.Items))
	for i, raw := range rec.Items {
		var e *jsonrecord.FieldError
		if o.Items[i], e = validateItem(raw); e != nil {
			return o, e.Within(fmt.Sprintf("items[%d]", i))
		}
	}
	var e *jsonrecord.FieldError
	if o.Refund, e = validateRefund(rec.Refund, o.AmountFen); e != nil {
		return o, e.Within("refund")
	}
	return o, checkURL("admin_url", rec.AdminURL)
}

func validateItem(raw json.RawMessage) (Item, *jsonrecord.FieldError) {
	var rec itemRecord
	if e := jsonrecord.Decode(raw, &rec); e != nil {
		return Item{}, e
	}
	it := Item{Title: rec.Title, SKU: rec.SKU}
	if strings.TrimSpace(rec.Title) == "" {
		return it, jsonrecord.Errorf("title", "required: the product name")
	}
	if rec.Qty == nil {
		return it, jsonrecord.Errorf("qty", "required: a positive integer")
	}
	if it.Qty = *rec.Qty; it.Qty < 1 {
		return it, jsonrecord.Errorf("qty", "must be a positive integer (got %d)", it.Qty)
	}
	if rec.PriceFen == nil {
		return it, jsonrecord.Errorf("price_fen", "required: the unit price in fen (use 0 for a free item)")
	}
	if it.PriceFen = *rec.PriceFen; it.PriceFen < 0 {
		return it, jsonrecord.Errorf("price_fen", "must not be negative (got %d)", it.PriceFen)
	}
	return it, nil
}

func validateRefund(raw json.RawMessage, orderFen int64) (Refund, *jsonrecord.FieldError) {
	if len(raw) == 0 || string(raw) == "null" {
		return Refund{Status: "none"}, nil
	}
	var rec refundRecord
	if e := jsonrecord.Decode(raw, &rec); e != nil {
		return Refund{}, e
	}
	rf := Refund{Status: strings.ToLower(strings.TrimSpace(rec.Status)), Reason: rec.Reason}
	if rf.Status == "" {
		return rf, jsonrecord.Errorf("status", "required: one of %s", strings.Join(refundStatuses, ", "))
	}
	if !slices.Contains(refundStatuses, rf.Status) {
		return rf, jsonrecord.Errorf("status", "must be one of %s (got %q)", strings.Join(refundStatuses, ", "), rec.Status)
	}
	if rec.AmountFen != nil {
		rf.AmountFen = *rec.AmountFen
	}
	if rf.AmountFen < 0 {
		return rf, jsonrecord.Errorf("amount_fen", "must not be negative (got %d)", rf.AmountFen)
	}
	if rf.AmountFen > orderFen {
		return rf, jsonrecord.Errorf("amount_fen", "must not exceed the order's amount_fen %d (got %d)", orderFen, rf.AmountFen)
	}
	return rf, nil
}

func checkOpenID(openid string) *jsonrecord.FieldError {
	if openid == "" {
		return jsonrecord.Errorf("openid", "required: the user's openid in the mini-program")
	}
	if strings.IndexFunc(openid, unicode.IsSpace) >= 0 {
		return jsonrecord.Errorf("openid", "must not contain whitespace (got %q)", openid)
	}
	return nil
}

// checkURL accepts "" or an absolute http(s) URL: a link in the sidebar
// must never be javascript: or relative to the console.
func checkURL(field, raw string) *jsonrecord.FieldError {
	if raw == "" {
		return nil
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return jsonrecord.Errorf(field, "must be an absolute http(s) URL like %q (got %q)",
			"https://shop.example/admin/u/42", raw)
	}
	return nil
}
