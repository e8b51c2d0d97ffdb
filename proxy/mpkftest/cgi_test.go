package mpkftest

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"testing"
)

func uinParam(uins ...int64) string {
	var b bytes.Buffer
	for i, u := range uins {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.FormatInt(u, 10))
	}
	return b.String()
}

func TestWaitingList(t *testing.T) {
	s := newServer(t, Options{})
	var got struct {
		BaseResp wBase `json:"base_resp"`
		MsgList  []struct {
			Msg struct {
				UserUIN    int64  `json:"useruin"`
				CreateTime int64  `json:"createtime"`
				Content    string `json:"content"`
			} `json:"msg"`
			Nickname   string `json:"nickname"`
			HeadImgURL string `json:"headimgurl"`
		} `json:"msglist"`
	}
	body := getJSON(t, client(s), http.MethodGet, cgiURL(s, "kfunaccepted", "getmsglist", nil), nil, &got)
	if got.BaseResp.Ret != 0 || got.BaseResp.ErrMsg != "ok" {
		t.Fatalf("base_resp = %+v, want ret 0 ok", got.BaseResp)
	}
	want := Roster[2:5]
	if len(got.MsgList) != len(want) {
		t.Fatalf("msglist has %d fans, want %d", len(got.MsgList), len(want))
	}
	for i, f := range want {
		m := got.MsgList[i]
		if m.Msg.UserUIN != f.UIN || m.Nickname != f.Nickname || m.HeadImgURL != f.AvatarJSON() || m.Msg.Content == "" || m.Msg.CreateTime == 0 {
			t.Errorf("msglist[%d] = %+v, want fan %d %s %s with a message", i, m, f.UIN, f.Nickname, f.AvatarJSON())
		}
		if bytes.Contains(body, []byte(f.OpenID)) {
			t.Errorf("waiting list leaks the openid of %d", f.UIN)
		}
	}
}

func TestCreateSession(t *testing.T) {
	s := newServer(t, Options{})
	c := client(s)
	fan := Roster[2]
	u := cgiURL(s, "kfsessionmgr", "kfcreatesession", url.Values{"fansuinlist": {uinParam(fan.UIN)}})

	var first wCreate
	getJSON(t, c, http.MethodGet, u, nil, &first)
	if first.BaseResp.Ret != 0 || len(first.Items) != 1 {
		t.Fatalf("first accept = %+v, want ret 0 and one item", first)
	}
	it := first.Items[0]
	want := wSession{FansUIN: fan.UIN, Nickname: fan.Nickname, FansOpenID: fan.OpenID, HeadImgURL: fan.AvatarJSON()}
	got := it.KFSession
	got.SessionID, got.StartTime = 0, 0
	if it.BaseResp.Ret != 0 || got != want || it.KFSession.SessionID == 0 || it.KFSession.StartTime == 0 {
		t.Fatalf("first accept item = %+v, want ret 0 and %+v with session_id and start_time", it, want)
	}
	if it.MsgSummary == nil || it.MsgSummary.Msg.MsgID == 0 {
		t.Errorf("first accept item has no msgsummary.msg.msgid: %+v", it.MsgSummary)
	}

	var again wCreate
	body := getJSON(t, c, http.MethodGet, u, nil, &again)
	if len(again.Items) != 1 || again.Items[0].BaseResp.Ret != -1 || again.Items[0].KFSession.FansUIN != fan.UIN {
		t.Fatalf("second accept = %+v, want one item with ret -1 naming the fan", again)
	}
	if bytes.Contains(body, []byte(fan.OpenID)) {
		t.Errorf("failed accept leaks the openid: %s", body)
	}

	accepted := s.Accepted()
	if len(accepted) != 3 || accepted[2].UIN != fan.UIN {
		t.Errorf("Accepted() = %v, want the two open at load then %d", accepted, fan.UIN)
	}
}

