//go:build linux

package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

// Paths the upstream serves. They are the console's real paths, so that
// kfsidebar treats them as it treats the console: the page is scanned and
// injected, the accept responses are scanned as target endpoints, the long
// poll as any other console JSON.
const (
	pagePath     = "/cgi-bin/kfindex?token=1234567890"
	accept10KB   = "/cgi-bin/kfunaccepted?action=kfbatchcreatesession&size=10k&token=1234567890&f=json"
	accept1MB    = "/cgi-bin/kfunaccepted?action=kfbatchcreatesession&size=1m&token=1234567890&f=json"
	longPollPath = "/cgi-bin/kfmsg?action=getnewmsg&token=1234567890&f=json"
	assetPath    = "/mpres/zh_CN/htmledition/kf/index.js?v=20210611"
	// plainQuery, added to a path, has the upstream answer uncompressed
	// even when the client accepts gzip: a console that does not compress.
	plainQuery = "&kfbench_enc=identity"
)

// consoleHost is the host every proxy decrypts. It is spelled here, not
// imported from proxy, because mitmproxy and whistle are configured with the
// same literal.
const consoleHost = "mpkf.weixin.qq.com"

// session is one chat as the console sends it, in an accept response item
// and in the page's bootstrap.
func session(i int) map[string]any {
	return map[string]any{
		"fans_uin":    2851234567 + i,
		"nickname":    fmt.Sprintf("用户小%d 🌸", i),
		"fans_openid": fmt.Sprintf("oABCDEFGHIJKLMNOPQRSTUVW%05d", i),
		"session_id":  1700000000 + i,
		"start_time":  1700000000,
		"headimgurl":  fmt.Sprintf("http://wx.qlogo.cn/mmhead/Q3auHgzwzM4fJ2bO5ticXiaQ%05d", i),
		"kf_account":  "kf2001@shop",
		"status":      1,
	}
}

func summary(i int) map[string]any {
	return map[string]any{"msg": map[string]any{
		"msgid":      6000 + i,
		"createtime": 1700000000 + i,
		"content":    "你好，我想问一下订单什么时候发货？我的订单号是 2026112200" + fmt.Sprint(i%100),
		"msgtype":    1,
	}}
}

// acceptResponse is a kfbatchcreatesession response of at least size bytes:
// many kfcreatesession_resp items with Chinese nicknames and escaped URLs,
// as the console sends them (and as proxy's BenchmarkScanJSON1MB uses).
func acceptResponse(size int) []byte {
	var b bytes.Buffer
	b.WriteString(`{"base_resp":{"ret":0,"err_msg":"ok"},"kfcreatesession_resp":[`)
	for i := 0; b.Len() < size-2; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		item, _ := json.Marshal(map[string]any{
			"base_resp":  map[string]any{"ret": 0, "err_msg": "ok"},
			"kfsession":  session(i),
			"msgsummary": summary(i),
		})
		b.Write(item)
	}
	b.WriteString(`]}`)
	return b.Bytes()
}

// consoleScript is the console's application script, about size bytes of
// JavaScript: the bulk of the console's traffic, which kfsidebar neither
// scans nor injects, only passes through.
func consoleScript(size int) []byte {
	var b strings.Builder
	b.WriteString("/*! kf index.js */\n!function(e){var t={};function n(r){if(t[r])return t[r].exports;")
	for i := 0; b.Len() < size; i++ {
		fmt.Fprintf(&b, "e.exports.card%d=function(p){return React.createElement(\"li\",{className:\"card\",\"data-reactid\":p.id},p.nick||\"\u7528\u6237%d\")};\n", i, i)
	}
	b.WriteString("}([]);\n")
	return []byte(b.String())
}

// longPollResponse is what a getnewmsg poll returns when it times out.
func longPollResponse() []byte {
	return []byte(`{"base_resp":{"ret":0,"err_msg":"ok"},"seq":4711,"msglist":[],"continueflag":0}`)
}

// consolePage is a console page of about size bytes: a head with styles and
// scripts, a body with one React 0.14-style card per chat, and at the end
// the inline MCS.cgiData bootstrap with the chats open at load, where
// kfsidebar finds them. Its one </head> is where every proxy injects.
func consolePage(size int) []byte {
	var b strings.Builder
	b.WriteString("<!DOCTYPE html>\n<html lang=\"zh-CN\">\n<head>\n<meta charset=\"utf-8\">\n")
	b.WriteString("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>微信公众平台 客服工具</title>\n")
	for _, css := range []string{"base", "layout", "chat", "card", "editor"} {
		fmt.Fprintf(&b, "<link rel=\"stylesheet\" href=\"//res.wx.qq.com/mpres/zh_CN/htmledition/kf/%s.css?v=20210611\">\n", css)
	}
	b.WriteString("<style>\n")
	for i := 0; i < 120; i++ {
		fmt.Fprintf(&b, ".card_%d .card_pic img{width:40px;height:40px;border-radius:2px}.card_%d .card_content_nick{color:#353535;font-size:14px}\n", i, i)
	}
	b.WriteString("</style>\n</head>\n<body>\n<div class=\"main\" data-reactroot=\"\" data-reactid=\".0\">\n")
	b.WriteString("<div class=\"main_header\" data-reactid=\".0.0\"><span class=\"state_description\">客服小美</span></div>\n")
	b.WriteString("<div class=\"main_content\" data-reactid=\".0.1\"><div class=\"main_body\" data-reactid=\".0.1.0\">\n<ul class=\"card_list\">\n")
	const open = 40
	var cards int
	tail := bootstrapScript(open)
	for i := 0; b.Len()+len(tail)+200 < size; i++ {
		s := session(i % open)
		fmt.Fprintf(&b, `<li class="card card_%d" data-reactid=".0.1.0.0.$%d"><div class="card_pic"><img src="https://wx.qlogo.cn/mmhead/Q3auHgzwzM4fJ2bO5ticXiaQ%05d/132" alt=""></div>`+
			`<div class="card_content"><p class="card_content_nick">%s</p><p class="card_content_detail">你好，我想问一下订单什么时候发货？</p></div></li>`+"\n",
			i%120, s["fans_uin"], i%open, s["nickname"])
		cards++
	}
	b.WriteString("</ul>\n</div></div>\n<div class=\"chat_edit_input\"><pre id=\"editor\" contenteditable=\"true\"></pre></div>\n</div>\n")
	b.WriteString(tail)
	b.WriteString("<script src=\"//res.wx.qq.com/mpres/zh_CN/htmledition/kf/index.js?v=20210611\"></script>\n</body>\n</html>\n")
	return []byte(b.String())
}

func bootstrapScript(open int) string {
	list := make([]any, open)
	for i := range list {
		list[i] = map[string]any{"kfsession": session(i), "msgsummary": summary(i)}
	}
	data, _ := json.Marshal(map[string]any{
		"token": "1234567890", "lang": "zh_CN", "seq": 4711, "server_time": 1700000000,
		"kf_info":    map[string]any{"kf_account": "kf2001@shop", "kf_nick": "客服小美"},
		"sessions":   map[string]any{"kfsession_and_msgsummary": list},
		"unaccepted": map[string]any{"count": 3, "seq": 12},
	})
	return "<script>window.MCS = window.MCS || {}; MCS.cgiData = " + string(data) + ";</script>\n"
}
