package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"database/sql"
	"encoding/pem"
	"fmt"
	"math/big"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/kfsidebar/kfsidebar/internal/kftest"
	"github.com/kfsidebar/kfsidebar/internal/msg"
	"github.com/kfsidebar/kfsidebar/proxy/mpkftest"
	"github.com/kfsidebar/kfsidebar/push/wechattest"
)

// TestGatewayRefusesABadConfig: a wrong file stops the gateway before it
// listens, with every problem at once, each by line and key and in
// Chinese and English; a misspelt key gets a "did you mean".
func TestGatewayRefusesABadConfig(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "gateway.toml")
	os.WriteFile(bad, []byte(`[gateway]
token_env = "KFSIDEBAR_TEST_NO_SUCH_VARIABLE"
encoding_aes_key = "AAAA"
appid = "wx123"
policy = "sometimes"
path = "wechat"
reply_budget = "6s"
store = "postgres://"

[gateway.targets.erp]
url = "erp.shop.lan"
secret = "short"
match = ["[text"]

[gateway.workstations.desk1]
token = "short"
`), 0o600)
	ready := filepath.Join(dir, "ready")
	_, _, err := runCLI(t, "gateway", "--config", bad, "--ready-file", ready)
	if err == nil {
		t.Fatal("the gateway started with a bad config")
	}
	if exitCode(err) != 1 {
		t.Errorf("exit code %d, want 1", exitCode(err))
	}
	msg := err.Error()
	for _, want := range []string{
		bad + ":2: gateway.token_env: 环境变量 KFSIDEBAR_TEST_NO_SUCH_VARIABLE 未设置", "environment variable KFSIDEBAR_TEST_NO_SUCH_VARIABLE is not set",
		":3: gateway.encoding_aes_key: 格式不对", "43 letters and digits",
		":4: gateway.appid:", ":5: gateway.policy:", ":6: gateway.path:", ":7: gateway.reply_budget:", ":8: gateway.store:",
		":11: gateway.targets.erp.url:", ":12: gateway.targets.erp.secret:", ":13: gateway.targets.erp.match:",
		":16: gateway.workstations.desk1.token:",
		bad + ": gateway.original_id: 未设置", "not set: the mini program's original id",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q:\n%s", want, msg)
		}
	}
	if _, err := os.Stat(ready); err == nil {
		t.Error("the ready file was written")
	}

	os.WriteFile(bad, []byte("[gateway]\ntokn = \"x\"\n[gateway.targets.erp]\nsecert = \"x\"\n"), 0o600)
	_, _, err = runCLI(t, "gateway", "--config", bad)
	for _, want := range []string{`gateway.tokn: unknown key; did you mean "token"?`, `gateway.targets.erp.secert: unknown key; did you mean "secret"?`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
	if _, _, err := runCLI(t, "gateway", "--data-dir", t.TempDir()); err == nil || !strings.Contains(err.Error(), "no gateway config") {
		t.Errorf("without a config file: %v", err)
	}
}

