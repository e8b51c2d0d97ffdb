package proxy

import (
	"context"
	"crypto/x509"
	"errors"
	"html/template"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
)

// unreachable is the page a browser gets instead of the console when the
// console's server cannot be reached (the internet is down, the name does
// not resolve, a firewall refuses): in Chinese and English, it says that it
// is the console that is unreachable, not kfsidebar, and tries again by
// itself. Requests of the page's own scripts get the short text instead.
var unreachable = template.Must(template.New("unreachable").Parse(`<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="refresh" content="15">
<title>无法连接到微信客服 · Cannot reach the WeChat console</title>
<style>
body{font:15px/1.6 -apple-system,"Segoe UI","PingFang SC","Microsoft YaHei",sans-serif;color:#222;background:#f6f7f9;margin:0}
main{max-width:36em;margin:12vh auto;padding:2em;background:#fff;border-radius:8px;box-shadow:0 1px 4px #0002}
h1{font-size:1.3em;margin:0 0 .6em}.en{color:#666;font-size:.92em;margin-top:1.6em;border-top:1px solid #eee;padding-top:1em}
code{background:#f0f0f0;padding:0 .3em;border-radius:3px}a{color:#07c160}
</style></head><body><main>
<h1>无法连接到微信客服服务器</h1>
<p>这台电脑现在连不上 <code>{{.Host}}</code>（{{.ZH}}）。请检查网络连接，或请 IT 同事检查防火墙和代理设置。</p>
<p>kfsidebar 正常运行中：问题不在 kfsidebar。网络恢复后，本页每 15 秒自动重试，也可以<a href="">立即重试</a>。</p>
<div class="en" lang="en">
<p><b>Cannot reach the WeChat customer-service console.</b> This computer cannot connect to <code>{{.Host}}</code> ({{.EN}}). Check the network connection, or ask IT to check the firewall and proxy settings.</p>
<p>kfsidebar is running: the problem is not kfsidebar. This page tries again every 15 seconds once the network is back, or <a href="">retry now</a>.</p>
</div></main></body></html>
`))

// writeUnreachable answers a console request whose upstream failed with
// err: the page above for a page load, badGatewayText for anything else.
// The cause is named in general words only; the details are in the log.
func writeUnreachable(w http.ResponseWriter, r *http.Request, err error) {
	if !isPageLoad(r) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusBadGateway)
		io.WriteString(w, badGatewayText)
		return
	}
	zh, en := cause(err)
	host, _, splitErr := net.SplitHostPort(r.Host)
	if splitErr != nil {
		host = r.Host
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusBadGateway)
	unreachable.Execute(w, struct{ Host, ZH, EN string }{host, zh, en})
}

// isPageLoad says whether r loads a page the user looks at (a navigation),
// rather than a script's request or a resource.
func isPageLoad(r *http.Request) bool {
	if r.Method != http.MethodGet {
		return false
	}
	if mode := r.Header.Get("Sec-Fetch-Mode"); mode != "" {
		return mode == "navigate"
	}
	return strings.Contains(r.Header.Get("Accept"), "text/html")
}

// cause names, in Chinese and English, the kind of failure err is.
func cause(err error) (zh, en string) {
	var dnsErr *net.DNSError
	var certErr *x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	switch {
	case errors.As(err, &dnsErr):
		return "找不到服务器的地址（DNS）", "the name does not resolve (DNS)"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "连接被拒绝", "the connection was refused"
	case errors.Is(err, syscall.ENETUNREACH), errors.Is(err, syscall.EHOSTUNREACH):
		return "网络不可达", "the network is unreachable"
	case errors.Is(err, context.DeadlineExceeded), isTimeout(err):
		return "连接超时", "the connection timed out"
	case errors.As(err, &certErr), errors.As(err, &hostErr):
		return "服务器的证书无法验证", "the server's certificate could not be verified"
	default:
		return "网络错误", "a network error"
	}
}
