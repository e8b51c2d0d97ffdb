package mpkftest

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// cgiAction is one /cgi-bin/<name>?action=<verb> endpoint. Handlers run
// with the request's form parsed and the token checked.
type cgiAction struct {
	post bool // the real console POSTs a form to it
	fn   func(s *Server, r *http.Request) any
}

// cgiActions maps "<name>/<action>" to its endpoint.
var cgiActions = map[string]cgiAction{
	"kfsessionmgr/kfcreatesession":      {fn: (*Server).createSession},
	"kfsessionmgr/kfclosesession":       {fn: (*Server).closeSession},
	"kfunaccepted/getmsglist":           {fn: (*Server).waitingList},
	"kfunaccepted/kfbatchcreatesession": {post: true, fn: (*Server).batchCreateSession},
	"kftransfer/gettransferinfo":        {fn: (*Server).transferInfo},
	"kfmsg/getfansmsglist":              {fn: (*Server).history},
	"kfmsg/getnewmsg":                   {fn: (*Server).newMsg},
	"kfmsg/send":                        {post: true, fn: (*Server).send},
	"kfsettings/getsettings":            {fn: (*Server).settings},
}

// cgi serves /cgi-bin/<name>?action=<verb>&token=…&f=json.
func (s *Server) cgi(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	a, ok := cgiActions[r.PathValue("name")+"/"+q.Get("action")]
	switch {
	case !ok:
		s.replyJSON(w, r, http.StatusNotFound, baseOnly{baseResp{Ret: retFailed, ErrMsg: "invalid action"}})
	case a.post && r.Method != http.MethodPost:
		w.Header().Set("Allow", http.MethodPost)
		s.replyJSON(w, r, http.StatusMethodNotAllowed, baseOnly{baseResp{Ret: retFailed, ErrMsg: "method not allowed"}})
	case q.Get("token") != s.opts.Token:
		s.replyJSON(w, r, http.StatusOK, baseOnly{baseResp{Ret: retInvalidSession, ErrMsg: "invalid session"}})
	default:
		s.replyJSON(w, r, http.StatusOK, a.fn(s, r))
	}
}