func TestBatchCreateSession(t *testing.T) {
	open, w1, w2, w3 := Roster[0], Roster[2], Roster[3], Roster[4]
	tests := []struct {
		name    string
		form    url.Values
		want    []int64 // uins in response order
		wantRet []int
	}{
		{
			name:    "listed, one taken",
			form:    url.Values{"fansuinlist": {uinParam(w1.UIN, open.UIN, w2.UIN)}, "isselectall": {"0"}, "isauto": {"1"}},
			want:    []int64{w1.UIN, open.UIN, w2.UIN},
			wantRet: []int{0, -1, 0},
		},
		{
			name:    "select all",
			form:    url.Values{"fansuinlist": {""}, "isselectall": {"1"}, "isauto": {"0"}},
			want:    []int64{w1.UIN, w2.UIN, w3.UIN},
			wantRet: []int{0, 0, 0},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newServer(t, Options{})
			var got wCreate
			getJSON(t, client(s), http.MethodPost, cgiURL(s, "kfunaccepted", "kfbatchcreatesession", nil), tt.form, &got)
			if got.BaseResp.Ret != 0 || len(got.Items) != len(tt.want) {
				t.Fatalf("response = %+v, want ret 0 and %d items", got, len(tt.want))
			}
			for i, it := range got.Items {
				if it.KFSession.FansUIN != tt.want[i] || it.BaseResp.Ret != tt.wantRet[i] {
					t.Errorf("item %d = uin %d ret %d, want uin %d ret %d", i, it.KFSession.FansUIN, it.BaseResp.Ret, tt.want[i], tt.wantRet[i])
				}
				if it.BaseResp.Ret == 0 && it.KFSession.FansOpenID == "" {
					t.Errorf("item %d: accepted without fans_openid", i)
				}
				if it.BaseResp.Ret != 0 && it.KFSession.FansOpenID != "" {
					t.Errorf("item %d: failed item carries fans_openid", i)
				}
			}
		})
	}

	t.Run("GET refused", func(t *testing.T) {
		s := newServer(t, Options{})
		resp, _ := fetch(t, client(s), http.MethodGet, cgiURL(s, "kfunaccepted", "kfbatchcreatesession", url.Values{"fansuinlist": {uinParam(w1.UIN)}}), nil, nil)
		if resp.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("GET status = %d, want 405", resp.StatusCode)
		}
	})
}

func TestTransferInfo(t *testing.T) {
	s := newServer(t, Options{})
	c := client(s)
	fan, waiting := Roster[10], Roster[3]
	s.TransferIn(fan)
	s.TransferIn(waiting)

	type transferResp struct {
		BaseResp wBase `json:"base_resp"`
		List     []struct {
			FromKF struct {
				Nickname  string `json:"nickname"`
				KFAccount string `json:"kf_account"`
			} `json:"from_kf"`
			KFSession  wSession `json:"kfsession"`
			MsgSummary wSummary `json:"msgsummary"`
		} `json:"transfer_info_list"`
	}
	var got transferResp
	getJSON(t, c, http.MethodGet, cgiURL(s, "kftransfer", "gettransferinfo", nil), nil, &got)
	if got.BaseResp.Ret != 0 || len(got.List) != 2 {
		t.Fatalf("gettransferinfo = %+v, want two transfers", got)
	}
	for i, f := range []Fan{fan, waiting} {
		it := got.List[i]
		if it.KFSession.FansUIN != f.UIN || it.KFSession.FansOpenID != f.OpenID || it.KFSession.HeadImgURL != f.AvatarJSON() || it.KFSession.SessionID == 0 {
			t.Errorf("transfer %d kfsession = %+v, want fan %d with openid", i, it.KFSession, f.UIN)
		}
		if it.FromKF.Nickname == "" || it.FromKF.KFAccount == "" || it.MsgSummary.Msg.MsgID == 0 {
			t.Errorf("transfer %d = %+v, want from_kf and msgsummary", i, it)
		}
	}

	var again transferResp
	getJSON(t, c, http.MethodGet, cgiURL(s, "kftransfer", "gettransferinfo", nil), nil, &again)
	if len(again.List) != 0 {
		t.Errorf("second gettransferinfo = %d transfers, want none", len(again.List))
	}
	var waitingList struct {
		MsgList []struct{ Msg struct{ UserUIN int64 } } `json:"msglist"`
	}
	getJSON(t, c, http.MethodGet, cgiURL(s, "kfunaccepted", "getmsglist", nil), nil, &waitingList)
	for _, m := range waitingList.MsgList {
		if m.Msg.UserUIN == waiting.UIN {
			t.Errorf("transferred fan %d is still waiting", waiting.UIN)
		}
	}
	if acc := s.Accepted(); len(acc) != 4 || acc[2].UIN != fan.UIN || acc[3].UIN != waiting.UIN {
		t.Errorf("Accepted() = %v, want the open two then the transferred two", acc)
	}
}

