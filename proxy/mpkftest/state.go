package mpkftest

import (
	"slices"
	"time"
)

// kfAccount is a customer-service agent of the mini-program.
type kfAccount struct {
	UIN        int64  `json:"kf_uin"`
	Account    string `json:"kf_account"`
	Nickname   string `json:"nickname"`
	HeadImgURL string `json:"headimgurl"`
}

// me is the agent logged in to the simulated console; colleague is the one
// who transfers chats to us.
var (
	me        = kfAccount{UIN: 3090170012, Account: "kf2001@shiguang_shop", Nickname: "客服小鱼", HeadImgURL: "http://wx.qlogo.cn/mmhead/Q3auHgzwzM6tf7EbsDe0G9Cryn687neLfjVHq8xiM0OGr4hTxoFg"}
	colleague = kfAccount{UIN: 3090170047, Account: "kf2002@shiguang_shop", Nickname: "客服阿朵", HeadImgURL: "http://wx.qlogo.cn/mmhead/Q3auHgzwzM5ZFJoC6vWCBiJmpflvJfupxqZKm4bV3AyAVHnyrvWdA"}
)

// shopName is the mini-program the console serves, shown in its header.
const shopName = "拾光生活馆"

// message is one chat message. seq is the state's seq when it was added,
// which is how getnewmsg finds what a poller has not seen.
type message struct {
	ID      int64
	Seq     int64
	From    int64 // fans_uin for the fan, kf_uin for an agent
	To      int64
	Content string
	Time    time.Time
}

// chat is a fan's conversation: waiting, pending transfer, or open.
type chat struct {
	Fan       Fan
	SessionID int64
	Start     time.Time
	Since     time.Time // when the fan started waiting or was transferred
	Msgs      []*message
	// Read is how many of Msgs the console has shown; the rest are unread.
	Read int
}

func (c *chat) last() *message {
	if len(c.Msgs) == 0 {
		return &message{}
	}
	return c.Msgs[len(c.Msgs)-1]
}

// state is the console's world: who waits, who is being transferred, who
// is open. Every change moves seq, which wakes long polls. The Server's mu
// guards it.
type state struct {
	fans      []Fan
	open      []*chat
	waiting   []*chat
	transfers []*chat

	seq        int64
	waitingSeq int64 // seq of the last change to the waiting list
	nextMsgID  int64
	nextSessID int64
}

func newState(opts Options, now time.Time) *state {
	st := &state{
		fans:       slices.Clone(opts.Fans),
		seq:        1000,
		nextMsgID:  6_420_000_000,
		nextSessID: 408_215_300,
	}
	for i, f := range opts.Fans[:opts.OpenAtLoad] {
		start := now.Add(-time.Duration(max(2, 25-i*7)) * time.Minute)
		c := newChat(f, start)
		lines := opening(f)
		st.addMsg(c, f.UIN, me.UIN, lines[0], start)
		st.addMsg(c, me.UIN, f.UIN, "您好，这里是"+shopName+me.Nickname+"，很高兴为您服务～", start.Add(40*time.Second))
		for j, l := range lines[1:] {
			st.addMsg(c, f.UIN, me.UIN, l, start.Add(time.Duration(j+2)*time.Minute))
		}
		c.SessionID = st.newSessionID()
		c.Read = len(c.Msgs)
		if c.last().From == f.UIN {
			c.Read-- // the fan's latest line is still unread
		}
		st.open = append(st.open, c)
	}
	for i, f := range opts.Fans[opts.OpenAtLoad : opts.OpenAtLoad+opts.Waiting] {
		since := now.Add(-time.Duration(max(1, 6-i*2)) * time.Minute)
		c := newChat(f, since)
		for j, l := range opening(f) {
			st.addMsg(c, f.UIN, me.UIN, l, since.Add(time.Duration(j)*20*time.Second))
		}
		st.waiting = append(st.waiting, c)
	}
	st.waitingSeq = st.seq
	return st
}

func newChat(f Fan, since time.Time) *chat {
	return &chat{Fan: f, Start: since, Since: since}
}

func (st *state) newSessionID() int64 {
	st.nextSessID += 7
	return st.nextSessID
}

// addMsg appends a message and moves seq.
func (st *state) addMsg(c *chat, from, to int64, content string, t time.Time) *message {
	st.seq++
	st.nextMsgID += 13
	m := &message{ID: st.nextMsgID, Seq: st.seq, From: from, To: to, Content: content, Time: t}
	c.Msgs = append(c.Msgs, m)
	return m
}

// find reports where a fan's chat is: in open, waiting or transfers.
func (st *state) find(uin int64) (c *chat, list *[]*chat) {
	for _, l := range []*[]*chat{&st.open, &st.waiting, &st.transfers} {
		for _, c := range *l {
			if c.Fan.UIN == uin {
				return c, l
			}
		}
	}
	return nil, nil
}

// fan finds a fan by uin among the configured fans and every chat.
func (st *state) fan(uin int64) (Fan, bool) {
	if c, _ := st.find(uin); c != nil {
		return c.Fan, true
	}
	for _, f := range st.fans {
		if f.UIN == uin {
			return f, true
		}
	}
	return Fan{}, false
}

