package wechattest

import (
	"strconv"
	"sync/atomic"
	"time"

	"github.com/kfsidebar/kfsidebar/push/wire"
)

// Push is one message or event from one user. ToUserName is the Sender's
// account; the rest is in Fields, in WeChat's order and names.
type Push struct {
	// OpenID is the user (FromUserName).
	OpenID string
	// Fields follow FromUserName: CreateTime, MsgType, ….
	Fields []wire.Node
}

func (p Push) fields(originalID string) []wire.Node {
	return append([]wire.Node{str("ToUserName", originalID), str("FromUserName", p.OpenID)}, p.Fields...)
}

// MsgType returns the push's MsgType.
func (p Push) MsgType() string { return p.get("MsgType") }

// Event returns the push's Event ("" for a user message).
func (p Push) Event() string { return p.get("Event") }

// MsgID returns the push's MsgId ("" for an event).
func (p Push) MsgID() string { return p.get("MsgId") }

func (p Push) get(name string) string {
	for _, f := range p.Fields {
		if f.Name == name {
			return f.Text
		}
	}
	return ""
}

func str(name, v string) wire.Node { return wire.Node{Name: name, Kind: wire.String, Text: v} }
func num(name string, v int64) wire.Node {
	return wire.Node{Name: name, Kind: wire.Number, Text: strconv.FormatInt(v, 10)}
}

// msgIDs makes MsgIds that are unique in a process and above 2^53, as
// WeChat's are: a float64 on the way would change them.
var msgIDs atomic.Int64

func init() { msgIDs.Store(6054768590064713728) }

// NextMsgID returns a fresh MsgId.
func NextMsgID() string { return strconv.FormatInt(msgIDs.Add(1), 10) }

func message(openid, msgType string, at time.Time, msgID string, rest ...wire.Node) Push {
	f := append([]wire.Node{num("CreateTime", at.Unix()), str("MsgType", msgType)}, rest...)
	return Push{OpenID: openid, Fields: append(f, wire.Node{Name: "MsgId", Kind: wire.Number, Text: msgID})}
}

// Text is a user's text message (客服消息 文本).
func Text(openid, content string, at time.Time, msgID string) Push {
	return message(openid, "text", at, msgID, str("Content", content))
}

// Image is a user's picture.
func Image(openid string, at time.Time, msgID string) Push {
	return message(openid, "image", at, msgID, str("PicUrl", "https://mmbiz.qpic.cn/mmbiz_jpg/demo/0"), str("MediaId", "media_"+msgID))
}

// MiniProgramPage is a mini program card the user sent (e.g. a product).
func MiniProgramPage(openid, title, pagePath string, at time.Time, msgID string) Push {
	return message(openid, "miniprogrampage", at, msgID, str("Title", title), str("AppId", "wxba5fad812f8e6fb9"),
		str("PagePath", pagePath), str("ThumbUrl", "https://mmbiz.qpic.cn/thumb/0"), str("ThumbMediaId", "thumb_"+msgID))
}

// Unknown is a user message of a type WeChat may add later: the gateway
// must still transfer it.
func Unknown(openid, msgType string, at time.Time, msgID string) Push {
	return message(openid, msgType, at, msgID, str("Content", "?"))
}

func event(openid, name string, at time.Time, rest ...wire.Node) Push {
	f := append([]wire.Node{num("CreateTime", at.Unix()), str("MsgType", "event"), str("Event", name)}, rest...)
	return Push{OpenID: openid, Fields: f}
}

// EnterSession is user_enter_tempsession: the user opened the chat from a
// contact button whose session-from is sessionFrom.
func EnterSession(openid, sessionFrom string, at time.Time) Push {
	return event(openid, "user_enter_tempsession", at, str("SessionFrom", sessionFrom))
}

// Action is one step of a waybill's track.
type Action struct {
	// Time is the step's unix time (ActionTime).
	Time int64
	// Type is its ActionType (100001 揽件成功, 200001 运输, 300002 派送, …).
	Type int64
	// Msg is its text (ActionMsg).
	Msg string
}

