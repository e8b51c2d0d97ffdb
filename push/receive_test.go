package push_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/kfsidebar/kfsidebar/push"
	"github.com/kfsidebar/kfsidebar/push/wechattest"
	"github.com/kfsidebar/kfsidebar/push/wire"
	"github.com/kfsidebar/kfsidebar/push/wxcrypto"
)

var (
	modes   = []wire.Mode{wire.Plain, wire.Compatible, wire.Safe}
	formats = []wire.Format{wire.XML, wire.JSON}
)

// TestEveryPushType sends every kind of push in every mode and format:
// user messages (unknown types too) are transferred, in safe mode
// encrypted; events get a bare "success"; each push reaches the target
// once, with WeChat's wire names.
func TestEveryPushType(t *testing.T) {
	for _, mode := range modes {
		for _, f := range formats {
			t.Run(mode.String()+"/"+f.String(), func(t *testing.T) {
				tg := newTarget(t, "erp", time.Now)
				cfg := testConfig(t)
				cfg.Targets = []push.Target{tg.config()}
				g := startGateway(t, cfg, nil)
				s := g.sender(mode, f)
				pushes := wechattest.Catalogue("oUserEvery", time.Now())
				for _, p := range pushes {
					r := send(t, s, p)
					if r.Status != 200 || r.Invalid != nil {
						t.Fatalf("%s %s: %d %q, invalid: %v", p.MsgType(), p.Event(), r.Status, r.Body, r.Invalid)
					}
					if isEvent := p.MsgType() == "event"; isEvent != r.Success || !isEvent != r.Transferred {
						t.Errorf("%s %s: success %t transferred %t", p.MsgType(), p.Event(), r.Success, r.Transferred)
					}
					if encrypted := bytes.Contains(r.Body, []byte("Encrypt")); encrypted != (mode == wire.Safe && !r.Success) {
						t.Errorf("%s %s in %s mode: reply %q", p.MsgType(), p.Event(), mode, r.Body)
					}
				}
				got := tg.waitFor(t, len(pushes))
				if len(ids(got)) != len(pushes) {
					t.Errorf("%d distinct pushes delivered, want %d", len(ids(got)), len(pushes))
				}
				for _, p := range got {
					if p.Format != f.String() || p.Mode != mode.String() {
						t.Errorf("payload %s/%s, want %s/%s", p.Format, p.Mode, f, mode)
					}
					checkWireNames(t, p, f)
				}
			})
		}
	}
}

// checkWireNames checks a delivered payload keeps WeChat's names and exact
// values.
func checkWireNames(t *testing.T, p push.Payload, f wire.Format) {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(p.Message, &m); err != nil {
		t.Fatalf("message %s: %v", p.Message, err)
	}
	want := map[string][]string{
		"text":                          {"Content", "MsgId"},
		"miniprogrampage":               {"Title", "AppId", "PagePath", "ThumbUrl", "ThumbMediaId"},
		"user_enter_tempsession":        {"SessionFrom"},
		"add_express_path":              {"DeliveryID", "WayBillId", "OrderId", "Version", "Count", "Actions"},
		"trade_manage_order_settlement": {"transaction_id", "merchant_trade_no", "settlement_time"},
	}
	for _, name := range append(want[p.MsgType], want[p.Event]...) {
		if _, ok := m[name]; !ok {
			t.Errorf("%s %s: no %s in %s", p.MsgType, p.Event, name, p.Message)
		}
	}
	if p.Event == "add_express_path" {
		var actions []map[string]any
		if err := json.Unmarshal(m["Actions"], &actions); err != nil || len(actions) != 3 {
			t.Errorf("Actions %s: want 3 steps (%v)", m["Actions"], err)
		}
	}
	if id, ok := m["MsgId"]; ok {
		// A number in JSON, a string from XML; the digits never change.
		if digits := strings.Trim(string(id), `"`); len(digits) != 19 || (f == wire.JSON) == strings.HasPrefix(string(id), `"`) {
			t.Errorf("MsgId %s in a %s push", id, f)
		}
	}
}

