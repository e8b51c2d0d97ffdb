package main

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/kfsidebar/kfsidebar/internal/tomlconfig"
	"github.com/kfsidebar/kfsidebar/push/statuspage"
	"github.com/kfsidebar/kfsidebar/push/wxcrypto"
)

const gatewayDoctorHelp = `按 kfsidebar gateway 的运行方式检查网关，每个问题都附带解决方法，中英文对照：
配置（Token 和密钥的格式、AppID、原始 ID、目标、工作站）、数据库、每个目标能否连接、TLS 证书，
以及正在运行的网关（它是否用这个配置的 Token 通过微信的 URL 校验）。有问题时退出码为 1。

Check the gateway as "kfsidebar gateway" would run it, each problem with its
fix, in Chinese and English: the config (the token's and the key's format,
the appid, the original id, the targets, the workstations), the store, each
target's reachability, the TLS certificate, and the running gateway (whether
it answers WeChat's URL check with this config's token). The exit status is 1
when something is wrong.`

// gatewayDoctor collects the findings of one run.
type gatewayDoctor struct {
	cfg      GatewayConfig
	setup    *gatewaySetup
	findings []finding
	timeout  time.Duration
}

func (d *gatewayDoctor) add(level checkLevel, what, detail, fix string) {
	d.findings = append(d.findings, finding{level, what, detail, fix})
}

func runGatewayDoctor(ctx context.Context, args []string, out, errOut io.Writer) error {
	cfg := DefaultGatewayConfig()
	var gf gatewayFlags
	fs := newFlagSet("gateway doctor", "gateway doctor [--config FILE] [flags]", gatewayDoctorHelp, errOut)
	cfg.bindFlags(fs, &gf)
	d := &gatewayDoctor{cfg: cfg, timeout: 8 * time.Second}
	path, data, err := cfg.load(fs, &gf, args)
	var usage usageError
	switch {
	case errors.As(err, &usage), errors.Is(err, flag.ErrHelp):
		return err
	case err == nil && fs.NArg() > 0:
		fs.Usage()
		return usageError{fmt.Sprintf("gateway doctor: unexpected %q", fs.Arg(0))}
	case err != nil:
		d.configErrors(err)
	default:
		d.cfg = cfg
		d.setup = cfg.setup(os.Getenv)
		d.configProblems(path, data)
		if d.setup.ok() {
			d.checkStore(ctx)
			d.checkTargets(ctx)
		}
		d.checkTLS()
		d.checkRunning(ctx)
	}
	fmt.Fprintf(out, "kfsidebar gateway doctor (%s, %s)\n\n", versionString(), gf.config)
	failed := 0
	for _, f := range d.findings {
		fmt.Fprintf(out, "%s %s: %s\n", [...]string{"✔", "⚠", "✘"}[f.level], f.what, f.detail)
		if f.level != checkOK && f.fix != "" {
			for _, line := range strings.Split(f.fix, "\n") {
				fmt.Fprintf(out, "    解决 / fix: %s\n", line)
			}
		}
		if f.level == checkFail {
			failed++
		}
	}
	if failed > 0 {
		fmt.Fprintln(out)
		return fmt.Errorf("gateway doctor: %s", zhEn(fmt.Sprintf("发现 %d 个问题，解决方法见上文", failed), fmt.Sprintf("%d problem(s) found; the fixes are above", failed)))
	}
	fmt.Fprintln(out, "\n"+zhEn("一切正常", "All good."))
	return nil
}

// zhEn is a text of the gateway's, which shop staff read on a server whose
// locale says nothing about them: in Chinese, then in English.
func zhEn(zh, en string) string { return zh + " / " + en }

