package mpkftest

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// controlPrefix is where the drivers are exposed over HTTP, for the demo's
// control page and terminal. It is outside the console's own paths so the
// console page stays faithful.
const controlPrefix = "/__mpkftest/"

// fanJSON names a fan in control responses.
type fanJSON struct {
	UIN      int64  `json:"uin"`
	Nickname string `json:"nickname"`
	Avatar   string `json:"avatar"`
}

func toFanJSON(f Fan) fanJSON {
	a := f.AvatarPage()
	if a == "" {
		a = noAvatar
	}
	return fanJSON{UIN: f.UIN, Nickname: f.Nickname, Avatar: a}
}

type controlResp struct {
	OK    bool     `json:"ok"`
	Error string   `json:"error,omitempty"`
	Fan   *fanJSON `json:"fan,omitempty"`
}

// controlState is GET /__mpkftest/state: who is where, for the control
// page's buttons.
type controlState struct {
	Open      []fanJSON `json:"open"`
	Waiting   []fanJSON `json:"waiting"`
	Transfers []fanJSON `json:"transfers"`
	Idle      []fanJSON `json:"idle"`
}

// control serves the control page and the driver endpoints:
//
//	GET  /__mpkftest/           the control page (新客户排队, 同事转接, 客户发消息)
//	GET  /__mpkftest/state      JSON of the open, waiting, transferring and idle fans
//	POST /__mpkftest/waiting    form uin (optional: the next idle fan)
//	POST /__mpkftest/transfer   form uin (optional: the next idle fan)
//	POST /__mpkftest/message    form uin (optional: the latest open chat), text (optional)
//
// POSTs from another origin are refused, so a web page cannot drive a
// running demo.
func (s *Server) control(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimPrefix(r.URL.Path, controlPrefix)
	if r.Method == http.MethodPost && !sameOrigin(r) {
		s.controlReply(w, r, http.StatusForbidden, controlResp{Error: "cross-origin request refused"})
		return
	}
	switch {
	case name == "" && r.Method == http.MethodGet:
		var buf bytes.Buffer
		if err := s.assets.control.Execute(&buf, map[string]any{"Console": s.URL()}); err != nil {
			s.log.Error("mpkftest control page", "err", err)
			http.Error(w, "internal error", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Cache-Control", "no-cache")
		s.reply(w, r, http.StatusOK, "text/html; charset=UTF-8", buf.Bytes())
	case name == "state" && r.Method == http.MethodGet:
		s.controlReply(w, r, http.StatusOK, s.controlState())
	case r.Method != http.MethodPost:
		http.NotFound(w, r)
	case name == "waiting" || name == "transfer" || name == "message":
		f, status, msg := s.controlFan(r.PostForm.Get("uin"), name != "message")
		if status != http.StatusOK {
			s.controlReply(w, r, status, controlResp{Error: msg})
			return
		}
		switch name {
		case "waiting":
			s.AddWaiting(f)
		case "transfer":
			s.TransferIn(f)
		default:
			text := strings.TrimSpace(r.PostForm.Get("text"))
			if text == "" {
				text = followUps[rand.IntN(len(followUps))]
			}
			s.SendFromFan(f.UIN, text)
		}
		fj := toFanJSON(f)
		s.controlReply(w, r, http.StatusOK, controlResp{OK: true, Fan: &fj})
	default:
		http.NotFound(w, r)
	}
}

// controlFan picks the fan a control request is about. For a new chat
// (idle true) that is the given uin, which must have no chat, else the next
// idle fan; for a message it is the given uin, which must have an open
// chat, else the latest open chat's fan. A failure comes with an HTTP
// status and a message for the operator.
func (s *Server) controlFan(uin string, idle bool) (Fan, int, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if uin == "" {
		switch {
		case idle:
			if f, ok := s.st.idle(); ok {
				return f, http.StatusOK, ""
			}
			return Fan{}, http.StatusConflict, "没有空闲的模拟客户（都已在会话、排队或转接中）"
		case len(s.st.open) > 0:
			return s.st.open[len(s.st.open)-1].Fan, http.StatusOK, ""
		default:
			return Fan{}, http.StatusConflict, "当前没有进行中的会话"
		}
	}
	n, err := strconv.ParseInt(uin, 10, 64)
	f, ok := s.st.fan(n)
	if err != nil || !ok {
		return Fan{}, http.StatusNotFound, "没有这个模拟客户：" + uin
	}
	c, list := s.st.find(n)
	switch {
	case idle && c != nil:
		return Fan{}, http.StatusConflict, f.Nickname + " 已在会话、排队或转接中"
	case !idle && (c == nil || list != &s.st.open):
		return Fan{}, http.StatusConflict, f.Nickname + " 没有进行中的会话"
	}
	return f, http.StatusOK, ""
}

func (s *Server) controlState() controlState {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := controlState{Open: []fanJSON{}, Waiting: []fanJSON{}, Transfers: []fanJSON{}, Idle: []fanJSON{}}
	for _, l := range []struct {
		chats []*chat
		out   *[]fanJSON
	}{{s.st.open, &st.Open}, {s.st.waiting, &st.Waiting}, {s.st.transfers, &st.Transfers}} {
		for _, c := range l.chats {
			*l.out = append(*l.out, toFanJSON(c.Fan))
		}
	}
	for _, f := range s.st.fans {
		if c, _ := s.st.find(f.UIN); c == nil {
			st.Idle = append(st.Idle, toFanJSON(f))
		}
	}
	return st
}

func (s *Server) controlReply(w http.ResponseWriter, r *http.Request, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	s.reply(w, r, status, "application/json; charset=utf-8", body)
}

// sameOrigin allows requests without an Origin (curl, Go clients) and
// those whose Origin host is the request's own host.
func sameOrigin(r *http.Request) bool {
	o := r.Header.Get("Origin")
	if o == "" {
		return true
	}
	u, err := url.Parse(o)
	return err == nil && strings.EqualFold(u.Host, r.Host)
}
