package sidebar

import (
	"time"

	"github.com/kfsidebar/kfsidebar/proxy/console"
	"github.com/kfsidebar/kfsidebar/sidebar/quickreply"
	"github.com/kfsidebar/kfsidebar/sidebar/shop"
)

// Message types of the websocket protocol. The package comment documents
// the protocol; the names match the ones the sidebar script uses.
const (
	// client → hub: the selection, which supersedes earlier ones
	typeSelect  = "select"
	typePick    = "pick"
	typeRefresh = "refresh"
	typeBind    = "bind"
	typeUnbind  = "unbind"
	typeOthers  = "others"
	// client → hub: more page evidence about the current selection
	typeEvidence = "evidence"
	// client → hub: side requests, answered without touching the selection
	typeReveal = "reveal"
	typeSearch = "search"

	// hub → client
	typeLoading      = "loading"
	typeCustomer     = "customer"
	typeUnknown      = "unknown"
	typeAmbiguous    = "ambiguous"
	typeError        = "error"
	typeRevealed     = "revealed"
	typeResults      = "results"
	typeQuickReplies = "quick_replies"
	typeSource       = "source"   // 来源: where the user shown came from
	typeTracking     = "tracking" // a live tracking step of an order shown
)

// Reasons of an "unknown" answer, and of an "ambiguous" one.
const (
	reasonNoSession = "no_session"  // nobody known matches this chat (yet)
	reasonNotInShop = "not_in_shop" // the openid is known, the shop is not
	reasonLookalike = "lookalike"   // the evidence cannot tell who it is: the agent picks
	reasonOthers    = "others"      // the agent asked for the other candidates
)

// How the sidebar knows who a chat is, as the page shows it: the
// identity of a loading, customer or unknown/not_in_shop answer.
const (
	identityPending   = "pending"   // 识别中: waiting briefly for stronger evidence
	identityConfirmed = "confirmed" // 已识别: the console's own request or the card's fans_uin
	identityAvatar    = "avatar"    // 按头像匹配: the only known user with this avatar and nickname
	identityPicked    = "picked"    // 客服选择: the agent picked the user
	identityBound     = "bound"     // 已关联: the agent bound the chat to a customer
	identityQueued    = "queued"    // 按排队消息匹配: the queued message matches this user's push
)

// identityOf is the identity a resolver's evidence gives.
func identityOf(evidence string) string {
	switch evidence {
	case console.EvidenceOpened, console.EvidenceUIN:
		return identityConfirmed
	case console.EvidenceAvatar:
		return identityAvatar
	case console.EvidenceQueued:
		return identityQueued
	}
	return ""
}

// Error texts shown to the agent as they are: short, Chinese, and free of
// internals (backend errors go to the log, not to the page).
const (
	msgLookupFailed  = "查询客户资料失败，请重试"
	msgTimeout       = "查询超时，请重试"
	msgUnavailable   = "店铺系统暂时不可用"
	msgStale         = "刷新失败，显示的是上次查到的资料"
	msgBadPick       = "请从列表中选择客户"
	msgBadRequest    = "无法识别的请求"
	msgBadBind       = "请从搜索结果中选择要关联的客户"
	msgNoBindings    = "没有启用手动关联"
	msgCannotBind    = "认不出这个会话，无法关联"
	msgBindFailed    = "保存关联失败，请重试"
	msgBadReveal     = "这一项已不在当前客户资料里"
	msgRevealFailed  = "无法记录这次查看，请重试"
	msgRevealTooFast = "查看太频繁，请稍后再试"
	msgImportRunning = "正在导入订单，请稍后再试"
	msgSearchFailed  = "查找失败，请重试"
	msgSearchTimeout = "查找超时，请重试"
)

// request is any message from a sidebar. Fields not used by its type are
// empty.
type request struct {
	Type       string `json:"type"`
	Seq        int64  `json:"seq"`
	UIN        string `json:"uin,omitempty"`
	Opened     string `json:"opened,omitempty"`
	Avatar     string `json:"avatar,omitempty"`
	Nickname   string `json:"nickname,omitempty"`
	Peers      int    `json:"peers,omitempty"`
	For        int64  `json:"for,omitempty"`
	OpenID     string `json:"openid,omitempty"`
	Field      string `json:"field,omitempty"`
	Query      string `json:"query,omitempty"`
	CustomerID string `json:"customer_id,omitempty"`
}

// query is the selection carried by a select request.
func (r request) query() console.Query {
	return console.Query{Opened: r.Opened, UIN: r.UIN, Avatar: r.Avatar, Nickname: r.Nickname, Peers: r.Peers}
}

// message is any message to a sidebar. Seq echoes the request it answers,
// so the sidebar can ignore answers to requests it has since replaced.
type message struct {
	Type       string         `json:"type"`
	Seq        int64          `json:"seq"`
	OpenID     string         `json:"openid,omitempty"`
	Nickname   string         `json:"nickname,omitempty"`
	Customer   *shop.Customer `json:"customer,omitempty"`
	Reason     string         `json:"reason,omitempty"`
	Candidates []candidate    `json:"candidates,omitempty"`
	Message    string         `json:"message,omitempty"`
	// loading, customer, unknown (not_in_shop): how the sidebar knows
	// who the chat is
	Identity string `json:"identity,omitempty"`
	// customer
	Bound     bool        `json:"bound,omitempty"`
	Masked    []string    `json:"masked,omitempty"`
	FetchedAt *time.Time  `json:"fetched_at,omitempty"`
	Stale     bool        `json:"stale,omitempty"`
	Error     string      `json:"error,omitempty"`
	Health    *healthInfo `json:"health,omitempty"`
	// revealed
	Field string `json:"field,omitempty"`
	Value string `json:"value,omitempty"`
	// results
	Query     string      `json:"query,omitempty"`
	Customers []searchHit `json:"customers,omitzero"`
	// quick_replies
	Groups []quickreply.Group `json:"groups,omitzero"`
	// source
	Source *sourceInfo `json:"source,omitempty"`
	// tracking
	Tracking *trackingInfo `json:"tracking,omitempty"`
}

// candidate is one user the agent can pick when several share an avatar.
type candidate struct {
	OpenID   string    `json:"openid"`
	Nickname string    `json:"nickname,omitempty"`
	Avatar   string    `json:"avatar,omitempty"`
	SeenAt   time.Time `json:"seen_at"`
}

func candidatesOf(recs []console.Record) []candidate {
	out := make([]candidate, len(recs))
	for i, r := range recs {
		out[i] = candidate{OpenID: r.OpenID, Nickname: r.Nickname, Avatar: r.HeadImgURL, SeenAt: r.SeenAt}
	}
	return out
}

// searchHit is one customer a search found, masked like a customer card.
type searchHit struct {
	ID     string `json:"id"`
	OpenID string `json:"openid,omitempty"`
	Name   string `json:"name"`
	Phone  string `json:"phone,omitempty"`
	Level  string `json:"level,omitempty"`
}

// healthInfo is the backend's trouble as the page shows it: the state
// and when the next attempt is due, never the error itself.
type healthInfo struct {
	State   string     `json:"state"`
	RetryAt *time.Time `json:"retry_at,omitempty"`
}
