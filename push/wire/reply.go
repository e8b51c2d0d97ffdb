package wire

import (
	"bytes"
	"strconv"
	"strings"
)

// Success is the reply to an event (and to anything that needs no
// answer). It is never encrypted: an encrypted "success" makes WeChat show
// the user "该小程序提供的服务出现故障".
const Success = "success"

// MsgTypeTransfer is the MsgType that hands a user's message to the web
// customer-service console (网页版客服工具). Without it, once push is on,
// the console never sees the message.
const MsgTypeTransfer = "transfer_customer_service"

// Transfer is the transfer_customer_service reply in format f: ToUserName
// is the user's openid, FromUserName the mini program's original id.
func Transfer(f Format, openid, originalID string, createTime int64) []byte {
	ts := strconv.FormatInt(createTime, 10)
	if f == JSON {
		var buf bytes.Buffer
		buf.WriteString(`{"ToUserName":`)
		writeJSONString(&buf, openid)
		buf.WriteString(`,"FromUserName":`)
		writeJSONString(&buf, originalID)
		buf.WriteString(`,"CreateTime":` + ts + `,"MsgType":"` + MsgTypeTransfer + `"}`)
		return buf.Bytes()
	}
	return []byte("<xml><ToUserName>" + cdata(openid) + "</ToUserName><FromUserName>" + cdata(originalID) +
		"</FromUserName><CreateTime>" + ts + "</CreateTime><MsgType>" + cdata(MsgTypeTransfer) + "</MsgType></xml>")
}

// Encrypted is a safe-mode reply in format f, with WeChat's names spelled
// exactly: Encrypt, MsgSignature, TimeStamp (a number in JSON) and Nonce.
func Encrypted(f Format, encrypt, msgSignature string, timestamp int64, nonce string) []byte {
	ts := strconv.FormatInt(timestamp, 10)
	if f == JSON {
		var buf bytes.Buffer
		buf.WriteString(`{"Encrypt":`)
		writeJSONString(&buf, encrypt)
		buf.WriteString(`,"MsgSignature":`)
		writeJSONString(&buf, msgSignature)
		buf.WriteString(`,"TimeStamp":` + ts + `,"Nonce":`)
		writeJSONString(&buf, nonce)
		buf.WriteByte('}')
		return buf.Bytes()
	}
	return []byte("<xml><Encrypt>" + cdata(encrypt) + "</Encrypt><MsgSignature>" + cdata(msgSignature) +
		"</MsgSignature><TimeStamp>" + ts + "</TimeStamp><Nonce>" + cdata(nonce) + "</Nonce></xml>")
}

// cdata wraps s in CDATA, splitting any "]]>" so it cannot end the
// section early.
func cdata(s string) string {
	return "<![CDATA[" + strings.ReplaceAll(s, "]]>", "]]]]><![CDATA[>") + "]]>"
}
