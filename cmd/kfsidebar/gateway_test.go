package main

import (
	"context"
	"crypto/hmac"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kfsidebar/kfsidebar/internal/hmacsign"
	"github.com/kfsidebar/kfsidebar/internal/kftest"
	"github.com/kfsidebar/kfsidebar/proxy/mpkftest"
	"github.com/kfsidebar/kfsidebar/push/statuspage"
	"github.com/kfsidebar/kfsidebar/push/wechattest"
	"github.com/kfsidebar/kfsidebar/push/wire"
)

// The gateway's tests run `kfsidebar gateway` as a shop runs it: a config
// file, the real command on a loopback port, WeChat played by
// push/wechattest with the real crypto, and the shop's systems played by
// httptest servers that check the signature.

// testAccount is a mini program for the gateway tests; the key is new
// per test.
func testAccount() wechattest.Account {
	return wechattest.Account{Token: "kfsidebarTest1", EncodingAESKey: randomAlnum(43), AppID: "wxba5fad812f8e6fb9", OriginalID: "gh_97417a04a28d"}
}

// testTargetSecret signs the deliveries to the test targets.
const testTargetSecret = "0123456789abcdef-test"

// writeGatewayConfig writes a gateway.toml for acct with extra TOML
// appended (more keys of [gateway] first, then its sub-tables) and
// returns its path; the store is in the test's data directory.
func writeGatewayConfig(t *testing.T, acct wechattest.Account, extra string) string {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "gateway.toml")
	cfg := fmt.Sprintf(`[gateway]
listen = "127.0.0.1:0"
data_dir = %q
token = %q
encoding_aes_key = %q
appid = %q
original_id = %q
%s`, filepath.Join(dir, "data"), acct.Token, acct.EncodingAESKey, acct.AppID, acct.OriginalID, extra)
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// shopTarget is one of the shop's systems: it checks every delivery's
// signature and keeps the payloads; it answers status() (200 by default).
type shopTarget struct {
	*httptest.Server
	mu       sync.Mutex
	payloads [][]byte
	status   int
	bad      int // deliveries with a wrong signature
}

func newShopTarget(t *testing.T) *shopTarget {
	st := &shopTarget{status: http.StatusOK}
	st.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		want := hmacsign.Signature([]byte(testTargetSecret), r.Method, r.URL.RequestURI(),
			r.Header.Get(hmacsign.HeaderTimestamp), r.Header.Get(hmacsign.HeaderNonce), body)
		st.mu.Lock()
		defer st.mu.Unlock()
		if !hmac.Equal([]byte(want), []byte(r.Header.Get(hmacsign.HeaderSignature))) {
			st.bad++
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		if st.status/100 == 2 {
			st.payloads = append(st.payloads, body)
		}
		w.WriteHeader(st.status)
	}))
	t.Cleanup(st.Close)
	return st
}

func (st *shopTarget) setStatus(code int) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.status = code
}

// received returns the deliveries so far, as type → count, and the
// count of badly signed ones.
func (st *shopTarget) received() (map[string]int, int) {
	st.mu.Lock()
	defer st.mu.Unlock()
	m := map[string]int{}
	for _, p := range st.payloads {
		m[payloadType(p)]++
	}
	return m, st.bad
}

// targetTOML is a [gateway.targets.NAME] table for st.
func (st *shopTarget) targetTOML(name string, match ...string) string {
	q := make([]string, len(match))
	for i, m := range match {
		q[i] = fmt.Sprintf("%q", m)
	}
	return fmt.Sprintf("[gateway.targets.%s]\nurl = %q\nsecret = %q\nmatch = [%s]\n", name, st.URL+"/hooks/wechat", testTargetSecret, strings.Join(q, ", "))
}

// senderTo is WeChat posting to the gateway at addr in safe mode.
func senderTo(addr string, acct wechattest.Account) *wechattest.Sender {
	return &wechattest.Sender{URL: "http://" + addr + "/wechat", Account: acct, Mode: wire.Safe, Format: wire.XML}
}

// gatewayStatus reads the gateway's /status.json.
func gatewayStatus(t *testing.T, addr string) statuspage.Report {
	t.Helper()
	var r statuspage.Report
	if err := json.Unmarshal([]byte(getLocal(t, addr, "/status.json")), &r); err != nil {
		t.Fatal(err)
	}
	return r
}

