package mpkftest

// The JSON of the console's cgi API. Field names follow the public
// evidence about the real console (see /work/shared/design.md); where the
// evidence says nothing, the choice made here is documented on the type.

// baseResp heads every response; ret != 0 is a failure.
type baseResp struct {
	Ret    int    `json:"ret"`
	ErrMsg string `json:"err_msg"`
}

var respOK = baseResp{Ret: 0, ErrMsg: "ok"}

// baseOnly is a response with nothing but base_resp.
type baseOnly struct {
	BaseResp baseResp `json:"base_resp"`
}

// Failures. retInvalidSession is what mp.weixin.qq.com answers for a bad
// token; the page sends the agent to the login page on it.
const (
	retFailed         = -1
	retInvalidSession = 200003
)

// kfSession is a chat as the console's JSON carries it: the one place the
// fan's openid appears.
type kfSession struct {
	FansUIN    int64  `json:"fans_uin"`
	Nickname   string `json:"nickname"`
	FansOpenID string `json:"fans_openid"`
	SessionID  int64  `json:"session_id"`
	StartTime  int64  `json:"start_time"`
	HeadImgURL string `json:"headimgurl"`
	KFAccount  string `json:"kf_account"`
}

// failedSession is the kfsession of an accept that failed: only the uin,
// so the page can tell which fan it was, and never the openid.
type failedSession struct {
	FansUIN int64 `json:"fans_uin"`
}

// msgJSON is a chat message. fromuin is the fan's fans_uin for the fan's
// messages and an agent's kf_uin for agents' (msgtype 1 is text).
type msgJSON struct {
	MsgID      int64  `json:"msgid"`
	FromUIN    int64  `json:"fromuin"`
	ToUIN      int64  `json:"touin"`
	MsgType    int    `json:"msgtype"`
	Content    string `json:"content"`
	CreateTime int64  `json:"createtime"`
}

type msgItem struct {
	Msg msgJSON `json:"msg"`
}

type msgSummary struct {
	Msg       msgJSON `json:"msg"`
	UnreadCnt int     `json:"unread_cnt"`
}

// sessionItem is one open chat in the page's bootstrap
// (sessions.kfsession_and_msgsummary[]).
type sessionItem struct {
	KFSession  kfSession  `json:"kfsession"`
	MsgSummary msgSummary `json:"msgsummary"`
}

// createItem is one fan's result in kfcreatesession_resp[], the answer of
// both kfsessionmgr kfcreatesession and kfunaccepted kfbatchcreatesession.
// On failure base_resp.ret is -1, KFSession is a failedSession and there
// is no msgsummary.
type createItem struct {
	BaseResp   baseResp    `json:"base_resp"`
	KFSession  any         `json:"kfsession"`
	MsgSummary *msgSummary `json:"msgsummary,omitempty"`
}

type createResp struct {
	BaseResp baseResp     `json:"base_resp"`
	Items    []createItem `json:"kfcreatesession_resp"`
}

// waitingMsg is a waiting fan's latest message; the real console names the
// fan useruin here.
type waitingMsg struct {
	MsgID      int64  `json:"msgid"`
	UserUIN    int64  `json:"useruin"`
	MsgType    int    `json:"msgtype"`
	Content    string `json:"content"`
	CreateTime int64  `json:"createtime"`
}

// waitingItem is one fan of kfunaccepted getmsglist's msglist[]. It has no
// openid: the console learns that only when the fan is accepted.
type waitingItem struct {
	Msg        waitingMsg `json:"msg"`
	Nickname   string     `json:"nickname"`
	HeadImgURL string     `json:"headimgurl"`
	MsgCnt     int        `json:"msg_cnt"`
}

type waitingResp struct {
	BaseResp baseResp      `json:"base_resp"`
	MsgList  []waitingItem `json:"msglist"`
	TotalCnt int           `json:"total_cnt"`
}

// transferItem is one chat a colleague transferred to us. The public
// evidence only says gettransferinfo is "about the same shape" as the
// accept responses, so this nesting is a deliberate choice that differs
// from kfcreatesession_resp: the list is transfer_info_list[], each item
// names the colleague in from_kf and carries kfsession (with fans_openid)
// and msgsummary, with no per-item base_resp.
type transferItem struct {
	FromKF       kfAccount  `json:"from_kf"`
	KFSession    kfSession  `json:"kfsession"`
	MsgSummary   msgSummary `json:"msgsummary"`
	TransferTime int64      `json:"transfer_time"`
	Remark       string     `json:"remark"`
}

type transferResp struct {
	BaseResp baseResp       `json:"base_resp"`
	List     []transferItem `json:"transfer_info_list"`
}

type historyResp struct {
	BaseResp baseResp  `json:"base_resp"`
	MsgList  []msgItem `json:"msglist"`
}

// unacceptedInfo tells a poller whether the waiting list changed since it
// last looked (seq) without sending the list itself.
type unacceptedInfo struct {
	Count int   `json:"count"`
	Seq   int64 `json:"seq"`
}

// newMsgResp answers the getnewmsg long poll: the fans' new messages in
// open chats, the state's seq to poll with next, the waiting list's count
// and seq, and how many transfers wait for gettransferinfo.
type newMsgResp struct {
	BaseResp    baseResp       `json:"base_resp"`
	Seq         int64          `json:"seq"`
	MsgList     []msgItem      `json:"msglist"`
	Unaccepted  unacceptedInfo `json:"unaccepted"`
	TransferCnt int            `json:"transfer_cnt"`
}

type sendResp struct {
	BaseResp    baseResp `json:"base_resp"`
	MsgID       int64    `json:"msgid"`
	CreateTime  int64    `json:"createtime"`
	ClientMsgID string   `json:"clientmsgid"`
}

// fastReply is one of the console's own quick replies.
type fastReply struct {
	MsgType int    `json:"msgtype"`
	Content string `json:"content"`
}

type fastReplyList struct {
	FastReplyList []fastReply `json:"fastreply_list"`
}

type settingsResp struct {
	BaseResp    baseResp      `json:"base_resp"`
	Config      fastReplyList `json:"config"`
	PublicReply fastReplyList `json:"public_reply"`
}

// cgiData is the page's inline bootstrap, MCS.cgiData.
type cgiData struct {
	Token      string         `json:"token"`
	Lang       string         `json:"lang"`
	KFInfo     kfAccount      `json:"kf_info"`
	ShopName   string         `json:"nick_name"`
	Seq        int64          `json:"seq"`
	ServerTime int64          `json:"server_time"`
	Sessions   sessionsJSON   `json:"sessions"`
	Unaccepted unacceptedInfo `json:"unaccepted"`
}

type sessionsJSON struct {
	List []sessionItem `json:"kfsession_and_msgsummary"`
}

// myFastReplies and publicFastReplies are the console's quick replies
// (the agent's own, and the mini-program's shared ones).
var (
	myFastReplies = []fastReply{
		{MsgType: 1, Content: "您好，请问有什么可以帮您？"},
		{MsgType: 1, Content: "好的，我这边帮您查一下，请稍等～"},
		{MsgType: 1, Content: "感谢您的耐心等待，还有其他问题随时联系我们哦"},
	}
	publicFastReplies = []fastReply{
		{MsgType: 1, Content: "亲，下单后48小时内发货，顺丰/中通随机发出"},
		{MsgType: 1, Content: "收到商品有任何问题，7天内可申请无理由退换"},
		{MsgType: 1, Content: "工作时间：周一至周日 9:00-22:00"},
	}
)
