package wechattest_test

import (
	"context"
	"crypto/rand"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/kfsidebar/kfsidebar/push/wechattest"
	"github.com/kfsidebar/kfsidebar/push/wire"
	"github.com/kfsidebar/kfsidebar/push/wxcrypto"
)

var acct = wechattest.Account{Token: "tok123", EncodingAESKey: "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
	AppID: "wxba5fad812f8e6fb9", OriginalID: "gh_97417a04a28d"}

// TestJudge has a fake gateway answer in every way WeChat cares about,
// and checks the sender's verdict.
func TestJudge(t *testing.T) {
	key, _ := wxcrypto.ParseKey(acct.EncodingAESKey)
	encrypted := func(plain []byte, token string) []byte {
		enc, _ := key.Seal(rand.Reader, plain, acct.AppID)
		ts := strconv.FormatInt(time.Now().Unix(), 10)
		return wire.Encrypted(wire.XML, enc, wxcrypto.Signature(token, ts, "1", enc), time.Now().Unix(), "1")
	}
	transfer := wire.Transfer(wire.XML, "oUser", acct.OriginalID, time.Now().Unix())
	tests := []struct {
		name        string
		mode        wire.Mode
		reply       []byte
		transferred bool
		success     bool
		invalid     error
	}{
		{"plain transfer", wire.Plain, transfer, true, false, nil},
		{"safe transfer", wire.Safe, encrypted(transfer, acct.Token), true, false, nil},
		{"success", wire.Safe, []byte("success"), false, true, nil},
		{"empty", wire.Safe, nil, false, true, nil},
		{"encrypted success", wire.Safe, encrypted([]byte("success"), acct.Token), false, false, wechattest.ErrEncryptedSuccess},
		{"plain transfer in safe mode", wire.Safe, transfer, false, false, wechattest.ErrNotEncrypted},
		{"plain transfer in compatible mode", wire.Compatible, transfer, true, false, nil},
		{"bad reply signature", wire.Safe, encrypted(transfer, "otherToken"), false, false, wechattest.ErrReplySignature},
		{"another user", wire.Plain, wire.Transfer(wire.XML, "oSomeoneElse", acct.OriginalID, 1), false, false, wechattest.ErrReplyBody},
		{"from the appid", wire.Plain, wire.Transfer(wire.XML, "oUser", acct.AppID, 1), false, false, wechattest.ErrReplyBody},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			gw := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				io.Copy(io.Discard, r.Body)
				w.Write(tt.reply)
			}))
			defer gw.Close()
			called := false
			s := &wechattest.Sender{URL: gw.URL, Account: acct, Mode: tt.mode, OnTransfer: func(wechattest.Push, *wechattest.Result) { called = true }}
			r, err := s.Send(context.Background(), wechattest.Text("oUser", "hi", time.Now(), wechattest.NextMsgID()))
			if err != nil {
				t.Fatal(err)
			}
			if r.Transferred != tt.transferred || r.Success != tt.success || !errors.Is(r.Invalid, tt.invalid) || called != tt.transferred {
				t.Errorf("transferred %t success %t invalid %v (OnTransfer %t), want %t %t %v",
					r.Transferred, r.Success, r.Invalid, called, tt.transferred, tt.success, tt.invalid)
			}
		})
	}
}

// TestPrepare checks the request WeChat's way: query parameters per mode,
// signatures that verify, a body that decrypts to the push.
func TestPrepare(t *testing.T) {
	key, _ := wxcrypto.ParseKey(acct.EncodingAESKey)
	for _, mode := range []wire.Mode{wire.Plain, wire.Compatible, wire.Safe} {
		for _, f := range []wire.Format{wire.XML, wire.JSON} {
			s := &wechattest.Sender{URL: "https://shop.example/wechat", Account: acct, Mode: mode, Format: f}
			pr, err := s.Prepare(wechattest.EnterSession("oUser", "order:1", time.Now()))
			if err != nil {
				t.Fatal(err)
			}
			req, _ := http.NewRequest("POST", pr.URL, nil)
			q := req.URL.Query()
			if !wxcrypto.Verify(q.Get("signature"), acct.Token, q.Get("timestamp"), q.Get("nonce")) {
				t.Errorf("%s/%s: signature does not verify", mode, f)
			}
			env, err := wire.ParseEnvelope(pr.Body)
			if err != nil || env.Mode != mode || env.Doc.Format != f {
				t.Fatalf("%s/%s: envelope %+v, %v", mode, f, env, err)
			}
			plain := pr.Body
			if mode != wire.Plain {
				if q.Get("encrypt_type") != "aes" || q.Get("openid") != "oUser" ||
					!wxcrypto.Verify(q.Get("msg_signature"), acct.Token, q.Get("timestamp"), q.Get("nonce"), env.Encrypt) {
					t.Errorf("%s/%s: query %v", mode, f, q)
				}
				if plain, err = key.Open(env.Encrypt, acct.AppID); err != nil {
					t.Fatal(err)
				}
			}
			m, err := wire.ParseMessage(plain)
			if err != nil || m.Event != "user_enter_tempsession" || m.Field("SessionFrom") != "order:1" || m.ToUserName != acct.OriginalID {
				t.Errorf("%s/%s: message %+v, %v", mode, f, m, err)
			}
		}
	}
}

func TestVerifyURL(t *testing.T) {
	gw := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if wxcrypto.Verify(q.Get("signature"), acct.Token, q.Get("timestamp"), q.Get("nonce")) {
			io.WriteString(w, q.Get("echostr"))
		}
	}))
	defer gw.Close()
	s := &wechattest.Sender{URL: gw.URL, Account: acct}
	if ok, err := s.VerifyURL(context.Background()); !ok || err != nil {
		t.Errorf("VerifyURL = %t, %v", ok, err)
	}
	s.Account.Token = "wrongToken"
	if ok, _ := s.VerifyURL(context.Background()); ok {
		t.Error("VerifyURL passed with the wrong token")
	}
}