// configErrors reports a file that did not decode (or is missing).
func (d *gatewayDoctor) configErrors(err error) {
	var errs []error
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	} else {
		errs = []error{err}
	}
	for _, e := range errs {
		var te *tomlconfig.Error
		if errors.As(e, &te) {
			d.add(checkFail, "config "+te.Key, te.Reason, editLine(te.File, te.Line))
			continue
		}
		detail := e.Error()
		var pe *fs.PathError
		if errors.As(e, &pe) {
			detail = pe.Error() // the system's own words, without load's "config: "
		}
		fix := ""
		switch {
		case errors.Is(e, fs.ErrNotExist):
			fix = zhEn("写一个配置文件（docs/gateway-setup.md），或者用 --config 指定它的路径", "write one (docs/gateway-setup.md), or give its path with --config")
		case errors.Is(e, fs.ErrPermission):
			fix = zhEn("让运行 doctor 和网关的用户都能读取这个文件", "make the file readable by the users that run doctor and the gateway")
		}
		d.add(checkFail, "config", detail, fix)
	}
}

// editLine is the fix of a config key's line.
func editLine(path string, line int) string {
	return zhEn(fmt.Sprintf("修改 %s 第 %d 行", path, line), fmt.Sprintf("edit %s line %d", path, line))
}

// configProblems reports the setup's findings by key.
func (d *gatewayDoctor) configProblems(path string, data []byte) {
	if d.setup.ok() {
		s := d.setup
		d.add(checkOK, "config", path+": "+zhEn(
			fmt.Sprintf("Token、密钥、AppID %s、原始 ID %s、%d 个目标、%d 个工作站", s.push.AppID, s.push.OriginalID, len(s.push.Targets), len(s.feedTokens)),
			fmt.Sprintf("token, key, appid %s, original id %s, %d target(s), %d workstation(s)", s.push.AppID, s.push.OriginalID, len(s.push.Targets), len(s.feedTokens))), "")
	}
	lines := tomlconfig.KeyLines(data)
	for _, p := range inFileOrder(d.setup.problems, lines) {
		key := "gateway." + p.Key
		fix := zhEn(fmt.Sprintf("在 %s 的 [gateway] 里加上 %s", path, p.Key), fmt.Sprintf("add %s to [gateway] in %s", p.Key, path))
		switch line := problemLine(lines, p); {
		case line > 0:
			fix = editLine(path, line)
		case p.Key == "workstations":
			fix = zhEn(fmt.Sprintf("在 %s 里为每个工作站加一个带 token_env 的 [gateway.workstations.NAME] 表（docs/gateway-setup.md）", path),
				fmt.Sprintf("add a [gateway.workstations.NAME] table with token_env for each workstation to %s (docs/gateway-setup.md)", path))
		}
		level := checkFail
		if p.Warning {
			level = checkWarn
		}
		d.add(level, "config "+key, p.Message, fix)
	}
}

// checkStore opens the store as the gateway does and counts its outbox.
func (d *gatewayDoctor) checkStore(ctx context.Context) {
	what := "store " + d.setup.store.String()
	ctx, cancel := context.WithTimeout(ctx, 2*d.timeout)
	defer cancel()
	st, err := openGatewayStore(ctx, d.setup.store, d.setup.push.Targets)
	if err != nil {
		d.add(checkFail, what, err.Error(), zhEn("数据库连不上或没有建表权限：检查 store 或 store_env", "the database is out of reach or the user may not create tables: check store or store_env"))
		return
	}
	defer st.Close()
	depth, err := st.Depth(ctx)
	if err != nil {
		d.add(checkFail, what, err.Error(), "")
		return
	}
	pending, dead := 0, 0
	for _, dp := range depth {
		pending += dp.Pending
		dead += dp.Dead
	}
	detail := zhEn(fmt.Sprintf("可以连接；出站队列 %d 条待发送，%d 条死信", pending, dead), fmt.Sprintf("reachable; outbox %d pending, %d dead letter(s)", pending, dead))
	if dead > 0 {
		d.add(checkWarn, what, detail, zhEn("kfsidebar gateway replay --config FILE 列出死信；目标恢复后加 --target NAME --all 重发", "kfsidebar gateway replay --config FILE lists them; --target NAME --all sends them again once the target works"))
		return
	}
	d.add(checkOK, what, detail, "")
}

