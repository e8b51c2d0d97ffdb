package scan

import (
	"bytes"
	"slices"
	"strings"

	"github.com/tidwall/gjson"
)

// The console's own quick replies (快捷回复) arrive in its settings
// response, GET /cgi-bin/kfsettings?action=getsettings:
//
//	{"base_resp": {"ret": 0}, "config": {"fastreply_list": [{"msgtype": 1, "content": "您好…"}]},
//	 "public_reply": {"fastreply_list": [{"msgtype": 1, "content": "…"}]}}
//
// config holds the agent's own replies, public_reply the ones the
// mini-program shares with every agent. Scanning them lets the sidebar
// offer the replies the agent already has beside kfsidebar's own.

var fastReplyListKey = []byte("fastreply_list")

// FastReplies returns the text quick replies of a console settings
// response: config.fastreply_list[] first, then public_reply.fastreply_list[],
// then any other fastreply_list in the document, in document order. Like
// JSON it takes the known shape as evidence, not a promise: every array
// under a fastreply_list key counts, wherever it is. An item counts when
// its content is a non-empty string and its msgtype is text (1, "1" or
// absent); other types (pictures, voice) cannot be inserted as text. Texts
// are trimmed and kept once.
//
// nil means the document has no fastreply_list at all (not JSON, a failed
// request, another response); an empty, non-nil slice means the console
// has no text quick replies.
func FastReplies(doc []byte) []string {
	doc = bytes.TrimPrefix(doc, utf8BOM)
	if !bytes.Contains(doc, fastReplyListKey) || jsonNesting(doc) > maxNesting || !gjson.ValidBytes(doc) {
		return nil
	}
	root := gjson.ParseBytes(doc)
	if !root.IsObject() && !root.IsArray() {
		return nil
	}
	if ret := root.Get("base_resp.ret"); ret.Exists() && failedRet(ret) {
		return nil
	}
	var lists []fastReplyList
	collectFastReplyLists(root, "", 0, &lists)
	if len(lists) == 0 {
		return nil
	}
	slices.SortStableFunc(lists, func(a, b fastReplyList) int { return a.rank - b.rank })
	out := []string{}
	for _, l := range lists {
		l.value.ForEach(func(_, item gjson.Result) bool {
			if text, ok := fastReplyText(item); ok && !slices.Contains(out, text) {
				out = append(out, text)
			}
			return true
		})
	}
	return out
}

// fastReplyList is one fastreply_list array found in a document, with the
// rank of its place: the agent's own replies before the shared ones
// before any others.
type fastReplyList struct {
	rank  int
	value gjson.Result
}

// collectFastReplyLists walks v depth-first in document order; path is
// the dotted path of object keys from the root ("config"), arrays left
// out.
func collectFastReplyLists(v gjson.Result, path string, depth int, lists *[]fastReplyList) {
	if depth >= maxScanDepth {
		return
	}
	v.ForEach(func(key, child gjson.Result) bool {
		childPath := path
		if v.IsObject() {
			if path != "" {
				childPath += "."
			}
			childPath += key.String()
		}
		if v.IsObject() && key.String() == "fastreply_list" && child.IsArray() {
			rank := 2
			switch childPath {
			case "config.fastreply_list":
				rank = 0
			case "public_reply.fastreply_list":
				rank = 1
			}
			*lists = append(*lists, fastReplyList{rank: rank, value: child})
			return true
		}
		if child.IsObject() || child.IsArray() {
			collectFastReplyLists(child, childPath, depth+1, lists)
		}
		return true
	})
}

// fastReplyText returns the text of one fastreply_list item: an object
// {msgtype, content}, or a bare string.
func fastReplyText(item gjson.Result) (string, bool) {
	var content gjson.Result
	switch {
	case item.Type == gjson.String:
		content = item
	case item.IsObject():
		if t := item.Get("msgtype"); t.Exists() && !isTextMsgType(t) {
			return "", false
		}
		content = item.Get("content")
		if content.Type != gjson.String {
			return "", false
		}
	default:
		return "", false
	}
	text := strings.TrimSpace(content.String())
	return text, text != ""
}

// isTextMsgType: the console sends text as msgtype 1 (kfmsg?action=send
// posts msgtype=1 for typed text).
func isTextMsgType(t gjson.Result) bool {
	switch t.Type {
	case gjson.Number:
		return t.Num == 1
	case gjson.String:
		s := strings.TrimSpace(t.String())
		return s == "1" || strings.EqualFold(s, "text")
	case gjson.Null:
		return true
	}
	return false
}

// failedRet reports whether a base_resp.ret value says the request
// failed: non-zero, as a number or a string.
func failedRet(ret gjson.Result) bool {
	switch ret.Type {
	case gjson.Number:
		return ret.Float() != 0
	case gjson.String:
		s := strings.TrimSpace(ret.String())
		return s != "" && s != "0"
	}
	return false
}