// TestContentTypeIgnored sends each format under the other's Content-Type,
// and under none that fits: the body decides.
func TestContentTypeIgnored(t *testing.T) {
	g := startGateway(t, testConfig(t), nil)
	for _, f := range formats {
		for _, ct := range []string{"application/json", "text/xml", "application/x-www-form-urlencoded", "text/plain"} {
			s := g.sender(wire.Safe, f)
			s.ContentType = ct
			r := send(t, s, wechattest.Text("oUserCT", "hi", time.Now(), wechattest.NextMsgID()))
			if !r.Transferred || r.Invalid != nil {
				t.Errorf("%s body as %s: %d %q %v", f, ct, r.Status, r.Body, r.Invalid)
			}
			if doc, err := wire.Parse(r.Body); err != nil || doc.Format != f {
				t.Errorf("%s body as %s: reply %q not %s", f, ct, r.Body, f)
			}
		}
	}
}

// TestReplyContract pins the reply's exact shape per mode and format.
func TestReplyContract(t *testing.T) {
	g := startGateway(t, testConfig(t), nil)
	key, _ := wxcrypto.ParseKey(testAccount.EncodingAESKey)
	for _, mode := range modes {
		for _, f := range formats {
			t.Run(mode.String()+"/"+f.String(), func(t *testing.T) {
				s := g.sender(mode, f)
				r := send(t, s, wechattest.Text("oUserContract", "hi", time.Now(), wechattest.NextMsgID()))
				body := string(r.Body)
				if mode == wire.Safe {
					var want string
					if f == wire.JSON {
						want = `^\{"Encrypt":"[A-Za-z0-9+/=]+","MsgSignature":"[0-9a-f]{40}","TimeStamp":[0-9]+,"Nonce":"[0-9]+"\}$`
					} else {
						want = `^<xml><Encrypt><!\[CDATA\[[A-Za-z0-9+/=]+\]\]></Encrypt><MsgSignature><!\[CDATA\[[0-9a-f]{40}\]\]></MsgSignature><TimeStamp>[0-9]+</TimeStamp><Nonce><!\[CDATA\[[0-9]+\]\]></Nonce></xml>$`
					}
					if !matches(want, body) {
						t.Errorf("reply %s\ndoes not match %s", body, want)
					}
					doc, _ := wire.Parse(r.Body)
					enc, _ := doc.Get("Encrypt")
					plain, err := key.Open(enc, testAccount.AppID)
					if err != nil {
						t.Fatal(err)
					}
					body = string(plain)
				}
				var want string
				if f == wire.JSON {
					want = `^\{"ToUserName":"oUserContract","FromUserName":"gh_97417a04a28d","CreateTime":[0-9]+,"MsgType":"transfer_customer_service"\}$`
				} else {
					want = `^<xml><ToUserName><!\[CDATA\[oUserContract\]\]></ToUserName><FromUserName><!\[CDATA\[gh_97417a04a28d\]\]></FromUserName><CreateTime>[0-9]+</CreateTime><MsgType><!\[CDATA\[transfer_customer_service\]\]></MsgType></xml>$`
				}
				if !matches(want, body) {
					t.Errorf("transfer %s\ndoes not match %s", body, want)
				}
				ev := send(t, s, wechattest.EnterSession("oUserContract", "goods:A100", time.Now()))
				if string(ev.Body) != "success" || !ev.Success {
					t.Errorf("event reply %q, want a bare success", ev.Body)
				}
			})
		}
	}
}

