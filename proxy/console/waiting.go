package console

import (
	"net/url"
	"strings"
	"time"
)

// WaitingMessage is a queued user's latest message as the console's
// waiting list shows it: GET /cgi-bin/kfunaccepted?action=getmsglist
// answers msglist[] of {msg: {useruin, createtime, content, msgtype},
// nickname, headimgurl}. It names the user by fans_uin only; the console
// learns the openid when the chat is accepted. The push gateway saw the
// same message with the openid (FromUserName), which is how the resolver
// can tie the two together (see chats.Sessions.AddWaiting).
type WaitingMessage struct {
	// UIN is the user's fans_uin (the waiting list calls it useruin), as
	// decimal text.
	UIN string `json:"uin"`
	// Text is the message's content, trimmed; text messages only.
	Text string `json:"text"`
	// CreateTime is when the user sent it (createtime, whole seconds):
	// WeChat's clock, the same one as the push's CreateTime.
	CreateTime time.Time `json:"create_time"`
	// Nickname and HeadImgURL are the user's, as the list shows them.
	Nickname   string `json:"nickname,omitempty"`
	HeadImgURL string `json:"headimgurl,omitempty"`
}

// IsWaitingList reports whether u is the console's waiting list request,
// matched like Endpoint: path (one trailing slash tolerated) and action
// only.
func IsWaitingList(u *url.URL) bool {
	if u == nil {
		return false
	}
	p := u.Path
	if len(p) > 1 {
		p = strings.TrimSuffix(p, "/")
	}
	return p == "/cgi-bin/kfunaccepted" && u.Query().Get("action") == "getmsglist"
}