// TestGatewayReplayAfterTargetWasDown: a target that refuses every
// delivery leaves a dead letter; `gateway replay` lists it (what it is,
// never whose) and, once the target works, sends it again to the running
// gateway's target.
func TestGatewayReplayAfterTargetWasDown(t *testing.T) {
	acct := testAccount()
	erp := newShopTarget(t)
	erp.setStatus(http.StatusBadGateway)
	config := writeGatewayConfig(t, acct, erp.targetTOML("erp", "event:add_express_path")+`[gateway.retry]
base = "10ms"
max = "10ms"
max_attempts = 2
`)
	gw := start(t, "gateway", "--config", config)
	openid := mpkftest.Roster[0].OpenID
	track := wechattest.ExpressPath(openid, "SF", "SF1408812345672", "E202611171032150023", 2,
		[]wechattest.Action{{Time: time.Now().Unix(), Type: 200001, Msg: "运输中"}}, time.Now())
	if r, err := senderTo(gw.addr, acct).Send(context.Background(), track); err != nil || !r.Success {
		t.Fatalf("push: %+v %v", r, err)
	}
	kftest.Poll(t, "a dead letter", func() bool { return gatewayStatus(t, gw.addr).Targets[0].Dead == 1 })

	out, _, err := runCLI(t, "gateway", "replay", "--config", config)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"dead letters (1", "erp", "event:add_express_path", "erp answered 502 Bad Gateway", "--target erp --all"} {
		if !strings.Contains(out, want) {
			t.Errorf("replay's list lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, openid) {
		t.Errorf("replay's list shows the openid:\n%s", out)
	}
	if _, _, err := runCLI(t, "gateway", "replay", "--config", config, "--target", "nope", "--all"); err == nil || !strings.Contains(err.Error(), `no target "nope"`) {
		t.Errorf("unknown target: %v", err)
	}

	erp.setStatus(http.StatusOK)
	out, _, err = runCLI(t, "gateway", "replay", "--config", config, "--target", "erp", "--all")
	if err != nil || !strings.Contains(out, "1 dead letter(s) due again") {
		t.Fatalf("replay: %v\n%s", err, out)
	}
	kftest.Poll(t, "the replayed delivery", func() bool { m, _ := erp.received(); return m["event:add_express_path"] == 1 })
	kftest.Poll(t, "no dead letter left", func() bool { return gatewayStatus(t, gw.addr).Targets[0].Dead == 0 })
}

// TestGatewayStatusPage: the status page and /status.json count the
// pushes by type and reply, and show no customer data; they answer only
// on the listen address, never through a front.
func TestGatewayStatusPage(t *testing.T) {
	acct := testAccount()
	config := writeGatewayConfig(t, acct, "")
	gw := start(t, "gateway", "--config", config)
	s := senderTo(gw.addr, acct)
	const openid, text = "oVx3k5StatusPageOpenID00001", "请不要显示这条消息"
	ctx := context.Background()
	s.Send(ctx, wechattest.EnterSession(openid, "order:E202611171032150023", time.Now()))
	p, _ := s.Prepare(wechattest.Text(openid, text, time.Now(), wechattest.NextMsgID()))
	s.Deliver(ctx, p)
	s.Deliver(ctx, p) // WeChat's retry
	st := gatewayStatus(t, gw.addr)
	if st.Received != 3 || st.Transferred != 2 || st.Success != 1 || st.Duplicates != 1 || st.PerMinute["text"] != 2 || st.PerMinute["event:user_enter_tempsession"] != 1 {
		t.Errorf("status.json: %+v", st.Status)
	}
	page := getLocal(t, gw.addr, "/")
	json := getLocal(t, gw.addr, "/status.json")
	for _, secret := range []string{openid, text, "E202611171032150023", acct.Token, acct.EncodingAESKey} {
		if strings.Contains(page, secret) || strings.Contains(json, secret) {
			t.Errorf("the status page shows %q", secret)
		}
	}
	for _, want := range []string{"<code>text</code></td><td>2", "<b>3</b>", "转人工客服"} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %s", want)
		}
	}
	for _, tt := range []struct {
		header, value string
		want          int
	}{{"Host", "gateway.shop.example", http.StatusMisdirectedRequest}, {"X-Forwarded-For", "203.0.113.9", http.StatusNotFound}} {
		req, _ := http.NewRequest(http.MethodGet, "http://"+gw.addr+"/status.json", nil)
		if tt.header == "Host" {
			req.Host = tt.value
		} else {
			req.Header.Set(tt.header, tt.value)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tt.want {
			t.Errorf("%s: %s: %s, want %d", tt.header, tt.value, resp.Status, tt.want)
		}
	}
}

// TestGatewayDoctor: doctor names every problem with its fix and exits
// 1; with a good config and the gateway running it checks the URL the way
// WeChat does, and passes.
func TestGatewayDoctor(t *testing.T) {
	acct := testAccount()
	bad := writeGatewayConfig(t, acct, `[gateway.targets.erp]
url = "http://127.0.0.1:1/hooks"
secret_env = "KFSIDEBAR_TEST_NO_SUCH_SECRET"
`)
	out, _, err := runCLI(t, "gateway", "doctor", "--config", bad)
	if exitCode(err) != 1 {
		t.Errorf("doctor on a bad config: exit %d (%v), want 1", exitCode(err), err)
	}
	for _, want := range []string{
		"✘ config gateway.targets.erp.secret_env: 环境变量 KFSIDEBAR_TEST_NO_SUCH_SECRET 未设置",
		"解决 / fix: 修改 " + bad + " 第 10 行 / edit " + bad + " line 10",
		"⚠ config gateway.workstations:", "⚠ running gateway 127.0.0.1:0: 没有运行 / not answering", "解决 / fix: 启动它：kfsidebar gateway --config FILE",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("doctor lacks %q:\n%s", want, out)
		}
	}

	erp := newShopTarget(t)
	good := writeGatewayConfig(t, acct, erp.targetTOML("erp")+"[gateway.workstations.desk1]\ntoken = \"desk1-token-0123456789\"\n")
	addr := freeAddr(t)
	start(t, "gateway", "--config", good, "--listen", addr)
	out, _, err = runCLI(t, "gateway", "doctor", "--config", good, "--listen", addr)
	if err != nil {
		t.Fatalf("doctor with everything working: %v\n%s", err, out)
	}
	for _, want := range []string{"✔ config:", "✔ store SQLite", "✔ target erp:", "✔ running gateway " + addr, "✔ URL check", "All good."} {
		if !strings.Contains(out, want) {
			t.Errorf("doctor lacks %q:\n%s", want, out)
		}
	}
	// Another token than the running gateway's: WeChat would fail too.
	other := acct
	other.Token = "anotherToken9"
	out, _, _ = runCLI(t, "gateway", "doctor", "--config", writeGatewayConfig(t, other, erp.targetTOML("erp")), "--listen", addr)
	if !strings.Contains(out, "✘ URL check: 运行中的网关不接受这个配置的 Token / the running gateway refuses this config's token") {
		t.Errorf("doctor with another token:\n%s", out)
	}
}