func TestHistoryAndSend(t *testing.T) {
	s := newServer(t, Options{})
	c := client(s)
	fan := Roster[0]

	var boot wCGIData
	pageBootstrap(t, s, &boot)
	sess := boot.Sessions.List[0].KFSession

	send := func(openid, content string) (ret int) {
		var got struct {
			BaseResp wBase `json:"base_resp"`
			MsgID    int64 `json:"msgid"`
		}
		getJSON(t, c, http.MethodPost, cgiURL(s, "kfmsg", "send", nil), url.Values{
			"sessionid": {strconv.FormatInt(sess.SessionID, 10)}, "fans_openid": {openid}, "msgtype": {"1"},
			"content": {content}, "isfastreply": {"0"}, "clientmsgid": {"17323300000001"},
		}, &got)
		if got.BaseResp.Ret == 0 && got.MsgID == 0 {
			t.Errorf("send %q: ret 0 without msgid", content)
		}
		return got.BaseResp.Ret
	}
	tests := []struct {
		name, openid, content string
		wantRet               int
	}{
		{"ok", fan.OpenID, "您好，已经帮您催促发货了", 0},
		{"wrong openid", Roster[1].OpenID, "串线了", -1},
		{"empty", fan.OpenID, "  ", -1},
	}
	for _, tt := range tests {
		if got := send(tt.openid, tt.content); got != tt.wantRet {
			t.Errorf("send %s: ret = %d, want %d", tt.name, got, tt.wantRet)
		}
	}

	var hist struct {
		BaseResp wBase                `json:"base_resp"`
		MsgList  []struct{ Msg wMsg } `json:"msglist"`
	}
	getJSON(t, c, http.MethodGet, cgiURL(s, "kfmsg", "getfansmsglist", url.Values{"fansuin": {strconv.FormatInt(fan.UIN, 10)}}), nil, &hist)
	if hist.BaseResp.Ret != 0 || len(hist.MsgList) < 2 {
		t.Fatalf("history = %+v, want the opening messages and the reply", hist)
	}
	if first := hist.MsgList[0].Msg; first.FromUIN != fan.UIN {
		t.Errorf("first message from %d, want the fan %d", first.FromUIN, fan.UIN)
	}
	if last := hist.MsgList[len(hist.MsgList)-1].Msg; last.Content != tests[0].content || last.FromUIN == fan.UIN {
		t.Errorf("last message = %+v, want the agent's reply", last)
	}
	sends := requestsFor(s, "/cgi-bin/kfmsg", "send")
	if len(sends) != 3 || sends[0].Method != http.MethodPost || sends[0].Form.Get("content") != tests[0].content {
		t.Errorf("logged sends = %+v, want three POSTs, the first with the content", sends)
	}
}

func TestSettings(t *testing.T) {
	s := newServer(t, Options{})
	type list struct {
		FastReplyList []struct {
			MsgType int    `json:"msgtype"`
			Content string `json:"content"`
		} `json:"fastreply_list"`
	}
	var got struct {
		BaseResp    wBase `json:"base_resp"`
		Config      list  `json:"config"`
		PublicReply list  `json:"public_reply"`
	}
	getJSON(t, client(s), http.MethodGet, cgiURL(s, "kfsettings", "getsettings", nil), nil, &got)
	for name, l := range map[string]list{"config": got.Config, "public_reply": got.PublicReply} {
		if len(l.FastReplyList) == 0 {
			t.Errorf("%s.fastreply_list is empty", name)
		}
		for _, r := range l.FastReplyList {
			if r.MsgType != 1 || r.Content == "" {
				t.Errorf("%s item %+v, want msgtype 1 with content", name, r)
			}
		}
	}
}

func TestCGIErrors(t *testing.T) {
	s := newServer(t, Options{})
	c := client(s)
	tests := []struct {
		name       string
		url        string
		wantStatus int
		wantRet    int
	}{
		{"bad token", "https://" + Host + "/cgi-bin/kfunaccepted?action=getmsglist&token=1&f=json", http.StatusOK, retInvalidSession},
		{"no token", "https://" + Host + "/cgi-bin/kfunaccepted?action=getmsglist&f=json", http.StatusOK, retInvalidSession},
		{"unknown action", cgiURL(s, "kfunaccepted", "nosuch", nil), http.StatusNotFound, -1},
		{"unknown cgi", cgiURL(s, "nosuch", "getmsglist", nil), http.StatusNotFound, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got struct {
				BaseResp wBase `json:"base_resp"`
			}
			resp, body := fetch(t, c, http.MethodGet, tt.url, nil, nil)
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status = %d, want %d", resp.StatusCode, tt.wantStatus)
			}
			if err := json.Unmarshal(body, &got); err != nil || got.BaseResp.Ret != tt.wantRet {
				t.Errorf("body %s (err %v), want ret %d", body, err, tt.wantRet)
			}
		})
	}
}

func TestCloseSession(t *testing.T) {
	s := newServer(t, Options{})
	var boot wCGIData
	pageBootstrap(t, s, &boot)
	sess := boot.Sessions.List[0].KFSession
	var got struct {
		BaseResp wBase `json:"base_resp"`
	}
	getJSON(t, client(s), http.MethodGet, cgiURL(s, "kfsessionmgr", "kfclosesession", url.Values{
		"fansuin": {strconv.FormatInt(sess.FansUIN, 10)}, "sessionid": {strconv.FormatInt(sess.SessionID, 10)},
	}), nil, &got)
	if got.BaseResp.Ret != 0 {
		t.Fatalf("kfclosesession ret = %d, want 0", got.BaseResp.Ret)
	}
	if acc := s.Accepted(); len(acc) != 1 || acc[0].UIN != Roster[1].UIN {
		t.Errorf("Accepted() after close = %v, want only %d", acc, Roster[1].UIN)
	}
}