// TestGatewayVerifiesWithThePublishedVectors: the command answers WeChat's
// URL check of the published example (V1) with its echostr, and the
// published safe-mode push (V3, an event) with an unencrypted "success";
// a wrong signature gets a bare 403. The vectors are from 2024, hence the
// wide timestamp window.
func TestGatewayVerifiesWithThePublishedVectors(t *testing.T) {
	var file struct {
		Vectors []struct {
			ID, Token, Timestamp, Nonce, Echostr, Signature, Body string
			EncodingAESKey                                        string `json:"encoding_aes_key"`
			AppID                                                 string `json:"appid"`
			MsgSignature                                          string `json:"msg_signature"`
		}
	}
	data, err := os.ReadFile("../../push/internal/pushtest/testdata/vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &file); err != nil {
		t.Fatal(err)
	}
	v := map[string]int{}
	for i, x := range file.Vectors {
		v[x.ID] = i
	}
	v1, v3 := file.Vectors[v["V1"]], file.Vectors[v["V3"]]
	acct := wechattest.Account{Token: v1.Token, EncodingAESKey: v3.EncodingAESKey, AppID: v3.AppID, OriginalID: "gh_97417a04a28d"}
	gw := start(t, "gateway", "--config", writeGatewayConfig(t, acct, `timestamp_window = "200000h"`+"\n"))

	q := url.Values{"signature": {v1.Signature}, "timestamp": {v1.Timestamp}, "nonce": {v1.Nonce}, "echostr": {v1.Echostr}}
	if body := getLocal(t, gw.addr, "/wechat?"+q.Encode()); body != v1.Echostr {
		t.Errorf("URL check answered %q, want the echostr %q", body, v1.Echostr)
	}
	q.Set("signature", strings.Repeat("0", 40))
	resp, err := http.Get("http://" + gw.addr + "/wechat?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden || len(body) != 0 {
		t.Errorf("bad signature: %s %q, want a bare 403", resp.Status, body)
	}

	q = url.Values{"signature": {v3.Signature}, "timestamp": {v3.Timestamp}, "nonce": {v3.Nonce}, "encrypt_type": {"aes"}, "msg_signature": {v3.MsgSignature}}
	resp, err = http.Post("http://"+gw.addr+"/wechat?"+q.Encode(), "text/plain", strings.NewReader(v3.Body))
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || string(body) != "success" {
		t.Errorf("published safe-mode push: %s %q, want 200 success", resp.Status, body)
	}
}

// TestGatewayTransfersEndToEnd: through the real command in safe mode, a
// user who enters from an order page and writes reaches the simulated
// console's waiting list (only because the gateway answered
// transfer_customer_service), each push reaches the target that wants
// it, signed, and the workstation feed carries 来源 and the message.
func TestGatewayTransfersEndToEnd(t *testing.T) {
	acct := testAccount()
	erp := newShopTarget(t)
	config := writeGatewayConfig(t, acct, erp.targetTOML("erp")+`[gateway.workstations.desk1]
token = "desk1-token-0123456789"
`)
	gw := start(t, "gateway", "--config", config)
	if out := gw.stdout.String(); !strings.Contains(out, "push path:    http://"+gw.addr+"/wechat") || !strings.Contains(out, "erp → "+erp.URL) {
		t.Errorf("banner:\n%s", out)
	}
	sim, err := mpkftest.NewServer(mpkftest.Options{OpenAtLoad: -1, Waiting: -1, Logger: kftest.Logger(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sim.Close)
	fan := mpkftest.Roster[0]
	s := senderTo(gw.addr, acct)
	s.OnTransfer = func(p wechattest.Push, _ *wechattest.Result) {
		if p.OpenID == fan.OpenID {
			sim.AddWaiting(fan)
		}
	}
	ctx := context.Background()
	if ok, err := s.VerifyURL(ctx); !ok || err != nil {
		t.Fatalf("WeChat's URL check: %v %v", ok, err)
	}
	r, err := s.Send(ctx, wechattest.EnterSession(fan.OpenID, "order:E202611171032150023", time.Now()))
	if err != nil || !r.Success || r.Invalid != nil || len(waiting(t, sim)) != 0 {
		t.Fatalf("user_enter_tempsession: %+v %v; waiting %v", r, err, waiting(t, sim))
	}
	r, err = s.Send(ctx, wechattest.Text(fan.OpenID, "在吗？我的快递到哪了", time.Now(), wechattest.NextMsgID()))
	if err != nil || !r.Transferred || r.Invalid != nil {
		t.Fatalf("text: %+v %v", r, err)
	}
	if w := waiting(t, sim); !slices.Contains(w, fan.UIN) {
		t.Errorf("waiting list %v lacks the user who wrote (%d)", w, fan.UIN)
	}
	kftest.Poll(t, "both pushes at the target", func() bool {
		m, _ := erp.received()
		return m["event:user_enter_tempsession"] == 1 && m["text"] == 1
	})
	if _, bad := erp.received(); bad != 0 {
		t.Errorf("%d deliveries with a bad signature", bad)
	}

	req, _ := http.NewRequest(http.MethodGet, "http://"+gw.addr+gatewayFeedPath+"?wait=5", nil)
	req.Header.Set("Authorization", "Bearer desk1-token-0123456789")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	feed, _ := io.ReadAll(resp.Body)
	for _, want := range []string{`"kind":"session_from"`, `"session_from":"order:E202611171032150023"`, `"kind":"message"`, `"text":"在吗？我的快递到哪了"`} {
		if !strings.Contains(string(feed), want) {
			t.Errorf("feed lacks %s: %s", want, feed)
		}
	}
}

// waiting returns the uins on the simulated console's waiting list.
func waiting(t *testing.T, sim *mpkftest.Server) []int64 {
	t.Helper()
	w := httptest.NewRecorder()
	sim.Handler().ServeHTTP(w, httptest.NewRequest(http.MethodGet, "https://"+mpkftest.Host+"/__mpkftest/state", nil))
	var st struct{ Waiting []struct{ UIN int64 } }
	if err := json.Unmarshal(w.Body.Bytes(), &st); err != nil {
		t.Fatalf("%v: %s", err, w.Body)
	}
	var uins []int64
	for _, f := range st.Waiting {
		uins = append(uins, f.UIN)
	}
	return uins
}
