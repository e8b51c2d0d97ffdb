package shop

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/kfsidebar/kfsidebar/internal/jsonrecord"
)

// The contract is the Customer JSON every order backend answers with: the
// import format's customer with its orders inside ("orders": [...]) plus the
// fields only a live backend knows (id, the order summary, extra fields,
// the latest tracking event). The HTTP backend decodes its answers with it
// and the SQL backend its rows (as JSON objects keyed by column name), so a
// shop gets the same error, naming the field, whichever way it plugs in.

// contractCustomerRecord is a customer as a backend answers it.
type contractCustomerRecord struct {
	customerRecord
	ID            string            `json:"id"`
	OrderCount    *int              `json:"order_count"`
	TotalSpentFen *int64            `json:"total_spent_fen"`
	LastOrderAt   string            `json:"last_order_at"`
	Extra         []json.RawMessage `json:"extra"`
	Orders        []json.RawMessage `json:"orders"`
}

// contractOrderRecord is an order inside a backend's customer; its openid
// may be left out (it is the customer's).
type contractOrderRecord struct {
	orderRecord
	TrackingEvent string            `json:"tracking_event"`
	TrackingAt    string            `json:"tracking_at"`
	Extra         []json.RawMessage `json:"extra"`
}

type extraRecord struct {
	Label string `json:"label"`
	Value string `json:"value"`
	Href  string `json:"href"`
	Copy  bool   `json:"copy"`
	Mask  bool   `json:"mask"`
}

// Limits that keep one customer card readable and one answer small.
const (
	maxExtras      = 50
	maxExtraLength = 1000
)

// ContractError says which field of a backend's answer breaks the contract,
// e.g. "orders[2].items[0].qty: must be a positive integer (got 0)", so the
// shop's developer can fix their API or query.
type ContractError struct {
	// Field is the JSON path within the customer ("" for the whole
	// answer); for the SQL backend it is also the column name.
	Field string
	// Reason says what is wrong and what was expected.
	Reason string
}

// Error reads like "orders[2].status: must be one of …".
func (e *ContractError) Error() string {
	if e.Field == "" {
		return e.Reason
	}
	return e.Field + ": " + e.Reason
}

// contractError is a record's error as a backend's answer reports it.
func contractError(e *jsonrecord.FieldError) *ContractError {
	return &ContractError{Field: e.Field, Reason: e.Reason}
}

// DecodeCustomer validates one customer object of a live backend's answer
// (the Customer JSON, or an SQL row as a JSON object keyed by column name)
// and returns it with statuses normalized. openid, when not empty, is the
// openid that was asked for: an answer without one gets it. A customer
// that breaks the contract is a *ContractError naming the field.
func DecodeCustomer(raw []byte, openid string) (*Customer, error) {
	var rec contractCustomerRecord
	if e := jsonrecord.Decode(raw, &rec); e != nil {
		return nil, contractError(e)
	}
	if rec.OpenID == "" {
		rec.OpenID = openid
	}
	c, e := rec.validate()
	if e != nil {
		return nil, contractError(e)
	}
	return c, nil
}

func (rec *contractCustomerRecord) validate() (*Customer, *jsonrecord.FieldError) {
	c := &Customer{ID: rec.ID, OpenID: rec.OpenID, Name: rec.Name, Phone: rec.Phone,
		Level: rec.Level, Tags: rec.Tags, Note: rec.Note, AdminURL: rec.AdminURL}
	if len(c.Tags) == 0 {
		c.Tags = nil
	}
	switch {
	case rec.OpenID == "" && strings.TrimSpace(rec.ID) == "":
		return nil, jsonrecord.Errorf("openid", `required: the user's openid in the mini-program (or the shop's own "id" for a customer without one)`)
	case rec.OpenID != "":
		// A customer the shop knows without an openid (found by phone)
		// is named by its id instead.
		if e := checkOpenID(rec.OpenID); e != nil {
			return nil, e
		}
	}
	if e := rec.validateProfile(); e != nil {
		return nil, e
	}
	if rec.OrderCount != nil {
		if c.OrderCount = *rec.OrderCount; c.OrderCount < 0 {
			return nil, jsonrecord.Errorf("order_count", "must not be negative (got %d)", c.OrderCount)
		}
	}
	if rec.TotalSpentFen != nil {
		if c.TotalSpentFen = *rec.TotalSpentFen; c.TotalSpentFen < 0 {
			return nil, jsonrecord.Errorf("total_spent_fen", "must not be negative (got %d)", c.TotalSpentFen)
		}
	}
	var e *jsonrecord.FieldError
	if c.LastOrderAt, e = optionalTime("last_order_at", rec.LastOrderAt); e != nil {
		return nil, e
	}
	if c.Extra, e = validateExtras(rec.Extra); e != nil {
		return nil, e
	}
	seen := make(map[string]int, len(rec.Orders))
	for i, raw := range rec.Orders {
		o, e := validateContractOrder(raw, c.OpenID)
		if e != nil {
			return nil, e.Within(fmt.Sprintf("orders[%d]", i))
		}
		if first, dup := seen[o.OrderNo]; dup {
			return nil, jsonrecord.Errorf(fmt.Sprintf("orders[%d].order_no", i), "duplicate of orders[%d]; each order_no must appear once", first)
		}
		seen[o.OrderNo] = i
		c.Orders = append(c.Orders, o)
	}
	return c, nil
}

func validateContractOrder(raw json.RawMessage, openid string) (Order, *jsonrecord.FieldError) {
	var rec contractOrderRecord
	if e := jsonrecord.Decode(raw, &rec); e != nil {
		return Order{}, e
	}
	if rec.OpenID == "" {
		rec.OpenID = openid
	}
	o, e := rec.orderRecord.validate()
	if e != nil {
		return o, e
	}
	o.TrackingEvent = rec.TrackingEvent
	if o.TrackingAt, e = optionalTime("tracking_at", rec.TrackingAt); e != nil {
		return o, e
	}
	if o.Extra, e = validateExtras(rec.Extra); e != nil {
		return o, e
	}
	return o, nil
}

// optionalTime parses an RFC 3339 time that may be absent.
func optionalTime(field, s string) (*time.Time, *jsonrecord.FieldError) {
	if s == "" {
		return nil, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return nil, jsonrecord.Errorf(field, "must be an RFC 3339 time like %q (got %q)", exampleTime, s)
	}
	return &t, nil
}

func validateExtras(raws []json.RawMessage) ([]Extra, *jsonrecord.FieldError) {
	if len(raws) > maxExtras {
		return nil, jsonrecord.Errorf("extra", "must have at most %d items (got %d)", maxExtras, len(raws))
	}
	var out []Extra
	for i, raw := range raws {
		var rec extraRecord
		e := jsonrecord.Decode(raw, &rec)
		if e == nil {
			e = rec.validate()
		}
		if e != nil {
			return nil, e.Within(fmt.Sprintf("extra[%d]", i))
		}
		out = append(out, Extra(rec))
	}
	return out, nil
}

func (rec *extraRecord) validate() *jsonrecord.FieldError {
	if strings.TrimSpace(rec.Label) == "" {
		return jsonrecord.Errorf("label", "required: what the value is, e.g. \"优惠券\"")
	}
	if utf8.RuneCountInString(rec.Label) > maxExtraLength {
		return jsonrecord.Errorf("label", "must be at most %d characters", maxExtraLength)
	}
	if utf8.RuneCountInString(rec.Value) > maxExtraLength {
		return jsonrecord.Errorf("value", "must be at most %d characters", maxExtraLength)
	}
	return checkURL("href", rec.Href)
}