// TestHostileInput refuses each attack or malformed push with a bare
// status and dispatches none of them.
func TestHostileInput(t *testing.T) {
	tg := newTarget(t, "erp", time.Now)
	cfg := testConfig(t)
	cfg.Targets = []push.Target{tg.config()}
	cfg.MaxBodySize = 4 << 10
	g := startGateway(t, cfg, nil)
	key, _ := wxcrypto.ParseKey(testAccount.EncodingAESKey)
	now := fmt.Sprint(time.Now().Unix())
	sig := wxcrypto.Signature(testAccount.Token, now, "42")
	plainURL := func() string {
		return g.URL + "?" + url.Values{"signature": {sig}, "timestamp": {now}, "nonce": {"42"}}.Encode()
	}
	safe := func(encrypt string) (string, string) {
		q := url.Values{"signature": {sig}, "timestamp": {now}, "nonce": {"42"}, "encrypt_type": {"aes"},
			"msg_signature": {wxcrypto.Signature(testAccount.Token, now, "42", encrypt)}}
		return g.URL + "?" + q.Encode(), `{"ToUserName":"gh_97417a04a28d","Encrypt":"` + encrypt + `"}`
	}
	text := `<xml><ToUserName>gh_97417a04a28d</ToUserName><FromUserName>oX</FromUserName><CreateTime>1</CreateTime><MsgType>text</MsgType><Content>hi</Content><MsgId>1</MsgId></xml>`
	stale := fmt.Sprint(time.Now().Add(-6 * time.Minute).Unix())
	wrongApp := key.Encrypt([16]byte{}, []byte(text), "wx0000000000000000")
	badPad := wrongApp[:len(wrongApp)-4] + "AAA="
	tests := []struct {
		name, method, url, body string
		want                    int
	}{
		{"XXE", "POST", plainURL(), `<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY x SYSTEM "file:///etc/passwd">]><xml><FromUserName>&x;</FromUserName><MsgType>text</MsgType></xml>`, 400},
		{"oversized body", "POST", plainURL(), "<xml><Content>" + strings.Repeat("a", 5<<10) + "</Content></xml>", 413},
		{"not XML nor JSON", "POST", plainURL(), "MsgType=text", 400},
		{"no FromUserName", "POST", plainURL(), `{"MsgType":"text","MsgId":1}`, 400},
		{"wrong signature", "POST", strings.Replace(plainURL(), sig, strings.Repeat("0", 40), 1), text, 403},
		{"no signature", "POST", g.URL + "?timestamp=" + now + "&nonce=42", text, 403},
		{"stale timestamp", "POST", g.URL + "?" + url.Values{"signature": {wxcrypto.Signature(testAccount.Token, stale, "42")}, "timestamp": {stale}, "nonce": {"42"}}.Encode(), text, 403},
		{"encrypt_type without Encrypt", "POST", plainURL() + "&encrypt_type=aes", text, 400},
		{"bad base64", "POST", first(safe("!!!not-base64!!!")), second(safe("!!!not-base64!!!")), 400},
		{"bad padding", "POST", first(safe(badPad)), second(safe(badPad)), 400},
		{"wrong appid", "POST", first(safe(wrongApp)), second(safe(wrongApp)), 403},
		{"msg_signature over another Encrypt", "POST", first(safe(wrongApp)), second(safe(key.Encrypt([16]byte{}, []byte(text), testAccount.AppID))), 403},
		{"PUT", "PUT", plainURL(), text, 405},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body, _ := do(t, tt.method, tt.url, tt.body)
			if status != tt.want || body != "" {
				t.Errorf("%d %q, want a bare %d", status, body, tt.want)
			}
		})
	}
	// A good push after all of them is delivered, and is the only one.
	send(t, g.sender(wire.Safe, wire.XML), wechattest.Text("oUserOK", "hi", time.Now(), wechattest.NextMsgID()))
	if got := tg.waitFor(t, 1); len(got) != 1 {
		t.Errorf("delivered %d pushes, want only the good one", len(got))
	}
	st := g.Status(context.Background())
	for _, why := range []string{"body", "too_large", "signature", "stale", "not_encrypted", "decrypt", "appid", "msg_signature"} {
		if st.Refused[why] == 0 {
			t.Errorf("status counts no %q refusal: %v", why, st.Refused)
		}
	}
}

