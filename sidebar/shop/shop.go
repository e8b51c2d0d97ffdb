// Package shop is the shop's side of the sidebar as kfsidebar sees it: the
// customer and order domain (Customer, Order, …), the Backend interface
// every order backend implements, the contract their answers must meet and
// its validation (the JSON a shop's API answers with, the rows its database
// returns, the records of an import file), and the Cache that puts any
// backend behind a short cache and a circuit breaker and reports its Health.
//
// It is the vocabulary the sidebar and the backends share, so it imports
// the standard library only: each backend (the embedded SQLite one, the
// shop's HTTP API, the shop's SQL database) lives in a package of its own
// beside it, with its own dependencies, and the sidebar depends on none of
// them.
package shop

import (
	"context"
	"time"
)

// Customer is what the sidebar shows for one chat user. Its JSON form is the
// import format of `kfsidebar orders import` and the contract every order
// backend answers with.
type Customer struct {
	// ID is the shop's own id for the customer, when it differs from the
	// openid (a customer found by phone may have none). Bindings made by
	// the agent point at it; "" means the openid is the id.
	ID       string   `json:"id,omitempty"`
	OpenID   string   `json:"openid"`
	Name     string   `json:"name"`
	Phone    string   `json:"phone,omitempty"`
	Level    string   `json:"level,omitempty"`
	Tags     []string `json:"tags,omitempty"`
	Note     string   `json:"note,omitempty"`
	AdminURL string   `json:"admin_url,omitempty"`
	// OrderCount, TotalSpentFen and LastOrderAt summarize ALL the
	// customer's orders, not only the recent ones in Orders. Zero when the
	// backend does not know.
	OrderCount    int        `json:"order_count,omitempty"`
	TotalSpentFen int64      `json:"total_spent_fen,omitempty"`
	LastOrderAt   *time.Time `json:"last_order_at,omitempty"`
	// Extra holds fields of the shop's own, shown as they come.
	Extra []Extra `json:"extra,omitempty"`
	// Orders are the customer's most recent orders, newest first.
	Orders []Order `json:"orders,omitempty"`
}

// Extra is one field a shop wants shown that the schema does not name
// (a coupon balance, a membership expiry…), so a shop can add one without a
// new kfsidebar release.
type Extra struct {
	Label string `json:"label"`
	Value string `json:"value"`
	// Href makes the value a link (http or https only).
	Href string `json:"href,omitempty"`
	// Copy offers a copy button for the value.
	Copy bool `json:"copy,omitempty"`
	// Mask hides the value until the agent reveals it.
	Mask bool `json:"mask,omitempty"`
}

// Order is one order of a customer. Amounts are in fen (1/100 yuan) so that
// no float ever touches money.
type Order struct {
	OrderNo    string    `json:"order_no"`
	OpenID     string    `json:"openid"`
	CreatedAt  time.Time `json:"created_at"`
	Status     string    `json:"status"`
	AmountFen  int64     `json:"amount_fen"`
	Items      []Item    `json:"items"`
	Carrier    string    `json:"carrier,omitempty"`
	TrackingNo string    `json:"tracking_no,omitempty"`
	Address    string    `json:"address,omitempty"`
	// TrackingEvent is the latest logistics event ("已到达杭州转运中心"),
	// at TrackingAt, when the backend knows it.
	TrackingEvent string     `json:"tracking_event,omitempty"`
	TrackingAt    *time.Time `json:"tracking_at,omitempty"`
	Refund        Refund     `json:"refund"`
	AdminURL      string     `json:"admin_url,omitempty"`
	Extra         []Extra    `json:"extra,omitempty"`
}

// Item is one line of an order.
type Item struct {
	Title    string `json:"title"`
	SKU      string `json:"sku,omitempty"`
	Qty      int    `json:"qty"`
	PriceFen int64  `json:"price_fen"`
}

// Refund is the after-sales state of an order; Status "none" when there is
// none.
type Refund struct {
	Status    string `json:"status"`
	AmountFen int64  `json:"amount_fen"`
	Reason    string `json:"reason,omitempty"`
}

// Backend answers "who is this openid in the shop?". Implementations return
// ErrNotFound when the shop does not know the openid. A Backend must honour
// ctx: the hub gives every lookup a deadline so a slow shop never blocks the
// sidebar (and never the console, which does not wait for us at all).
type Backend interface {
	// Lookup returns the customer with this openid and their recent orders.
	Lookup(ctx context.Context, openid string) (*Customer, error)
	// Customer returns the customer with the shop's id (Customer.ID, or
	// the openid when ID is empty): the target of a binding the agent made.
	Customer(ctx context.Context, id string) (*Customer, error)
	// Search finds up to limit customers by phone number, order number or
	// name, for the agent to bind a chat to when the automatic match
	// fails. Results need no orders. No match is an empty slice, not an
	// error.
	Search(ctx context.Context, query string, limit int) ([]Customer, error)
}

// Result is a lookup as the sidebar shows it: the customer, when the shop
// answered, and whether that answer is stale because the last refresh
// failed. A backend that caches (the Cache that wraps every configured
// backend) provides it through Fresher; a plain Backend's answer is always
// fresh.
type Result struct {
	Customer  *Customer
	FetchedAt time.Time
	// Err is why the lookup failed; with a Customer it is why the shown
	// data is stale (the last good answer is kept).
	Err error
}

// Fresher is implemented by backends that know how fresh their answer is.
// The hub prefers it to Lookup.
type Fresher interface {
	LookupResult(ctx context.Context, openid string) Result
}

// DefaultRecentOrders is how many orders a backend's Lookup returns unless
// configured otherwise: enough for an agent to answer "where is my
// order?", few enough that a lookup stays a few index probes.
const DefaultRecentOrders = 20
