package push

import (
	"encoding/json"
	"strconv"
	"time"

	"github.com/kfsidebar/kfsidebar/push/wire"
)

// Payload is the JSON body every target receives, one push per POST,
// signed with the target's secret (headers X-Kfsidebar-Timestamp,
// X-Kfsidebar-Nonce, X-Kfsidebar-Signature; see internal/hmacsign).
// Delivery is at least once: a target should treat a second POST with the
// same ID as done.
type Payload struct {
	// ID is the push's identity (its dedupe key): the same for WeChat's
	// retries of it and for every delivery of it.
	ID string `json:"id"`
	// ReceivedAt is when the gateway accepted the push.
	ReceivedAt time.Time `json:"received_at"`
	// Format is the push's format, "xml" or "json".
	Format string `json:"format"`
	// Mode is "plain", "compatible" or "safe".
	Mode string `json:"mode"`
	// MsgType repeats the message's, for routing without parsing.
	MsgType string `json:"msg_type"`
	// Event repeats the message's Event ("" for user messages).
	Event string `json:"event,omitempty"`
	// Reply is what WeChat was answered: "transfer_customer_service" or
	// "success".
	Reply string `json:"reply"`
	// Message is the push with WeChat's exact wire names (WayBillId,
	// OrderId, Actions, transaction_id, SessionFrom…). A JSON push is passed
	// as sent, numbers as written; an XML push becomes an object of strings
	// whose repeated elements (and Actions always) are arrays.
	Message json.RawMessage `json:"message"`
	// XML is an XML push exactly as received or decrypted, for targets
	// that already parse WeChat's XML.
	XML string `json:"xml,omitempty"`
}

func newPayload(id string, m *wire.Message, mode wire.Mode, transferred bool, at time.Time) []byte {
	p := Payload{
		ID:         id,
		ReceivedAt: at.UTC(),
		Format:     m.Format.String(),
		Mode:       mode.String(),
		MsgType:    m.MsgType,
		Event:      m.Event,
		Reply:      wire.Success,
		Message:    m.JSON(),
	}
	if transferred {
		p.Reply = wire.MsgTypeTransfer
	}
	if m.Format == wire.XML {
		p.XML = string(m.Raw)
	}
	b, _ := json.Marshal(p)
	return b
}

// Feed kinds: what a workstation's sidebar can use.
const (
	// FeedSessionFrom is a user entering the customer-service chat, with
	// the contact button's session-from (来源).
	FeedSessionFrom = "session_from"
	// FeedLogistics is a tracking update of a waybill.
	FeedLogistics = "logistics"
	// FeedMessage is a user message transferred to the console: text and
	// time, so the sidebar can match the console's waiting list to an
	// openid.
	FeedMessage = "message"
)

// FeedEvent is one item of the workstation feed. It carries only what the
// sidebar needs, and the feed keeps it only for Config.FeedTTL.
type FeedEvent struct {
	// ID orders the feed; a subscriber resumes after the last ID it saw.
	// Set by the feed when it sends the event.
	ID int64 `json:"id,omitempty"`
	// Kind is FeedSessionFrom, FeedLogistics or FeedMessage.
	Kind string `json:"kind"`
	// OpenID is the user's openid (the push's FromUserName).
	OpenID string `json:"openid"`
	// CreateTime is the push's CreateTime, unix seconds.
	CreateTime int64 `json:"create_time"`
	// SessionFrom is user_enter_tempsession's SessionFrom, raw.
	SessionFrom string `json:"session_from,omitempty"`
	// Logistics is add_express_path's waybill and its latest step.
	Logistics *FeedLogisticsUpdate `json:"logistics,omitempty"`
	// MsgType is a FeedMessage's MsgType.
	MsgType string `json:"msg_type,omitempty"`
	// Text is a FeedMessage's text (text messages only).
	Text string `json:"text,omitempty"`
}

// FeedLogisticsUpdate is the sidebar's view of an add_express_path push.
type FeedLogisticsUpdate struct {
	// DeliveryID is the carrier (DeliveryID, e.g. SF).
	DeliveryID string `json:"delivery_id"`
	// WayBillID is the waybill (WayBillId).
	WayBillID string `json:"waybill_id"`
	// OrderID is the shop's order (OrderId), when the push has it.
	OrderID string `json:"order_id,omitempty"`
	// Version is the track's version: a higher one supersedes.
	Version string `json:"version,omitempty"`
	// ActionTime is the latest step's time (the greatest ActionTime).
	ActionTime int64 `json:"action_time,omitempty"`
	// ActionType is the latest step's ActionType (100001 揽件, …).
	ActionType string `json:"action_type,omitempty"`
	// ActionMsg is the latest step's text.
	ActionMsg string `json:"action_msg,omitempty"`
}

// feedEvent returns the feed item of a push, or nil when the sidebar has
// no use for it.
func feedEvent(m *wire.Message, transferred bool) []byte {
	e := FeedEvent{OpenID: m.FromUserName, CreateTime: m.CreateTimeUnix()}
	switch {
	case m.IsEvent() && m.Event == "user_enter_tempsession":
		e.Kind = FeedSessionFrom
		e.SessionFrom = m.Field("SessionFrom")
	case m.IsEvent() && m.Event == "add_express_path":
		e.Kind = FeedLogistics
		u := &FeedLogisticsUpdate{DeliveryID: m.Field("DeliveryID"), WayBillID: m.Field("WayBillId"),
			OrderID: m.Field("OrderId"), Version: m.Field("Version")}
		for _, a := range actions(m) {
			t, _ := strconv.ParseInt(field(a, "ActionTime"), 10, 64)
			if u.ActionMsg == "" || t >= u.ActionTime {
				u.ActionTime, u.ActionType, u.ActionMsg = t, field(a, "ActionType"), field(a, "ActionMsg")
			}
		}
		e.Logistics = u
	case !m.IsEvent() && transferred:
		e.Kind = FeedMessage
		e.MsgType = m.MsgType
		if m.MsgType == "text" {
			e.Text = m.Field("Content")
		}
	default:
		return nil
	}
	b, _ := json.Marshal(e)
	return b
}

// actions are add_express_path's steps: repeated <Actions> in XML, one
// array in JSON.
func actions(m *wire.Message) []wire.Node {
	var out []wire.Node
	for _, c := range m.Doc.Root.Children {
		if c.Name != "Actions" {
			continue
		}
		if c.Kind == wire.Array {
			out = append(out, c.Children...)
		} else {
			out = append(out, c)
		}
	}
	return out
}

func field(n wire.Node, name string) string {
	for _, c := range n.Children {
		if c.Name == name {
			return c.Text
		}
	}
	return ""
}
