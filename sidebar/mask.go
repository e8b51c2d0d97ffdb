package sidebar

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/kfsidebar/kfsidebar/sidebar/shop"
)

// Masking happens in the hub, not in the page: what the page never
// receives cannot leak from it (a screenshot, a screen share, a browser
// extension reading the DOM). The agent reveals one field at a time, and
// each reveal is recorded (see RevealRecorder).

// Field names of revealable values, as the page sends them in a reveal
// request. Order fields carry the order number after the colon, customer
// extras their label.
const (
	fieldPhone   = "phone"
	fieldAddress = "address:" // + order_no
	fieldExtra   = "extra:"   // + label, or order_no + ":" + label on an order
)

// maskRun replaces a hidden part; four stars whatever its length, so the
// mask does not tell how long the hidden part is.
const maskRun = "****"

// maskPhone keeps what an agent compares with what the customer says (the
// first three and the last four digits of a mobile number): 138****5678.
// Longer numbers (an id card) keep no more.
func maskPhone(p string) string {
	s := strings.Join(strings.Fields(p), "")
	n := utf8.RuneCountInString(s)
	r := []rune(s)
	switch {
	case n >= 11:
		return string(r[:3]) + maskRun + string(r[n-4:])
	case n >= 7:
		return string(r[:2]) + maskRun + string(r[n-2:])
	case n > 0:
		return maskRun
	}
	return ""
}

// adminSuffixes end the administrative levels of a Chinese address
// (province, city, district, county, banner, prefecture).
const adminSuffixes = "省市区县旗州盟"

// maxAdminLevels and maxAdminRunes bound the region: province, city and
// district at most, within the first characters. A digit or a space
// ends it too: the street has begun ("…398号", "…华联超市" after it).
const (
	maxAdminLevels = 3
	maxAdminRunes  = 20
)

// maskAddress keeps the region (浙江省杭州市西湖区) and hides the street,
// building, recipient and anything after them. An address without a
// recognizable region keeps its first few characters.
func maskAddress(a string) string {
	r := []rune(strings.TrimSpace(a))
	if len(r) == 0 {
		return ""
	}
	keep, levels := 0, 0
	for i := 0; i < len(r) && i < maxAdminRunes && levels < maxAdminLevels; i++ {
		if unicode.IsDigit(r[i]) || unicode.IsSpace(r[i]) {
			break
		}
		// 杭州市 is one level: a suffix followed by another is part of
		// the name.
		if isAdminSuffix(r[i]) && (i+1 == len(r) || !isAdminSuffix(r[i+1])) {
			keep, levels = i+1, levels+1
		}
	}
	if keep == 0 {
		keep = min(3, len(r)/3)
	}
	if keep >= len(r) {
		return string(r)
	}
	return string(r[:keep]) + maskRun
}

func isAdminSuffix(r rune) bool { return strings.ContainsRune(adminSuffixes, r) }

// maskValue hides a shop's own masked field: digits are masked like a
// phone number, anything else keeps its first and last character.
func maskValue(v string) string {
	s := strings.TrimSpace(v)
	if s == "" {
		return ""
	}
	if strings.IndexFunc(s, func(r rune) bool { return !unicode.IsDigit(r) && r != ' ' && r != '-' && r != '+' }) < 0 {
		return maskPhone(s)
	}
	r := []rune(s)
	if len(r) <= 2 {
		return maskRun
	}
	return string(r[0]) + maskRun + string(r[len(r)-1])
}

// masked is a customer as the page may see it before any reveal, with the
// hidden values by field name.
type masked struct {
	customer *shop.Customer
	fields   map[string]string // field → the real value
	names    []string          // the fields in display order
}

// maskCustomer copies c with its phone, every order's address and every
// extra marked Mask hidden. c is not changed: backends may cache it.
func maskCustomer(c *shop.Customer) masked {
	m := masked{fields: map[string]string{}}
	hide := func(field, value, shown string) string {
		if value == "" || shown == value {
			return value
		}
		if _, dup := m.fields[field]; !dup {
			m.fields[field] = value
			m.names = append(m.names, field)
		}
		return shown
	}
	out := *c
	out.Phone = hide(fieldPhone, c.Phone, maskPhone(c.Phone))
	out.Extra = maskExtras(c.Extra, fieldExtra, hide)
	if c.Orders != nil {
		out.Orders = make([]shop.Order, len(c.Orders))
		for i, o := range c.Orders {
			o.Address = hide(fieldAddress+o.OrderNo, o.Address, maskAddress(o.Address))
			o.Extra = maskExtras(o.Extra, fieldExtra+o.OrderNo+":", hide)
			out.Orders[i] = o
		}
	}
	m.customer = &out
	return m
}

func maskExtras(in []shop.Extra, prefix string, hide func(field, value, shown string) string) []shop.Extra {
	if in == nil {
		return nil
	}
	out := make([]shop.Extra, len(in))
	for i, e := range in {
		if e.Mask {
			// A link may carry the value; it is not offered masked.
			e.Value, e.Href = hide(prefix+e.Label, e.Value, maskValue(e.Value)), ""
		}
		out[i] = e
	}
	return out
}
