package push_test

import (
	"bytes"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/kfsidebar/kfsidebar/push"
	"github.com/kfsidebar/kfsidebar/push/internal/pushtest"
	"github.com/kfsidebar/kfsidebar/push/wechattest"
	"github.com/kfsidebar/kfsidebar/push/wire"
	"github.com/kfsidebar/kfsidebar/push/wxcrypto"
)

// vectorGateway is a gateway configured as a published vector's account,
// with the clock at the vector's timestamp.
func vectorGateway(t *testing.T, v pushtest.Vector, originalID string, targets ...push.Target) *gateway {
	clock := pushtest.NewClock(pushtest.Unix(t, v.Timestamp))
	cfg := testConfig(t)
	cfg.Token, cfg.EncodingAESKey, cfg.AppID, cfg.OriginalID = v.Token, v.EncodingAESKey, v.AppID, originalID
	if cfg.EncodingAESKey == "" {
		cfg.EncodingAESKey, cfg.AppID = testAccount.EncodingAESKey, testAccount.AppID
	}
	cfg.Now = clock.Now
	cfg.Targets = targets
	return startGateway(t, cfg, nil)
}

func do(t *testing.T, method, u string, body string) (int, string, http.Header) {
	t.Helper()
	req, err := http.NewRequest(method, u, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

// TestVectorGET is V1: the URL check echoes echostr, and nothing else does.
func TestVectorGET(t *testing.T) {
	v := pushtest.Vectors(t)["V1"]
	g := vectorGateway(t, v, "gh_97417a04a28d")
	q := url.Values{"signature": {v.Signature}, "timestamp": {v.Timestamp}, "nonce": {v.Nonce}, "echostr": {v.Echostr}}
	if status, body, _ := do(t, "GET", g.URL+"?"+q.Encode(), ""); status != 200 || body != v.Echostr {
		t.Errorf("GET = %d %q, want 200 %q", status, body, v.Echostr)
	}
	bad := []url.Values{
		{"signature": {"f464b24fc39322e44b38aa78f5edd27bd1441697"}, "timestamp": {v.Timestamp}, "nonce": {v.Nonce}, "echostr": {v.Echostr}},
		{"signature": {v.Signature}, "timestamp": {v.Timestamp}, "nonce": {"1514711493"}, "echostr": {v.Echostr}},
		{"timestamp": {v.Timestamp}, "nonce": {v.Nonce}, "echostr": {v.Echostr}},
	}
	for _, q := range bad {
		if status, body, _ := do(t, "GET", g.URL+"?"+q.Encode(), ""); status != 403 || body != "" {
			t.Errorf("GET %v = %d %q, want a bare 403", q, status, body)
		}
	}
}

// TestVectorPlainPOST is V2: the published plain JSON push is an event,
// answered "success".
func TestVectorPlainPOST(t *testing.T) {
	v := pushtest.Vectors(t)["V2"]
	tg := newTarget(t, "erp", pushtest.NewClock(pushtest.Unix(t, v.Timestamp)).Now)
	g := vectorGateway(t, v, "gh_97417a04a28d", tg.config())
	q := url.Values{"signature": {v.Signature}, "timestamp": {v.Timestamp}, "nonce": {v.Nonce}}
	status, body, _ := do(t, "POST", g.URL+"?"+q.Encode(), v.Body)
	if status != 200 || body != "success" {
		t.Fatalf("POST = %d %q, want 200 success", status, body)
	}
	p := tg.waitFor(t, 1)[0]
	if p.Event != "debug_demo" || p.Mode != "plain" || p.Format != "json" || !bytes.Contains(p.Message, []byte(`"debug_str":"hello world"`)) {
		t.Errorf("delivered %+v", p)
	}
}

// TestVectorsEncrypted sends the published encrypted pushes as WeChat sent
// them: V3 (safe JSON, pad 19), V5 (third-party XML, the component appid),
// V6 (2014 sample, a text message) and V7 (the sample's compatible-style
// body). Events get a bare "success"; the text messages get an encrypted
// transfer in safe mode and a plain one in compatible mode.
func TestVectorsEncrypted(t *testing.T) {
	vs := pushtest.Vectors(t)
	tests := []struct {
		id, originalID string
		wantTransfer   bool
		wantEncrypted  bool
		openid         string
	}{
		{"V3", "gh_97417a04a28d", false, false, "o9AgO5Kd5ggOC-bXrbNODIiE3bGY"},
		{"V5", "gh_97417a04a28d", false, false, "o9AgO5Kd5ggOC-bXrbNODIiE3bGY"},
		{"V6", "gh_10f6c3c3ac5a", true, true, "oyORnuP8q7ou2gfYjqLzSIWZf0rs"},
		{"V7", "gh_10f6c3c3ac5a", true, false, "oyORnuP8q7ou2gfYjqLzSIWZf0rs"},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			v := vs[tt.id]
			now := pushtest.NewClock(pushtest.Unix(t, v.Timestamp)).Now
			tg := newTarget(t, "erp", now)
			g := vectorGateway(t, v, tt.originalID, tg.config())
			sig := v.Signature
			if sig == "" { // the 2014 samples publish only msg_signature
				sig = wxcrypto.Signature(v.Token, v.Timestamp, v.Nonce)
			}
			q := url.Values{"signature": {sig}, "timestamp": {v.Timestamp}, "nonce": {v.Nonce},
				"encrypt_type": {"aes"}, "msg_signature": {v.MsgSignature}}
			if v.OpenID != "" {
				q.Set("openid", v.OpenID)
			}
			status, body, hdr := do(t, "POST", g.URL+"?"+q.Encode(), v.Body)
			if status != 200 {
				t.Fatalf("POST = %d %q", status, body)
			}
			if !tt.wantTransfer {
				if body != "success" {
					t.Errorf("event answered %q, want a bare success", body)
				}
			} else {
				checkTransfer(t, body, hdr.Get("Content-Type"), wire.XML, tt.wantEncrypted, v, tt.openid, tt.originalID)
			}
			p := tg.waitFor(t, 1)[0]
			if tt.id == "V7" || tt.id == "V6" {
				// The decrypted XML reaches targets byte for byte, MsgId exact.
				key, _ := wxcrypto.ParseKey(v.EncodingAESKey)
				plain, _ := key.Open(v.Encrypt, v.AppID)
				if p.XML != string(plain) {
					t.Errorf("payload XML %q\nwant decrypted %q", p.XML, plain)
				}
				if !bytes.Contains(p.Message, []byte(`"MsgId":"`+v.MsgID+`"`)) {
					t.Errorf("payload message %s lacks MsgId %s", p.Message, v.MsgID)
				}
			}
			// Any other signature is refused without detail.
			q.Set("msg_signature", strings.Repeat("0", 40))
			if status, body, _ := do(t, "POST", g.URL+"?"+q.Encode(), v.Body); status != 403 || body != "" {
				t.Errorf("wrong msg_signature: %d %q, want a bare 403", status, body)
			}
		})
	}
}