// TestGatewayDoctorSpeaksBoth: the gateway doctor says every problem and
// every fix in Chinese, then in English, whatever the server's language
// (a shop's server seldom says who reads it), a missing file and the last
// line included.
func TestGatewayDoctorSpeaksBoth(t *testing.T) {
	acct := testAccount()
	acct.Token = "x" // too short
	config := writeGatewayConfig(t, acct, "")
	missing := filepath.Join(t.TempDir(), "gateway.toml")
	listen := freeAddr(t)
	fix := regexp.MustCompile(`^    解决 / fix: \p{Han}.* / [a-z]+ `)
	found := regexp.MustCompile(`^gateway doctor: 发现 \d+ 个问题，解决方法见上文 / \d+ problem\(s\) found; the fixes are above$`)
	said := map[string]string{}
	for _, lang := range []string{"zh", "en"} {
		t.Setenv(msg.EnvLang, lang)
		for _, path := range []string{config, missing} {
			out, _, err := runCLI(t, "gateway", "doctor", "--config", path, "--listen", listen)
			if err == nil || !found.MatchString(err.Error()) {
				t.Errorf("%s: %s: %v", lang, path, err)
			}
			if !strings.HasPrefix(out, "kfsidebar gateway doctor (") || !strings.Contains(out, path+")") {
				t.Errorf("%s: the header does not name %s:\n%s", lang, path, out)
			}
			fixes := 0
			for _, line := range strings.Split(out, "\n") {
				if strings.Contains(line, "fix:") {
					fixes++
					if !fix.MatchString(line) {
						t.Errorf("%s: not Chinese, then English: %q", lang, line)
					}
				}
			}
			if fixes == 0 {
				t.Errorf("%s: no fix:\n%s", lang, out)
			}
			if said[path] != "" && out != said[path] {
				t.Errorf("in %s:\n%s\nelse:\n%s", lang, out, said[path])
			}
			said[path] = out
		}
	}
}

// TestGatewayTwoInstancesOnPostgres: two gateway processes behind one
// URL share a PostgreSQL store: WeChat's retry of a push at the other
// instance gets the same reply, and each push reaches the target once.
func TestGatewayTwoInstancesOnPostgres(t *testing.T) {
	dsn := gatewayPostgresDSN(t)
	acct := testAccount()
	erp := newShopTarget(t)
	config := writeGatewayConfig(t, acct, "store_env = \"KFSIDEBAR_TEST_GATEWAY_STORE\"\n"+erp.targetTOML("erp"))
	t.Setenv("KFSIDEBAR_TEST_GATEWAY_STORE", dsn)
	a, b := start(t, "gateway", "--config", config), start(t, "gateway", "--config", config)
	if !strings.Contains(a.stdout.String(), "store:        PostgreSQL 127.0.0.1") || strings.Contains(a.stdout.String(), "kfsidebar-test") {
		t.Errorf("banner names the store badly (or shows the password):\n%s", a.stdout)
	}
	ctx := context.Background()
	sa, sb := senderTo(a.addr, acct), senderTo(b.addr, acct)
	const n = 10
	for i := range n {
		s, other := sa, sb
		if i%2 == 1 {
			s, other = sb, sa
		}
		p, err := s.Prepare(wechattest.Text(mpkftest.Roster[i%len(mpkftest.Roster)].OpenID, fmt.Sprint("消息 ", i), time.Now(), wechattest.NextMsgID()))
		if err != nil {
			t.Fatal(err)
		}
		r1, err1 := s.Deliver(ctx, p)
		r2, err2 := other.Deliver(ctx, p)
		if err1 != nil || err2 != nil || !r1.Transferred || !r2.Transferred || !bytes.Equal(r1.Body, r2.Body) {
			t.Fatalf("push %d: %v %v; replies %q and %q", i, err1, err2, r1.Body, r2.Body)
		}
	}
	kftest.Poll(t, "every push at the target", func() bool { m, _ := erp.received(); return m["text"] >= n })
	if m, _ := erp.received(); m["text"] != n {
		t.Errorf("target got %d deliveries of %d pushes", m["text"], n)
	}
}

