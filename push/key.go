package push

import (
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strconv"
	"strings"

	"github.com/kfsidebar/kfsidebar/push/wire"
)

// eventKeyFields are the fields that tell two events of one kind from the
// same user in the same second apart. An event not listed here is keyed by
// all its fields, which is never wrong, only stricter than needed.
var eventKeyFields = map[string][]string{
	"user_enter_tempsession":         {"SessionFrom"},
	"add_express_path":               {"DeliveryID", "WayBillId", "Version", "OrderId"},
	"trade_manage_remind_access_api": {"msg"},
	"trade_manage_remind_shipping":   {"transaction_id", "merchant_trade_no"},
	// Sent when the order ships and again when it settles: the times tell
	// the two apart.
	"trade_manage_order_settlement": {"transaction_id", "merchant_trade_no", "shipped_time", "confirm_receive_time", "settlement_time"},
}

// identityFields are already in every event's key.
var identityFields = map[string]bool{"ToUserName": true, "FromUserName": true, "CreateTime": true, "MsgType": true, "Event": true}

// dedupeKey is a push's identity, the same for WeChat's retries of it (with
// fresh timestamp and nonce, which are not in the body) and different for
// any two pushes WeChat means as two: a user message by MsgId +
// FromUserName (two users' MsgIds may collide), anything else by
// FromUserName + CreateTime + MsgType + Event + its key fields. It is
// hashed, so the table holds no openid in clear.
func dedupeKey(m *wire.Message) string {
	var b strings.Builder
	if !m.IsEvent() && m.MsgID != "" {
		writeParts(&b, "msg", m.FromUserName, m.MsgID)
	} else {
		writeParts(&b, "evt", m.FromUserName, m.CreateTime, m.MsgType, m.Event)
		if names, ok := eventKeyFields[m.Event]; ok && m.IsEvent() {
			for _, n := range names {
				writeParts(&b, n, m.Field(n))
			}
		} else {
			fields := slices.Clone(m.Doc.Root.Children)
			slices.SortStableFunc(fields, func(a, b wire.Node) int { return strings.Compare(a.Name, b.Name) })
			for _, f := range fields {
				if !identityFields[f.Name] {
					writeNode(&b, f)
				}
			}
		}
	}
	sum := sha256.Sum256([]byte(b.String()))
	return hex.EncodeToString(sum[:])
}

// writeParts writes each part length-prefixed, so no choice of values can
// make two different lists write the same bytes.
func writeParts(b *strings.Builder, parts ...string) {
	for _, p := range parts {
		b.WriteString(strconv.Itoa(len(p)))
		b.WriteByte(':')
		b.WriteString(p)
	}
}

// writeNode writes a node and its children unambiguously.
func writeNode(b *strings.Builder, n wire.Node) {
	b.WriteByte('(')
	writeParts(b, n.Name, strconv.Itoa(int(n.Kind)), n.Text)
	for _, c := range n.Children {
		writeNode(b, c)
	}
	b.WriteByte(')')
}