// checkTransfer checks a transfer reply as WeChat would: format, and in
// safe mode the Encrypt, MsgSignature, TimeStamp and Nonce.
func checkTransfer(t *testing.T, body, contentType string, f wire.Format, encrypted bool, v pushtest.Vector, openid, originalID string) {
	t.Helper()
	if want := f.ContentType(); contentType != want {
		t.Errorf("Content-Type %q, want %q", contentType, want)
	}
	doc, err := wire.Parse([]byte(body))
	if err != nil || doc.Format != f {
		t.Fatalf("reply %q: %v (format %v, want %v)", body, err, doc, f)
	}
	plain := []byte(body)
	if encrypted {
		enc, _ := doc.Get("Encrypt")
		sig, _ := doc.Get("MsgSignature")
		ts, _ := doc.Get("TimeStamp")
		nonce, _ := doc.Get("Nonce")
		if !wxcrypto.Verify(sig, v.Token, ts, nonce, enc) {
			t.Errorf("reply MsgSignature does not verify: %s", body)
		}
		key, _ := wxcrypto.ParseKey(v.EncodingAESKey)
		if plain, err = key.Open(enc, v.AppID); err != nil {
			t.Fatalf("reply does not decrypt: %v", err)
		}
	} else if doc.Has("Encrypt") {
		t.Errorf("reply encrypted, want plain: %s", body)
	}
	m, err := wire.ParseMessage(plain)
	if err != nil || m.MsgType != "transfer_customer_service" || m.ToUserName != openid || m.FromUserName != originalID || m.CreateTimeUnix() == 0 {
		t.Errorf("reply %s (%v): want transfer_customer_service to %s from %s", plain, err, openid, originalID)
	}
}

// TestVectorSenderAgrees has the simulated sender, configured as V6's
// account, push to the same gateway: both sides of the tests use one
// cipher, and it is the one the vectors prove.
func TestVectorSenderAgrees(t *testing.T) {
	v := pushtest.Vectors(t)["V6"]
	clock := pushtest.NewClock(pushtest.Unix(t, v.Timestamp))
	g := vectorGateway(t, v, "gh_10f6c3c3ac5a")
	s := &wechattest.Sender{URL: g.URL, Account: wechattest.Account{Token: v.Token, EncodingAESKey: v.EncodingAESKey,
		AppID: v.AppID, OriginalID: "gh_10f6c3c3ac5a"}, Mode: wire.Safe, Format: wire.XML, Now: clock.Now}
	r := send(t, s, wechattest.Text("oyORnuP8q7ou2gfYjqLzSIWZf0rs", "abcdteT", clock.Now(), wechattest.NextMsgID()))
	if !r.Transferred || r.Invalid != nil {
		t.Errorf("reply %q: transferred %t, invalid %v", r.Body, r.Transferred, r.Invalid)
	}
}