func first(a, _ string) string  { return a }
func second(_, b string) string { return b }

// TestRequireEncrypted refuses plain pushes once asked to, and takes the
// encrypted ones.
func TestRequireEncrypted(t *testing.T) {
	cfg := testConfig(t)
	cfg.RequireEncrypted = true
	g := startGateway(t, cfg, nil)
	if r := send(t, g.sender(wire.Plain, wire.XML), wechattest.Text("oU", "hi", time.Now(), wechattest.NextMsgID())); r.Status != 403 {
		t.Errorf("plain push: %d, want 403", r.Status)
	}
	for _, m := range []wire.Mode{wire.Compatible, wire.Safe} {
		if r := send(t, g.sender(m, wire.XML), wechattest.Text("oU", "hi", time.Now(), wechattest.NextMsgID())); !r.Transferred {
			t.Errorf("%s push: %d %q", m, r.Status, r.Body)
		}
	}
}

// TestNoKeyPlainOnly: without an EncodingAESKey only plain pushes pass.
func TestNoKeyPlainOnly(t *testing.T) {
	cfg := testConfig(t)
	cfg.EncodingAESKey, cfg.AppID = "", ""
	g := startGateway(t, cfg, nil)
	if r := send(t, g.sender(wire.Plain, wire.JSON), wechattest.Text("oU", "hi", time.Now(), wechattest.NextMsgID())); !r.Transferred {
		t.Errorf("plain push: %d %q", r.Status, r.Body)
	}
	if r := send(t, g.sender(wire.Safe, wire.JSON), wechattest.Text("oU", "hi", time.Now(), wechattest.NextMsgID())); r.Status != 403 {
		t.Errorf("safe push without a key: %d, want 403", r.Status)
	}
}

// TestKeyRotation accepts the current and the previous token/key pair,
// answers each with its own pair, and refuses any other.
func TestKeyRotation(t *testing.T) {
	old := wechattest.Account{Token: "oldToken99", EncodingAESKey: strings.Repeat("B", 43), AppID: testAccount.AppID, OriginalID: testAccount.OriginalID}
	cfg := testConfig(t)
	cfg.PreviousToken, cfg.PreviousEncodingAESKey = old.Token, old.EncodingAESKey
	g := startGateway(t, cfg, nil)
	for _, acct := range []wechattest.Account{testAccount, old} {
		s := g.sender(wire.Safe, wire.JSON)
		s.Account = acct
		if r := send(t, s, wechattest.Text("oU", "hi", time.Now(), wechattest.NextMsgID())); !r.Transferred || r.Invalid != nil {
			t.Errorf("pair %s: %d %q %v", acct.Token, r.Status, r.Body, r.Invalid)
		}
	}
	// Only the key changed: the token signs for both keys.
	keyOnly := testAccount
	keyOnly.EncodingAESKey = strings.Repeat("C", 43)
	cfg = testConfig(t)
	cfg.PreviousEncodingAESKey = keyOnly.EncodingAESKey
	g2 := startGateway(t, cfg, nil)
	s := g2.sender(wire.Safe, wire.XML)
	s.Account = keyOnly
	if r := send(t, s, wechattest.Text("oU", "hi", time.Now(), wechattest.NextMsgID())); !r.Transferred || r.Invalid != nil {
		t.Errorf("previous key, same token: %d %q %v", r.Status, r.Body, r.Invalid)
	}
	stranger := testAccount
	stranger.Token, stranger.EncodingAESKey = "strangerToken", strings.Repeat("D", 43)
	s = g.sender(wire.Safe, wire.XML)
	s.Account = stranger
	if r := send(t, s, wechattest.Text("oU", "hi", time.Now(), wechattest.NextMsgID())); r.Status != 403 {
		t.Errorf("unknown pair: %d, want 403", r.Status)
	}
}

func matches(pattern, s string) bool { return regexp.MustCompile(pattern).MatchString(s) }
