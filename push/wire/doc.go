// Package wire is WeChat's message-push wire format: the two body formats
// (XML and JSON, told apart by the body, never by Content-Type), the three
// encryption modes as they show in the body, the message fields the gateway
// reads, and the replies it writes.
//
// It keeps WeChat's exact wire names (WayBillId, OrderId, repeated
// <Actions>, transaction_id, SessionFrom) and every value's text as sent:
// MsgId 6054768590064713728 is a JSON number above 2^53, so values are never
// decoded through float64. It is standard library only; package wechattest
// builds its pushes with the same code.
package wire