// idle returns the first configured fan who has no chat now, for drivers
// that are not told which fan to use.
func (st *state) idle() (Fan, bool) {
	for _, f := range st.fans {
		if c, _ := st.find(f.UIN); c == nil {
			return f, true
		}
	}
	return Fan{}, false
}

// remember adds a fan that was not configured, so its avatar can be drawn.
func (st *state) remember(f Fan) {
	for _, g := range st.fans {
		if g.UIN == f.UIN {
			return
		}
	}
	st.fans = append(st.fans, f)
}

// accept opens the chat of a waiting fan. ok is false when the fan is not
// waiting (taken by another agent, never waited, or already open).
func (st *state) accept(uin int64, now time.Time) (*chat, bool) {
	c, list := st.find(uin)
	if c == nil || list != &st.waiting {
		return nil, false
	}
	st.waiting = slices.DeleteFunc(st.waiting, func(w *chat) bool { return w == c })
	c.SessionID = st.newSessionID()
	c.Start = now
	st.open = append(st.open, c)
	st.seq++
	st.waitingSeq = st.seq
	return c, true
}

// takeTransfers moves the pending transfers to the open chats.
func (st *state) takeTransfers() []*chat {
	ts := st.transfers
	st.transfers = nil
	st.open = append(st.open, ts...)
	if len(ts) > 0 {
		st.seq++
	}
	return ts
}

// closeChat ends an open chat.
func (st *state) closeChat(uin, sessionID int64) bool {
	n := len(st.open)
	st.open = slices.DeleteFunc(st.open, func(c *chat) bool {
		return c.Fan.UIN == uin && (sessionID == 0 || c.SessionID == sessionID)
	})
	if len(st.open) == n {
		return false
	}
	st.seq++
	return true
}

// AddWaiting makes f start waiting for an agent, as when a user opens the
// mini-program's customer-service chat; long polls wake up and the page
// refreshes its waiting list. A fan who already has a chat is left alone.
func (s *Server) AddWaiting(f Fan) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, _ := s.st.find(f.UIN); c != nil {
		s.log.Debug("mpkftest add waiting: fan already has a chat", "uin", f.UIN)
		return
	}
	s.st.remember(f)
	now := time.Now()
	c := newChat(f, now)
	for _, l := range opening(f) {
		s.st.addMsg(c, f.UIN, me.UIN, l, now)
	}
	s.st.waiting = append(s.st.waiting, c)
	s.st.waitingSeq = s.st.seq
	s.wakeLocked()
	s.log.Debug("mpkftest add waiting", "uin", f.UIN)
}

// TransferIn has a colleague transfer f's chat to us. The page learns of
// it on its next poll and fetches it with kftransfer gettransferinfo. A
// waiting fan leaves the waiting list; an open chat is left alone.
func (s *Server) TransferIn(f Fan) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, list := s.st.find(f.UIN)
	wasWaiting := list == &s.st.waiting
	switch {
	case c != nil && !wasWaiting:
		s.log.Debug("mpkftest transfer in: chat already open or pending", "uin", f.UIN)
		return
	case wasWaiting:
		s.st.waiting = slices.DeleteFunc(s.st.waiting, func(w *chat) bool { return w == c })
	default:
		s.st.remember(f)
		now := time.Now()
		c = newChat(f, now.Add(-3*time.Minute))
		for _, l := range opening(f) {
			s.st.addMsg(c, f.UIN, colleague.UIN, l, c.Start)
		}
	}
	now := time.Now()
	s.st.addMsg(c, colleague.UIN, f.UIN, "您好，这个问题我请同事"+me.Nickname+"来为您处理，请稍等～", now)
	c.SessionID = s.st.newSessionID()
	c.Since = now
	if wasWaiting {
		s.st.waitingSeq = s.st.seq
	}
	s.st.transfers = append(s.st.transfers, c)
	s.wakeLocked()
	s.log.Debug("mpkftest transfer in", "uin", f.UIN)
}

// SendFromFan delivers a message from the fan with this uin, to their open
// chat (the page gets it by polling) or to their waiting-list entry. A fan
// without a chat is ignored.
func (s *Server) SendFromFan(uin int64, text string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, list := s.st.find(uin)
	if c == nil {
		s.log.Debug("mpkftest send from fan: no chat", "uin", uin)
		return
	}
	s.st.addMsg(c, uin, me.UIN, text, time.Now())
	if list == &s.st.waiting {
		s.st.waitingSeq = s.st.seq
	}
	s.wakeLocked()
}

// Accepted returns the fans whose chats are open now, in the order they
// were opened (at load, accepted, transferred in).
func (s *Server) Accepted() []Fan {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Fan, len(s.st.open))
	for i, c := range s.st.open {
		out[i] = c.Fan
	}
	return out
}

// wakeLocked wakes every long poll. Callers hold mu and have moved seq.
func (s *Server) wakeLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}