// gatewayPostgresDSN is KFSIDEBAR_TEST_GATEWAY_DSN (from `.ci/run
// databases`) with a schema of the test's own, dropped at the end; the
// test is skipped without it, except in CI.
func gatewayPostgresDSN(t *testing.T) string {
	t.Helper()
	dsn := os.Getenv("KFSIDEBAR_TEST_GATEWAY_DSN")
	if dsn == "" {
		if os.Getenv("CI") != "" {
			t.Fatal(`KFSIDEBAR_TEST_GATEWAY_DSN is not set, and CI must test PostgreSQL: eval "$(.ci/run databases)"`)
		}
		t.Skip(`KFSIDEBAR_TEST_GATEWAY_DSN not set (eval "$(.ci/run databases)" starts PostgreSQL)`)
	}
	schema := "cmd_" + randomHex(6)
	db, err := sql.Open("pgx", dsn) // registered by shopsql, the driver's one home
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec("CREATE SCHEMA " + schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if db, err := sql.Open("pgx", dsn); err == nil {
			db.Exec("DROP SCHEMA " + schema + " CASCADE")
			db.Close()
		}
	})
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// TestGatewayServesTLS: with tls_cert and tls_key the gateway serves
// HTTPS itself, and doctor checks the URL over it.
func TestGatewayServesTLS(t *testing.T) {
	dir := t.TempDir()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "gateway.shop.test"},
		DNSNames: []string{"gateway.shop.test"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(90 * 24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, _ := x509.MarshalPKCS8PrivateKey(key)
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600)
	leaf, _ := x509.ParseCertificate(der)

	acct := testAccount()
	addr := freeAddr(t)
	config := writeGatewayConfig(t, acct, fmt.Sprintf("tls_cert = %q\ntls_key = %q\n", certFile, keyFile))
	gw := start(t, "gateway", "--config", config, "--listen", addr)
	if !strings.Contains(gw.stdout.String(), "serving on https://"+addr) {
		t.Errorf("banner:\n%s", gw.stdout)
	}
	roots := x509.NewCertPool()
	roots.AddCert(leaf)
	s := senderTo(gw.addr, acct)
	s.URL = "https://" + gw.addr + "/wechat"
	s.Client = &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, ServerName: "gateway.shop.test"}}}
	if ok, err := s.VerifyURL(context.Background()); !ok || err != nil {
		t.Errorf("URL check over HTTPS: %v %v", ok, err)
	}
	out, _, err := runCLI(t, "gateway", "doctor", "--config", config, "--listen", addr)
	for _, want := range []string{"✔ TLS certificate: " + certFile, "✔ running gateway", "✔ URL check"} {
		if !strings.Contains(out, want) {
			t.Errorf("doctor lacks %q (%v):\n%s", want, err, out)
		}
	}
}

// TestGatewayStopsWithSubscribers: Ctrl+C ends the gateway at once and
// cleanly, even with a workstation in the middle of a long poll.
func TestGatewayStopsWithSubscribers(t *testing.T) {
	config := writeGatewayConfig(t, testAccount(), "[gateway.workstations.desk1]\ntoken = \"desk1-token-0123456789\"\n")
	gw, err := startCommand(nil, "gateway", "--config", config)
	if err != nil {
		t.Fatal(err)
	}
	polled := make(chan error, 1)
	go func() {
		req, _ := http.NewRequest(http.MethodGet, "http://"+gw.addr+gatewayFeedPath+"?wait=25", nil)
		req.Header.Set("Authorization", "Bearer desk1-token-0123456789")
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		polled <- err
	}()
	kftest.Poll(t, "the subscriber", func() bool {
		return gatewayStatus(t, gw.addr).FeedSubscribers != nil && *gatewayStatus(t, gw.addr).FeedSubscribers == 1
	})
	began := time.Now()
	if err := gw.stop(); err != nil {
		t.Errorf("gateway exited with %v", err)
	}
	if d := time.Since(began); d > 5*time.Second {
		t.Errorf("stopping took %v with a long poll open", d)
	}
	<-polled
}
