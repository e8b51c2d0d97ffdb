package console

import "time"

// Where a Record was learned. The status page counts chats by these.
const (
	SourceManual   = "manual"   // GET /cgi-bin/kfsessionmgr…: the agent accepted the user by hand
	SourceAuto     = "auto"     // /cgi-bin/kfunaccepted?action=kfbatchcreatesession: batch/auto accept
	SourceTransfer = "transfer" // /cgi-bin/kftransfer?action=gettransferinfo: another agent transferred the chat
	SourcePage     = "page"     // the console page's inline bootstrap (chats open at page load)
	SourceOther    = "other"    // any other JSON response of the console host
	// SourcePush: not learned from the console at all, but from the push
	// gateway's queued messages matched with the waiting list; only a
	// Resolution's Record has it (EvidenceQueued), the map never stores it.
	SourcePush = "push"
)

// Record is one chat user learned from the console's own traffic: every
// object with a non-empty string fans_openid gives one.
type Record struct {
	OpenID     string    `json:"openid"`
	Nickname   string    `json:"nickname,omitempty"`
	HeadImgURL string    `json:"headimgurl,omitempty"`
	FansUIN    string    `json:"fans_uin,omitempty"` // decimal; the JSON may carry a number or a string
	SessionID  string    `json:"session_id,omitempty"`
	Source     string    `json:"source"` // one of the Source constants
	SeenAt     time.Time `json:"seen_at"`
}
