package scan

import (
	"bytes"
	"strconv"
	"strings"
	"time"

	"github.com/tidwall/gjson"

	"github.com/kfsidebar/kfsidebar/proxy/console"
)

// The console's waiting list (排队中) arrives in answer to
// GET /cgi-bin/kfunaccepted?action=getmsglist:
//
//	{"base_resp": {"ret": 0}, "total_cnt": 2, "msglist": [
//	  {"msg": {"msgid": 1, "useruin": 3000000001, "msgtype": 1, "content": "在吗", "createtime": 1714963200},
//	   "nickname": "…", "headimgurl": "http://wx.qlogo.cn/mmhead/…", "msg_cnt": 3}]}
//
// Each item is a queued user and their latest message, named by fans_uin
// alone. The push gateway saw the same message with the user's openid, so
// text and time tie the two together (chats.Sessions.AddWaiting).

var msgListKey = []byte("msglist")

// WaitingList returns the queued users' latest text messages of a waiting
// list response. Like JSON it takes the known shape as evidence, not a
// promise: every item of an array under a msglist key counts, wherever
// it is, with its message under msg or in the item itself, the uin under
// useruin, fansuin or fans_uin (a number or a decimal string), createtime
// in seconds, and content. Items that are not text (msgtype other than 1),
// lack any of those, or name a uin already listed are left out. A response
// whose base_resp.ret says it failed gives nothing.
func WaitingList(doc []byte) []console.WaitingMessage {
	doc = bytes.TrimPrefix(doc, utf8BOM)
	if !bytes.Contains(doc, msgListKey) || jsonNesting(doc) > maxNesting || !gjson.ValidBytes(doc) {
		return nil
	}
	root := gjson.ParseBytes(doc)
	if ret := root.Get("base_resp.ret"); ret.Exists() && failedRet(ret) {
		return nil
	}
	var out []console.WaitingMessage
	seen := map[string]bool{}
	var walk func(v gjson.Result, depth int)
	walk = func(v gjson.Result, depth int) {
		if depth >= maxScanDepth {
			return
		}
		v.ForEach(func(key, child gjson.Result) bool {
			if v.IsObject() && key.String() == "msglist" && child.IsArray() {
				child.ForEach(func(_, item gjson.Result) bool {
					if m, ok := waitingMessage(item); ok && !seen[m.UIN] {
						seen[m.UIN] = true
						out = append(out, m)
					}
					return true
				})
				return true
			}
			if child.IsObject() || child.IsArray() {
				walk(child, depth+1)
			}
			return true
		})
	}
	walk(root, 0)
	return out
}

// waitingMessage reads one msglist item.
func waitingMessage(item gjson.Result) (console.WaitingMessage, bool) {
	if !item.IsObject() {
		return console.WaitingMessage{}, false
	}
	msg := item.Get("msg")
	if !msg.IsObject() {
		msg = item
	}
	if t := msg.Get("msgtype"); t.Exists() && !isTextMsgType(t) {
		return console.WaitingMessage{}, false
	}
	var uin string
	for _, k := range []string{"useruin", "fansuin", "fans_uin"} {
		if uin = decimal(msg.Get(k)); uin != "" {
			break
		}
	}
	secs, err := strconv.ParseInt(decimal(msg.Get("createtime")), 10, 64)
	content := msg.Get("content")
	if uin == "" || err != nil || secs <= 0 || content.Type != gjson.String {
		return console.WaitingMessage{}, false
	}
	text := strings.TrimSpace(content.String())
	if text == "" {
		return console.WaitingMessage{}, false
	}
	str := func(k string) string {
		if v := item.Get(k); v.Type == gjson.String {
			return v.String()
		}
		if v := msg.Get(k); v.Type == gjson.String {
			return v.String()
		}
		return ""
	}
	return console.WaitingMessage{UIN: uin, Text: text, CreateTime: time.Unix(secs, 0),
		Nickname: str("nickname"), HeadImgURL: str("headimgurl")}, true
}

// decimal is v's digits when v is a whole non-negative number, written as
// a number or as a string ("" otherwise); numbers keep their raw text, so
// 64-bit ids survive exactly.
func decimal(v gjson.Result) string {
	var s string
	switch v.Type {
	case gjson.Number:
		s = v.Raw
	case gjson.String:
		s = strings.TrimSpace(v.String())
	default:
		return ""
	}
	if s == "" || strings.TrimLeft(s, "0123456789") != "" {
		return ""
	}
	return s
}
