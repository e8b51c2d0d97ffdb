package sidebar

import (
	"strconv"
	"strings"
	"time"

	"github.com/kfsidebar/kfsidebar/sidebar/shop"
)

// TrackingUpdate is a waybill's latest step as the logistics assistant
// pushed it (add_express_path, through the push gateway's feed).
type TrackingUpdate struct {
	// WayBillID is the carrier's waybill number (WayBillId).
	WayBillID string
	// OrderID is the order id the shop gave when it created the waybill
	// (OrderId), when the push has one.
	OrderID string
	// DeliveryID is the carrier's code (SF, ZTO, …).
	DeliveryID string
	// Version orders a waybill's pushes: a higher one supersedes.
	Version string
	// ActionTime, ActionType and ActionMsg are the latest step.
	ActionTime time.Time
	ActionType string
	ActionMsg  string
}

// trackingInfo is a tracking update as the page applies it to one order.
type trackingInfo struct {
	OrderNo    string    `json:"order_no"`
	TrackingNo string    `json:"tracking_no"`
	Event      string    `json:"event"`
	At         time.Time `json:"at"`
}

// matches reports whether u is about order o.
//
// The waybill decides when the order has one: it names one parcel, and
// the carrier's number is what the shop's system and the push share for
// sure. WeChat's OrderId is whatever the shop passed when it created the
// waybill, which may be an internal id rather than the order number the
// backend shows, and one order may ship in several parcels: pinning one
// parcel's step on an order shown with another parcel's number would
// mislead. So the order number is compared only for an order that has no
// waybill yet (the push came before the shop's system recorded it).
func (u TrackingUpdate) matches(o shop.Order) bool {
	if no := strings.TrimSpace(o.TrackingNo); no != "" {
		return strings.EqualFold(no, strings.TrimSpace(u.WayBillID))
	}
	id := strings.TrimSpace(u.OrderID)
	return id != "" && id == strings.TrimSpace(o.OrderNo)
}

// newer reports whether u supersedes v: a later step, or at the same time
// a higher version.
func (u TrackingUpdate) newer(v TrackingUpdate) bool {
	if !u.ActionTime.Equal(v.ActionTime) {
		return u.ActionTime.After(v.ActionTime)
	}
	a, _ := strconv.ParseInt(u.Version, 10, 64)
	b, _ := strconv.ParseInt(v.Version, 10, 64)
	return a > b
}

// fresher reports whether u is news for an order that shows its step of
// at (nil: none).
func (u TrackingUpdate) fresher(at *time.Time) bool {
	return at == nil || u.ActionTime.After(*at)
}

// info is u applied to order o.
func (u TrackingUpdate) info(o shop.Order) *trackingInfo {
	no := o.TrackingNo
	if no == "" {
		no = u.WayBillID
	}
	return &trackingInfo{OrderNo: o.OrderNo, TrackingNo: no, Event: u.ActionMsg, At: u.ActionTime}
}

// trackKeys are the keys an update is remembered by: its waybill, and its
// order id for orders without a waybill.
func (u TrackingUpdate) trackKeys() []string {
	var keys []string
	if w := strings.ToUpper(strings.TrimSpace(u.WayBillID)); w != "" {
		keys = append(keys, "waybill:"+w)
	}
	if id := strings.TrimSpace(u.OrderID); id != "" {
		keys = append(keys, "order:"+id)
	}
	return keys
}

// orderKey is the key an order's update is found by (see matches).
func orderKey(o shop.Order) string {
	if no := strings.TrimSpace(o.TrackingNo); no != "" {
		return "waybill:" + strings.ToUpper(no)
	}
	return "order:" + strings.TrimSpace(o.OrderNo)
}

// Tracking records a waybill's latest step and applies it at once to the
// matching order in every sidebar showing it, without asking the shop
// again; customers looked up later show it too until the shop's own
// answer is as new. An update older than one already known is ignored. It
// never blocks.
func (h *Hub) Tracking(u TrackingUpdate) {
	u.WayBillID, u.OrderID = strings.TrimSpace(u.WayBillID), strings.TrimSpace(u.OrderID)
	if u.ActionMsg == "" || (u.WayBillID == "" && u.OrderID == "") {
		return
	}
	l := &h.live
	l.mu.Lock()
	if l.tracks == nil {
		l.tracks = map[string]TrackingUpdate{}
	}
	stored := false
	for _, k := range u.trackKeys() {
		if old, ok := l.tracks[k]; !ok || u.newer(old) {
			l.tracks[k], stored = u, true
		}
	}
	pruneOldest(l.tracks, func(t TrackingUpdate) time.Time { return t.ActionTime })
	l.mu.Unlock()
	if !stored {
		return
	}
	h.log.Debug("tracking update", "waybill", u.WayBillID, "order", u.OrderID, "step", u.ActionMsg)
	for _, c := range h.clientList() {
		c.mu.Lock()
		if sh := c.conv.shown; sh != nil && c.conv.answer == answerCustomer {
			for i, o := range sh.orders {
				if u.matches(o) && u.fresher(o.TrackingAt) {
					c.enqueue(message{Type: typeTracking, Seq: c.conv.seq, OpenID: c.conv.shownID, Tracking: u.info(o)})
					at := u.ActionTime
					sh.orders[i].TrackingAt = &at
				}
			}
		}
		c.mu.Unlock()
	}
}

// applyTracking lays the newest known steps over c's orders (c is the
// hub's own copy: maskCustomer's) and returns the orders a later update
// is matched against.
func (h *Hub) applyTracking(c *shop.Customer) []shop.Order {
	l := &h.live
	l.mu.Lock()
	defer l.mu.Unlock()
	refs := make([]shop.Order, len(c.Orders))
	for i := range c.Orders {
		o := &c.Orders[i]
		if u, ok := l.tracks[orderKey(*o)]; ok && u.matches(*o) && u.fresher(o.TrackingAt) && time.Since(u.ActionTime) < liveKeep {
			at := u.ActionTime
			o.TrackingEvent, o.TrackingAt = u.ActionMsg, &at
			if o.TrackingNo == "" {
				o.TrackingNo = u.WayBillID
			}
		}
		refs[i] = shop.Order{OrderNo: o.OrderNo, TrackingNo: o.TrackingNo, TrackingAt: o.TrackingAt}
	}
	return refs
}