// checkTargets asks each target for its URL with HEAD: any HTTP answer
// means the gateway can reach it. Nothing is posted: a target takes every
// POST for a push.
func (d *gatewayDoctor) checkTargets(ctx context.Context) {
	client := &http.Client{Timeout: d.timeout, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, t := range d.setup.push.Targets {
		what := "target " + t.Name
		req, err := http.NewRequestWithContext(ctx, http.MethodHead, t.URL, nil)
		if err != nil {
			d.add(checkFail, what, err.Error(), zhEn("改正 [gateway.targets."+t.Name+"] 的 url", "fix [gateway.targets."+t.Name+"] url"))
			continue
		}
		resp, err := client.Do(req)
		if err == nil {
			resp.Body.Close()
			d.add(checkOK, what, hostOf(t.URL)+" "+zhEn(fmt.Sprintf("有响应（HEAD 得到 HTTP %d；推送用 POST）", resp.StatusCode), fmt.Sprintf("answers (HTTP %d to HEAD; pushes are POSTed)", resp.StatusCode)), "")
			continue
		}
		var dnsErr *net.DNSError
		var unknownAuthority x509.UnknownAuthorityError
		var hostErr x509.HostnameError
		switch {
		case errors.As(err, &dnsErr):
			d.add(checkFail, what, zhEn("找不到主机 "+hostOf(t.URL), "cannot look up "+hostOf(t.URL)), zhEn("检查 url 的主机名和这台服务器的 DNS", "check the url's host name and this server's DNS"))
		case errors.As(err, &unknownAuthority), errors.As(err, &hostErr):
			d.add(checkFail, what, zhEn("证书不受信任", "its certificate is not trusted")+" ("+err.Error()+")", zhEn("给目标换一个公共 CA 签发的证书，或者在这台服务器上安装它的 CA", "give the target a certificate from a public CA, or install its CA on this server"))
		default:
			d.add(checkFail, what, zhEn("连接失败", "cannot connect")+": "+err.Error(),
				zhEn("启动目标系统或改正 url；推送会在出站队列里等待并重试", "start the target or correct its url; pushes wait in the outbox and are retried"))
		}
	}
}

func hostOf(raw string) string {
	if u, err := url.Parse(raw); err == nil {
		return u.Host
	}
	return raw
}

// checkTLS warns of a certificate close to expiry.
func (d *gatewayDoctor) checkTLS() {
	if d.cfg.TLSCert == "" {
		return
	}
	pair, err := tls.LoadX509KeyPair(d.cfg.TLSCert, d.cfg.TLSKey)
	if err != nil {
		return // a config problem, reported above
	}
	leaf := pair.Leaf
	left := time.Until(leaf.NotAfter)
	cert := fmt.Sprintf("%s, %v, ", d.cfg.TLSCert, leaf.DNSNames)
	day := leaf.NotAfter.Format("2006-01-02")
	renew := zhEn("给证书续期；网关会在一分钟内读取新文件", "renew it; the gateway reads the new files within a minute")
	switch days := int(left.Hours() / 24); {
	case left <= 0:
		d.add(checkFail, "TLS certificate", cert+zhEn("已于 "+day+" 过期", "expired on "+day), renew)
	case left < 14*24*time.Hour:
		d.add(checkWarn, "TLS certificate", cert+zhEn(fmt.Sprintf("%d 天后（%s）过期", days, day), fmt.Sprintf("expires in %d days (%s)", days, day)), renew)
	default:
		d.add(checkOK, "TLS certificate", cert+zhEn("有效期至 "+day, "valid until "+day), "")
	}
}

// checkRunning asks the gateway on the listen address for its status,
// then checks its URL the way WeChat does when the admin saves it,
// signed with this config's token.
func (d *gatewayDoctor) checkRunning(ctx context.Context) {
	addr := localAddr(d.cfg.Listen)
	scheme := "http"
	client := &http.Client{Timeout: 3 * time.Second, Transport: &http.Transport{Proxy: nil}}
	if d.cfg.TLSCert != "" {
		scheme = "https"
		pair, err := tls.LoadX509KeyPair(d.cfg.TLSCert, d.cfg.TLSKey)
		if err != nil || len(pair.Leaf.DNSNames) == 0 {
			return
		}
		roots, _ := x509.SystemCertPool()
		if roots == nil {
			roots = x509.NewCertPool()
		}
		roots.AddCert(pair.Leaf) // a self-signed certificate checks too
		client.Transport = &http.Transport{Proxy: nil, TLSClientConfig: &tls.Config{RootCAs: roots, ServerName: pair.Leaf.DNSNames[0]}}
	}
	base := scheme + "://" + addr
	what := "running gateway " + addr
	if d.cfg.StatusPage {
		body, err := getBody(ctx, client, base+gatewayStatusJSON)
		var r statuspage.Report
		if err != nil || json.Unmarshal(body, &r) != nil || r.PushPath == "" {
			d.add(checkWarn, what, notAnswering(err), startIt)
			return
		}
		d.add(checkOK, what, "kfsidebar "+r.Version+": "+zhEn(
			fmt.Sprintf("启动以来 %d 条推送，转给客服 %d 条，重复 %d 条", r.Received, r.Transferred, r.Duplicates),
			fmt.Sprintf("%d push(es) since start, %d transferred, %d duplicate(s)", r.Received, r.Transferred, r.Duplicates)), "")
	}
	if d.setup == nil || d.setup.push.Token == "" {
		return
	}
	var nonce [8]byte
	rand.Read(nonce[:])
	ts, n, echo := strconv.FormatInt(time.Now().Unix(), 10), hex.EncodeToString(nonce[:4]), hex.EncodeToString(nonce[4:])
	q := url.Values{"signature": {wxcrypto.Signature(d.setup.push.Token, ts, n)}, "timestamp": {ts}, "nonce": {n}, "echostr": {echo}}
	body, err := getBody(ctx, client, base+d.cfg.Path+"?"+q.Encode())
	switch {
	case err == nil && string(body) == echo:
		d.add(checkOK, "URL check", zhEn("网关用这个配置的 Token 通过了微信对 "+d.cfg.Path+" 的 URL 校验", "the gateway answers WeChat's URL check for "+d.cfg.Path+" with this config's token"), "")
	case err != nil && strings.Contains(err.Error(), "403"):
		d.add(checkFail, "URL check", zhEn("运行中的网关不接受这个配置的 Token", "the running gateway refuses this config's token"),
			zhEn("修改配置后重启网关（或者给 doctor 指定网关运行时用的 --config）", "restart the gateway after changing the config (or give doctor the --config it runs with)"))
	case !d.cfg.StatusPage:
		d.add(checkWarn, what, notAnswering(err), startIt)
	default:
		d.add(checkFail, "URL check", d.cfg.Path+": "+errString(err), zhEn("检查配置里的 path；修改后重启网关", "check path in the config; restart the gateway after changing it"))
	}
}

// startIt is the fix of a gateway that does not answer.
var startIt = zhEn("启动它：kfsidebar gateway --config FILE（作为服务运行：docs/gateway-setup.md）", "start it: kfsidebar gateway --config FILE (as a service: docs/gateway-setup.md)")

// notAnswering says that the gateway does not answer, and err.
func notAnswering(err error) string {
	return zhEn("没有运行", "not answering") + " (" + errString(err) + ")"
}

// getBody GETs url and returns its body, or an error naming the status.
func getBody(ctx context.Context, client *http.Client, url string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("HTTP %s", resp.Status)
	}
	return body, nil
}

func errString(err error) string {
	if err == nil {
		return zhEn("不是 kfsidebar 网关", "not a kfsidebar gateway")
	}
	return err.Error()
}
