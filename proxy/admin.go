package proxy

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"html/template"
	"maps"
	"net"
	"net/http"
	"slices"
	"strings"
)

// AdminOptions configure the pages served at the proxy's own address.
type AdminOptions struct {
	// Addr is the proxy address browsers are told to use ("127.0.0.1:8787").
	Addr string
	// ConsoleHosts go through the proxy in the PAC file; everything else is
	// DIRECT. Default: [DefaultConsoleHost].
	ConsoleHosts []string
	// CAPEM is the root certificate offered at /ca.pem.
	CAPEM []byte
	// Version is shown on the status page.
	Version string
	// Chats reports how many chat users the proxy knows now; optional.
	Chats func() int
	// Pages are more pages at the proxy's own address, by ServeMux
	// pattern (e.g. "/quick-replies/"). They get the same Host check.
	Pages map[string]http.Handler
}

// PAC returns a proxy auto-config file that sends only the console hosts to
// the proxy at addr. If kfsidebar is not running, the browser falls back to
// DIRECT: the console keeps working, without the sidebar.
func PAC(addr string, hosts []string) string {
	var b strings.Builder
	b.WriteString("// kfsidebar: only the WeChat customer-service console goes through the local proxy.\n")
	b.WriteString("function FindProxyForURL(url, host) {\n\thost = host.toLowerCase();\n")
	for _, h := range NewHostSet(hosts...).sorted() {
		fmt.Fprintf(&b, "\tif (host == %q) return \"PROXY %s; DIRECT\";\n", h, addr)
	}
	b.WriteString("\treturn \"DIRECT\";\n}\n")
	return b.String()
}

func (s HostSet) sorted() []string { return slices.Sorted(maps.Keys(s)) }

// NewAdmin serves /proxy.pac, /ca.pem and the status page. It answers only
// requests whose Host is the proxy's own address, so a web page cannot read
// it through DNS rebinding; it never shows customer data.
func NewAdmin(opts AdminOptions) http.Handler {
	if len(opts.ConsoleHosts) == 0 {
		opts.ConsoleHosts = []string{DefaultConsoleHost}
	}
	_, port, _ := net.SplitHostPort(opts.Addr)
	allowed := map[string]bool{
		strings.ToLower(opts.Addr):          true,
		net.JoinHostPort("127.0.0.1", port): true,
		net.JoinHostPort("localhost", port): true,
		net.JoinHostPort("::1", port):       true,
	}
	pac := PAC(opts.Addr, opts.ConsoleHosts)
	var fingerprint string
	if block, _ := pem.Decode(opts.CAPEM); block != nil {
		sum := sha256.Sum256(block.Bytes)
		fingerprint = strings.ToUpper(hex.EncodeToString(sum[:]))
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /proxy.pac", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/x-ns-proxy-autoconfig")
		w.Header().Set("Cache-Control", "no-cache")
		fmt.Fprint(w, pac)
	})
	mux.HandleFunc("GET /ca.pem", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/x-x509-ca-cert")
		w.Header().Set("Content-Disposition", `attachment; filename="kfsidebar-ca.pem"`)
		w.Write(opts.CAPEM)
	})
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		chats := -1
		if opts.Chats != nil {
			chats = opts.Chats()
		}
		var buf bytes.Buffer
		err := statusPage.Execute(&buf, map[string]any{
			"Version": opts.Version, "Addr": opts.Addr, "Hosts": NewHostSet(opts.ConsoleHosts...).sorted(),
			"Chats": chats, "Fingerprint": fingerprint,
		})
		if err != nil {
			http.Error(w, "status page failed", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
		w.Write(buf.Bytes())
	})
	for pattern, h := range opts.Pages {
		mux.Handle(pattern, h)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !allowed[strings.ToLower(r.Host)] {
			http.Error(w, "kfsidebar: wrong Host for the local status page\n", http.StatusMisdirectedRequest)
			return
		}
		mux.ServeHTTP(w, r)
	})
}

var statusPage = template.Must(template.New("status").Parse(`<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>kfsidebar</title>
<style>
body{font:14px/1.6 system-ui,-apple-system,"PingFang SC","Microsoft YaHei",sans-serif;max-width:760px;margin:40px auto;padding:0 20px;color:#222}
h1{font-size:22px;margin-bottom:4px}.muted{color:#888}code{background:#f3f3f3;padding:1px 5px;border-radius:3px}
table{border-collapse:collapse}td{padding:4px 16px 4px 0;vertical-align:top}a{color:#07a35a}
</style></head><body>
<h1>kfsidebar <span class="muted">{{.Version}}</span></h1>
<p class="muted">客服侧边栏本地代理正在运行 · local proxy for the WeChat customer-service console</p>
<table>
<tr><td>代理地址 Proxy</td><td><code>{{.Addr}}</code></td></tr>
<tr><td>自动代理 PAC</td><td><a href="/proxy.pac">http://{{.Addr}}/proxy.pac</a></td></tr>
<tr><td>解密的站点 Decrypted</td><td>{{range .Hosts}}<code>{{.}}</code> {{end}}(其它网站一律直连、不解密)</td></tr>
<tr><td>根证书 CA</td><td><a href="/ca.pem">下载 kfsidebar-ca.pem</a><br><span class="muted">SHA-256 {{.Fingerprint}}</span></td></tr>
{{if ge .Chats 0}}<tr><td>已识别会话 Chats known</td><td>{{.Chats}}</td></tr>{{end}}
</table>
<h2>设置 Setup</h2>
<ol>
<li>信任根证书:下载上面的证书,导入到系统或浏览器的“受信任的根证书颁发机构”。这个证书只能用于 {{range .Hosts}}<code>{{.}}</code> {{end}}。</li>
<li>浏览器的自动代理配置地址设为 <code>http://{{.Addr}}/proxy.pac</code>。</li>
<li>打开 <code>https://{{index .Hosts 0}}</code>,右侧会出现客户侧边栏。</li>
</ol>
</body></html>
`))