// replyJSON writes v with the configured JSON Content-Type, compressed
// when the client accepts it.
func (s *Server) replyJSON(w http.ResponseWriter, r *http.Request, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		s.log.Error("mpkftest marshal", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Cache-Control", "no-cache, must-revalidate")
	s.reply(w, r, status, s.opts.JSONContentType, body)
}

// uinList parses "123,456" (fansuinlist); bad entries are skipped, as a
// server that ignores garbage would.
func uinList(v string) []int64 {
	var out []int64
	for f := range strings.SplitSeq(v, ",") {
		if n, err := strconv.ParseInt(strings.TrimSpace(f), 10, 64); err == nil && n > 0 {
			out = append(out, n)
		}
	}
	return out
}

func (c *chat) session() kfSession {
	return kfSession{
		FansUIN:    c.Fan.UIN,
		Nickname:   c.Fan.Nickname,
		FansOpenID: c.Fan.OpenID,
		SessionID:  c.SessionID,
		StartTime:  c.Start.Unix(),
		HeadImgURL: c.Fan.AvatarJSON(),
		KFAccount:  me.Account,
	}
}

func (m *message) json() msgJSON {
	return msgJSON{MsgID: m.ID, FromUIN: m.From, ToUIN: m.To, MsgType: 1, Content: m.Content, CreateTime: m.Time.Unix()}
}

func (c *chat) summary() msgSummary {
	return msgSummary{Msg: c.last().json(), UnreadCnt: len(c.Msgs) - c.Read}
}

// accept opens the chats of uins, one result per uin, in order.
func (s *Server) accept(uins []int64) createResp {
	now := time.Now()
	resp := createResp{BaseResp: respOK, Items: []createItem{}}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, uin := range uins {
		c, ok := s.st.accept(uin, now)
		if !ok {
			resp.Items = append(resp.Items, createItem{
				BaseResp:  baseResp{Ret: retFailed, ErrMsg: "fans not in waiting list"},
				KFSession: failedSession{FansUIN: uin},
			})
			continue
		}
		sum := c.summary()
		resp.Items = append(resp.Items, createItem{BaseResp: respOK, KFSession: c.session(), MsgSummary: &sum})
	}
	if len(uins) > 0 {
		s.wakeLocked()
	}
	return resp
}

// createSession is the agent's 接入 on one waiting fan.
func (s *Server) createSession(r *http.Request) any {
	return s.accept(uinList(r.Form.Get("fansuinlist")))
}

// batchCreateSession is 全部接入 (isselectall=1: every waiting fan, the
// listed ones first) and the auto-accept switch (isauto=1).
func (s *Server) batchCreateSession(r *http.Request) any {
	uins := uinList(r.PostForm.Get("fansuinlist"))
	if r.PostForm.Get("isselectall") == "1" {
		s.mu.Lock()
		for _, c := range s.st.waiting {
			if !slices.Contains(uins, c.Fan.UIN) {
				uins = append(uins, c.Fan.UIN)
			}
		}
		s.mu.Unlock()
	}
	return s.accept(uins)
}

func (s *Server) closeSession(r *http.Request) any {
	uin, _ := strconv.ParseInt(r.Form.Get("fansuin"), 10, 64)
	sid, _ := strconv.ParseInt(r.Form.Get("sessionid"), 10, 64)
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.st.closeChat(uin, sid) {
		return baseOnly{baseResp{Ret: retFailed, ErrMsg: "session not found"}}
	}
	s.wakeLocked()
	return baseOnly{respOK}
}

func (s *Server) waitingList(*http.Request) any {
	s.mu.Lock()
	defer s.mu.Unlock()
	resp := waitingResp{BaseResp: respOK, MsgList: []waitingItem{}, TotalCnt: len(s.st.waiting)}
	for _, c := range s.st.waiting {
		m := c.last()
		resp.MsgList = append(resp.MsgList, waitingItem{
			Msg:        waitingMsg{MsgID: m.ID, UserUIN: c.Fan.UIN, MsgType: 1, Content: m.Content, CreateTime: m.Time.Unix()},
			Nickname:   c.Fan.Nickname,
			HeadImgURL: c.Fan.AvatarJSON(),
			MsgCnt:     len(c.Msgs),
		})
	}
	return resp
}

func (s *Server) transferInfo(*http.Request) any {
	s.mu.Lock()
	defer s.mu.Unlock()
	resp := transferResp{BaseResp: respOK, List: []transferItem{}}
	for _, c := range s.st.takeTransfers() {
		resp.List = append(resp.List, transferItem{
			FromKF:       colleague,
			KFSession:    c.session(),
			MsgSummary:   c.summary(),
			TransferTime: c.Since.Unix(),
			Remark:       "客户咨询订单问题",
		})
	}
	if len(resp.List) > 0 {
		s.wakeLocked()
	}
	return resp
}

// history is a fan's messages, oldest first.
func (s *Server) history(r *http.Request) any {
	uin, _ := strconv.ParseInt(r.Form.Get("fansuin"), 10, 64)
	s.mu.Lock()
	defer s.mu.Unlock()
	c, _ := s.st.find(uin)
	if c == nil {
		return historyResp{BaseResp: baseResp{Ret: retFailed, ErrMsg: "fans not found"}, MsgList: []msgItem{}}
	}
	resp := historyResp{BaseResp: respOK, MsgList: make([]msgItem, 0, len(c.Msgs))}
	for _, m := range c.Msgs {
		resp.MsgList = append(resp.MsgList, msgItem{Msg: m.json()})
	}
	c.Read = len(c.Msgs)
	return resp
}

// newMsg is the long poll: it answers at once when the state moved past
// the client's seq, else when it does, or after PollTimeout, or when the
// server closes.
func (s *Server) newMsg(r *http.Request) any {
	seq, err := strconv.ParseInt(r.Form.Get("seq"), 10, 64)
	if err != nil {
		seq = -1
	}
	s.waitChange(r.Context(), seq)
	s.mu.Lock()
	defer s.mu.Unlock()
	resp := newMsgResp{
		BaseResp:    respOK,
		Seq:         s.st.seq,
		MsgList:     []msgItem{},
		Unaccepted:  unacceptedInfo{Count: len(s.st.waiting), Seq: s.st.waitingSeq},
		TransferCnt: len(s.st.transfers),
	}
	for _, c := range s.st.open {
		for _, m := range c.Msgs {
			if m.Seq > seq && m.From == c.Fan.UIN {
				resp.MsgList = append(resp.MsgList, msgItem{Msg: m.json()})
			}
		}
	}
	return resp
}

// waitChange returns when the state's seq differs from seq, the timeout
// passes, the request ends or the server closes.
func (s *Server) waitChange(ctx context.Context, seq int64) {
	timer := time.NewTimer(s.opts.PollTimeout)
	defer timer.Stop()
	for {
		s.mu.Lock()
		moved, ch := s.st.seq != seq, s.changed
		s.mu.Unlock()
		if moved {
			return
		}
		select {
		case <-ch:
		case <-timer.C:
			return
		case <-ctx.Done():
			return
		case <-s.closing:
			return
		}
	}
}

// maxContent is the longest text message the console accepts, in runes.
const maxContent = 600

func (s *Server) send(r *http.Request) any {
	f := r.PostForm
	sid, _ := strconv.ParseInt(f.Get("sessionid"), 10, 64)
	content := f.Get("content")
	fail := func(msg string) any {
		return sendResp{BaseResp: baseResp{Ret: retFailed, ErrMsg: msg}, ClientMsgID: f.Get("clientmsgid")}
	}
	switch {
	case f.Get("msgtype") != "1":
		return fail("invalid msgtype")
	case strings.TrimSpace(content) == "":
		return fail("empty content")
	case utf8.RuneCountInString(content) > maxContent:
		return fail("content too long")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var c *chat
	for _, o := range s.st.open {
		if o.SessionID == sid {
			c = o
		}
	}
	if c == nil || c.Fan.OpenID != f.Get("fans_openid") {
		return fail("session not found")
	}
	m := s.st.addMsg(c, me.UIN, c.Fan.UIN, content, time.Now())
	c.Read = len(c.Msgs)
	s.wakeLocked()
	s.log.Debug("mpkftest send", "session", sid, "fastreply", f.Get("isfastreply"))
	return sendResp{BaseResp: respOK, MsgID: m.ID, CreateTime: m.Time.Unix(), ClientMsgID: f.Get("clientmsgid")}
}

func (s *Server) settings(*http.Request) any {
	return settingsResp{
		BaseResp:    respOK,
		Config:      fastReplyList{FastReplyList: myFastReplies},
		PublicReply: fastReplyList{FastReplyList: publicFastReplies},
	}
}
