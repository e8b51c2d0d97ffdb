package mpkftest

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/kfsidebar/kfsidebar/internal/kftest"
)

// startPoll issues getnewmsg with seq in the background and waits until
// the server holds it, so that what the test does next wakes a waiting
// poller rather than racing it.
func startPoll(t *testing.T, s *Server, seq int64) <-chan wNewMsg {
	t.Helper()
	before := len(requestsFor(s, "/cgi-bin/kfmsg", "getnewmsg"))
	ch := make(chan wNewMsg, 1)
	c := client(s)
	go func() {
		var got wNewMsg
		resp, body := fetchNoFatal(c, cgiURL(s, "kfmsg", "getnewmsg", url.Values{"seq": {strconv.FormatInt(seq, 10)}}))
		if resp != nil && resp.StatusCode == http.StatusOK {
			_ = json.Unmarshal(body, &got)
		}
		ch <- got
	}()
	kftest.Poll(t, "the poll to reach the server", func() bool {
		return len(requestsFor(s, "/cgi-bin/kfmsg", "getnewmsg")) > before
	})
	return ch
}

func TestLongPollWakes(t *testing.T) {
	newcomer, transferred := Roster[5], Roster[10]
	tests := []struct {
		name  string
		drive func(s *Server)
		check func(t *testing.T, got wNewMsg, before wCGIData)
	}{
		{
			name:  "AddWaiting",
			drive: func(s *Server) { s.AddWaiting(newcomer) },
			check: func(t *testing.T, got wNewMsg, _ wCGIData) {
				if got.Unaccepted.Count != 4 {
					t.Errorf("unaccepted.count = %d, want 4", got.Unaccepted.Count)
				}
			},
		},
		{
			name:  "TransferIn",
			drive: func(s *Server) { s.TransferIn(transferred) },
			check: func(t *testing.T, got wNewMsg, _ wCGIData) {
				if got.TransferCnt != 1 {
					t.Errorf("transfer_cnt = %d, want 1", got.TransferCnt)
				}
			},
		},
		{
			name:  "SendFromFan",
			drive: func(s *Server) { s.SendFromFan(Roster[1].UIN, "请问今天能发货吗") },
			check: func(t *testing.T, got wNewMsg, _ wCGIData) {
				if len(got.MsgList) != 1 || got.MsgList[0].Msg.Content != "请问今天能发货吗" || got.MsgList[0].Msg.FromUIN != Roster[1].UIN {
					t.Errorf("msglist = %+v, want the fan's message", got.MsgList)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newServer(t, Options{PollTimeout: time.Minute})
			var boot wCGIData
			pageBootstrap(t, s, &boot)
			ch := startPoll(t, s, boot.Seq)
			tt.drive(s)
			select {
			case got := <-ch:
				if got.BaseResp.Ret != 0 || got.Seq <= boot.Seq {
					t.Fatalf("poll = %+v, want ret 0 and a seq past %d", got, boot.Seq)
				}
				tt.check(t, got, boot)
			case <-time.After(10 * time.Second):
				t.Fatal("the poll did not wake up")
			}
		})
	}
}

func TestLongPollTimeout(t *testing.T) {
	const timeout = 300 * time.Millisecond
	s := newServer(t, Options{PollTimeout: timeout})
	var boot wCGIData
	pageBootstrap(t, s, &boot)
	start := time.Now()
	var got wNewMsg
	getJSON(t, client(s), http.MethodGet, cgiURL(s, "kfmsg", "getnewmsg", url.Values{"seq": {strconv.FormatInt(boot.Seq, 10)}}), nil, &got)
	if d := time.Since(start); d < timeout || d > timeout+5*time.Second {
		t.Errorf("idle poll took %v, want about %v", d, timeout)
	}
	if got.BaseResp.Ret != 0 || got.Seq != boot.Seq || len(got.MsgList) != 0 {
		t.Errorf("idle poll = %+v, want ret 0, seq %d, no messages", got, boot.Seq)
	}
}

func TestLongPollStaleSeqAnswersAtOnce(t *testing.T) {
	s := newServer(t, Options{PollTimeout: time.Minute})
	var boot wCGIData
	pageBootstrap(t, s, &boot)
	s.SendFromFan(Roster[0].UIN, "还在吗")
	var got wNewMsg
	getJSON(t, client(s), http.MethodGet, cgiURL(s, "kfmsg", "getnewmsg", url.Values{"seq": {strconv.FormatInt(boot.Seq, 10)}}), nil, &got)
	if len(got.MsgList) != 1 || got.MsgList[0].Msg.Content != "还在吗" {
		t.Errorf("poll with an old seq = %+v, want the message sent since", got)
	}
}

func TestCloseEndsPollers(t *testing.T) {
	s, err := NewServer(Options{PollTimeout: time.Hour, Logger: kftest.Logger(t)})
	if err != nil {
		t.Fatal(err)
	}
	var boot wCGIData
	pageBootstrap(t, s, &boot)
	ch := startPoll(t, s, boot.Seq)
	done := make(chan struct{})
	go func() {
		s.Close()
		close(done)
	}()
	for _, c := range []<-chan struct{}{done, waitAny(ch)} {
		select {
		case <-c:
		case <-time.After(10 * time.Second):
			t.Fatal("Close did not end the pending poll promptly")
		}
	}
	s.Close() // idempotent
	resp, _ := fetchNoFatal(&http.Client{Transport: &http.Transport{}}, "http://"+s.Addr()+"/")
	if resp != nil {
		t.Errorf("the listener still answers after Close: %s", resp.Status)
	}
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	if rec.Code != http.StatusServiceUnavailable {
		t.Errorf("Handler after Close = %d, want 503", rec.Code)
	}
}

func waitAny[T any](ch <-chan T) <-chan struct{} {
	out := make(chan struct{})
	go func() {
		<-ch
		close(out)
	}()
	return out
}