// ExpressPath is add_express_path, a waybill's tracking update from the
// logistics assistant (物流助手): <Actions> repeats once per step.
func ExpressPath(openid, deliveryID, waybillID, orderID string, version int64, actions []Action, at time.Time) Push {
	list := wire.Node{Name: "Actions", Kind: wire.Array}
	for _, a := range actions {
		list.Children = append(list.Children, wire.Node{Kind: wire.Object, Children: []wire.Node{
			num("ActionTime", a.Time), num("ActionType", a.Type), str("ActionMsg", a.Msg)}})
	}
	return event(openid, "add_express_path", at, str("DeliveryID", deliveryID), str("WayBillId", waybillID),
		str("OrderId", orderID), num("Version", version), num("Count", int64(len(actions))), list)
}

// RemindShipping is trade_manage_remind_shipping (发货信息管理: upload the
// shipping information).
func RemindShipping(openid, transactionID, merchantTradeNo string, at time.Time) Push {
	return event(openid, "trade_manage_remind_shipping", at, str("transaction_id", transactionID),
		str("merchant_id", "1230000109"), str("sub_merchant_id", ""), str("merchant_trade_no", merchantTradeNo),
		num("pay_time", at.Unix()-3*86400), str("msg", "请尽快发货"))
}

// OrderSettlement is trade_manage_order_settlement, sent when the order
// ships and again when it settles.
func OrderSettlement(openid, transactionID, merchantTradeNo string, settled bool, at time.Time) Push {
	var settlement int64
	if settled {
		settlement = at.Unix()
	}
	return event(openid, "trade_manage_order_settlement", at, str("transaction_id", transactionID),
		str("merchant_id", "1230000109"), str("sub_merchant_id", ""), str("merchant_trade_no", merchantTradeNo),
		num("pay_time", at.Unix()-5*86400), num("shipped_time", at.Unix()-2*86400),
		num("estimated_settlement_time", at.Unix()+86400), num("confirm_receive_method", 1),
		num("confirm_receive_time", 0), num("settlement_time", settlement))
}

// RemindAccessAPI is trade_manage_remind_access_api.
func RemindAccessAPI(openid string, at time.Time) Push {
	return event(openid, "trade_manage_remind_access_api", at, str("msg", "请尽快接入发货信息管理服务"))
}

// DebugDemo is the debug_demo event of WeChat's debugging tool
// (调试工具 → 消息推送).
func DebugDemo(openid string, at time.Time) Push {
	return event(openid, "debug_demo", at, str("debug_str", "hello world"))
}

// Catalogue is one push of every kind the gateway handles, user messages
// first, from openid at at: what "every push type, in XML and in JSON"
// iterates over.
func Catalogue(openid string, at time.Time) []Push {
	return []Push{
		Text(openid, "在吗？我的订单什么时候发货", at, NextMsgID()),
		Image(openid, at, NextMsgID()),
		MiniProgramPage(openid, "商品：保温杯", "pages/goods/detail?sku=A100", at, NextMsgID()),
		Unknown(openid, "voice", at, NextMsgID()),
		EnterSession(openid, "order:202405010001", at),
		ExpressPath(openid, "SF", "SF1234567890", "202405010001", 3, []Action{
			{Time: at.Unix() - 7200, Type: 100001, Msg: "揽件阶段-揽件成功"},
			{Time: at.Unix() - 3600, Type: 200001, Msg: "运输阶段-到达广州集包地"},
			{Time: at.Unix(), Type: 300002, Msg: "派送阶段-开始派送"}}, at),
		RemindShipping(openid, "4200001234202405010000000001", "202405010001", at),
		OrderSettlement(openid, "4200001234202405010000000001", "202405010001", false, at),
		RemindAccessAPI(openid, at),
		DebugDemo(openid, at),
	}
}
