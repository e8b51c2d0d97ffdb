package sidebar

import (
	"context"
	"time"
)

// Customer is what the sidebar shows for one chat user. Its JSON form is the
// import format of `kfsidebar orders import` and the contract every order
// backend answers with.
type Customer struct {
	OpenID   string   `json:"openid"`
	Name     string   `json:"name"`
	Phone    string   `json:"phone,omitempty"`
	Level    string   `json:"level,omitempty"`
	Tags     []string `json:"tags,omitempty"`
	Note     string   `json:"note,omitempty"`
	AdminURL string   `json:"admin_url,omitempty"`
	// Orders are the customer's most recent orders, newest first.
	Orders []Order `json:"orders,omitempty"`
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
	Refund     Refund    `json:"refund"`
	AdminURL   string    `json:"admin_url,omitempty"`
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
	Lookup(ctx context.Context, openid string) (*Customer, error)
}
