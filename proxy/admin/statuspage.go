package admin

import (
	_ "embed"
	"fmt"
	"html/template"
	"time"

	"github.com/kfsidebar/kfsidebar/internal/msg"
	"github.com/kfsidebar/kfsidebar/proxy/console"
)

// statusJS runs the status page's two checks in the browser itself: only
// the browser knows whether it uses the PAC and trusts the CA.
//
//go:embed status.js
var statusJS []byte

// statusView is what the status page template renders.
type statusView struct {
	Status
	FirstHost string
	ProbeHost string
	// SetupFlags and CAFlags follow the setup commands (Options).
	SetupFlags, CAFlags string
	Today               DayCount
	Chart               chart
	LastScan            string
	Backend             *backendView
	// The rows of health.go: nil when there is no data source.
	StorageRow, TunnelRow, DescriptorRow *healthView
	// GatewayRow is the push gateway's subscription; nil without one.
	GatewayRow *healthView
}

type backendView struct {
	Class, Text, Detail string
}

// The chart's geometry, in SVG user units.
const (
	chartW, chartH = 420, 150
	chartTop       = 18 // room for the totals above the bars
	chartBottom    = 20 // room for the day labels
	barW           = 36
)

type chart struct {
	W, H, Base int
	Bars       []chartBar
	Legend     []chartSeg
}

type chartBar struct {
	X, LabelX int
	Label     string
	Total     int
	TotalY    int
	Segs      []chartSeg
}

type chartSeg struct {
	Y, H  int
	Color string
	Title string
}

// The colors of the four sources, the same in bars and legend.
var sourceColors = []struct{ name, color string }{
	{"手动接入 manual", "#07a35a"},
	{"自动接入 auto", "#2d7ff9"},
	{"转接 transfer", "#f5a623"},
	{"其它 other", "#b0b0b0"},
}

func newChart(days []DayCount) chart {
	c := chart{W: chartW, H: chartH, Base: chartH - chartBottom}
	for _, s := range sourceColors {
		c.Legend = append(c.Legend, chartSeg{Color: s.color, Title: s.name})
	}
	if len(days) == 0 {
		return c
	}
	maxTotal := 1
	for _, d := range days {
		maxTotal = max(maxTotal, d.Total())
	}
	step := chartW / len(days)
	usable := c.Base - chartTop
	for i, d := range days {
		x := i*step + (step-barW)/2
		bar := chartBar{X: x, LabelX: x + barW/2, Label: shortDay(d.Day), Total: d.Total()}
		y := c.Base
		for j, n := range []int{d.Manual, d.Auto, d.Transfer, d.Other} {
			if n == 0 {
				continue
			}
			h := max(n*usable/maxTotal, 1)
			y -= h
			bar.Segs = append(bar.Segs, chartSeg{Y: y, H: h, Color: sourceColors[j].color, Title: fmt.Sprintf("%s %s: %d", d.Day, sourceColors[j].name, n)})
		}
		bar.TotalY = y - 4
		c.Bars = append(c.Bars, bar)
	}
	return c
}

// shortDay turns 2006-01-02 into 01-02.
func shortDay(day string) string {
	if len(day) == len(time.DateOnly) {
		return day[5:]
	}
	return day
}

func newStatusView(st Status, now time.Time, setupFlags, caFlags string) statusView {
	v := statusView{Status: st, ProbeHost: console.PACProbeHost, Chart: newChart(st.Days), SetupFlags: setupFlags, CAFlags: caFlags}
	if len(st.ConsoleHosts) > 0 {
		v.FirstHost = st.ConsoleHosts[0]
	}
	if n := len(st.Days); n > 0 {
		v.Today = st.Days[n-1]
	}
	if st.LastScan != nil {
		v.LastScan = st.LastScan.Local().Format("2006-01-02 15:04:05") + " (" + msg.Ago(now.Sub(*st.LastScan)) + ")"
	}
	v.StorageRow = newStorageView(st.Storage, now)
	v.TunnelRow = newTunnelView(st.Tunnels, now)
	v.DescriptorRow = newDescriptorView(st.Descriptors, now)
	v.GatewayRow = newGatewayView(st.Gateway, now)
	if b := st.Backend; b != nil {
		bv := &backendView{Class: "ok", Text: "✔ 正常 ok"}
		switch b.State {
		case "ok", "":
		case "degraded":
			bv.Class, bv.Text = "warn", "⚠ 最近有失败 degraded"
		default:
			bv.Class, bv.Text = "bad", "✘ 暂停调用 paused"
			if !b.RetryAt.IsZero() {
				bv.Text += ", 将在 " + b.RetryAt.Local().Format("15:04:05") + " 重试"
			}
		}
		if b.LastError != "" {
			bv.Detail = "上次错误 last error " + b.LastErrorAt.Local().Format("15:04:05") + ": " + b.LastError
		}
		v.Backend = bv
	}
	return v
}

var statusPage = template.Must(template.New("status").Parse(`<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>kfsidebar</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font:14px/1.6 system-ui,-apple-system,"PingFang SC","Microsoft YaHei",sans-serif;max-width:820px;margin:32px auto;padding:0 20px;color:#222}
h1{font-size:22px;margin-bottom:4px}h2{font-size:17px;margin-top:28px;border-bottom:1px solid #eee;padding-bottom:4px}h3{font-size:15px;margin:16px 0 4px}
.muted{color:#888}code{background:#f3f3f3;padding:1px 5px;border-radius:3px}
table{border-collapse:collapse}td{padding:4px 16px 4px 0;vertical-align:top}a{color:#07a35a}
[data-state=ok]{color:#07a35a}[data-state=bad]{color:#d0021b}[data-state=unknown],[data-state=checking]{color:#888}
.ok{color:#07a35a}.warn{color:#c77c00}.bad{color:#d0021b}
.alert{font-weight:bold;border:1px solid currentColor;border-radius:4px;padding:8px 12px}
.legend span{display:inline-block;margin-right:14px}.legend i{display:inline-block;width:10px;height:10px;margin-right:4px;border-radius:2px}
ol li{margin-bottom:4px}
</style></head>
<body data-probe-host="{{.ProbeHost}}" data-console-host="{{.FirstHost}}">
<h1>kfsidebar <span class="muted">{{.Version}}</span></h1>
<p class="muted">客服侧边栏本地代理正在运行 · the local proxy for the WeChat customer-service console is running</p>
{{if .Paused}}<p id="paused-alert" class="alert warn">已暂停：客服页面直接打开，不显示侧边栏。在托盘菜单点“继续”恢复。 Paused: the console opens directly, without the sidebar; choose 继续 (Continue) in the tray menu to resume.</p>{{end}}
{{with .StorageRow}}{{if eq .Class "bad"}}<p id="storage-alert" class="alert bad">{{.Text}}</p>{{end}}{{end}}

<h2>这个浏览器 This browser</h2>
<table>
<tr><td>自动代理 PAC</td><td id="pac-state" data-state="checking">检查中… checking…</td></tr>
<tr><td>根证书 CA</td><td id="ca-state" data-state="checking">检查中… checking…</td></tr>
</table>

<h2>今天 Today</h2>
<table>
{{if .Days}}<tr><td>新会话 New chats</td><td><b>{{.Today.Total}}</b> — 手动接入 manual {{.Today.Manual}} · 自动接入 auto {{.Today.Auto}} · 转接 transfer {{.Today.Transfer}} · 其它 other {{.Today.Other}}</td></tr>{{end}}
{{with .Chats}}<tr><td>已识别会话 Chats known</td><td>{{.}}</td></tr>{{end}}
<tr><td>上次识别 Last chat learned</td><td>{{if .LastScan}}{{.LastScan}}{{else}}<span class="muted">还没有 not yet — 打开客服页面接入一个会话 open the console and accept a chat</span>{{end}}</td></tr>
{{with .Backend}}<tr><td>订单后台 Order backend</td><td id="backend-state" class="{{.Class}}">{{.Text}}{{with .Detail}}<br><span class="muted">{{.}}</span>{{end}}</td></tr>{{end}}
{{with .StorageRow}}<tr><td>保存会话 Chats saved</td><td id="storage-state" class="{{.Class}}">{{.Text}}{{with .Detail}}<br><span class="muted">{{.}}</span>{{end}}</td></tr>{{end}}
{{with .GatewayRow}}<tr><td>店铺消息推送 Push gateway</td><td id="gateway-state" class="{{.Class}}">{{.Text}}{{with .Detail}}<br><span class="muted">{{.}}</span>{{end}}</td></tr>{{end}}
</table>
{{if .Days}}
<h3>最近 7 天的新会话 New chats, last 7 days</h3>
<svg id="chart" width="{{.Chart.W}}" height="{{.Chart.H}}" viewBox="0 0 {{.Chart.W}} {{.Chart.H}}" role="img" aria-label="new chats per day">
<line x1="0" y1="{{.Chart.Base}}" x2="{{.Chart.W}}" y2="{{.Chart.Base}}" stroke="#ddd"/>
{{range .Chart.Bars}}<g>{{$x := .X}}{{range .Segs}}<rect x="{{$x}}" y="{{.Y}}" width="36" height="{{.H}}" fill="{{.Color}}"><title>{{.Title}}</title></rect>{{end}}
<text x="{{.LabelX}}" y="{{.TotalY}}" text-anchor="middle" font-size="11" fill="#444">{{.Total}}</text>
<text x="{{.LabelX}}" y="{{$.Chart.H}}" dy="-5" text-anchor="middle" font-size="11" fill="#888">{{.Label}}</text></g>
{{end}}</svg>
<div class="legend">{{range .Chart.Legend}}<span><i style="background:{{.Color}}"></i>{{.Title}}</span>{{end}}</div>
{{end}}

<h2>代理 Proxy</h2>
<table>
<tr><td>代理地址 Proxy</td><td><code>{{.Addr}}</code></td></tr>
<tr><td>自动代理 PAC</td><td><a href="/proxy.pac">http://{{.Addr}}/proxy.pac</a></td></tr>
<tr><td>解密的站点 Decrypted</td><td>{{range .ConsoleHosts}}<code>{{.}}</code> {{end}}(其它网站一律直连、不解密 every other site is never decrypted)</td></tr>
{{with .Upstream}}<tr><td>上级代理 Upstream proxy</td><td><code>{{.}}</code></td></tr>{{end}}
{{with .TunnelRow}}<tr><td>其它网站的连接 Blind tunnels</td><td id="tunnel-state" class="{{.Class}}">{{.Text}}{{with .Detail}}<br><span class="muted">{{.}}</span>{{end}}</td></tr>{{end}}
{{with .DescriptorRow}}<tr><td>文件描述符 Descriptors</td><td id="descriptor-state" class="{{.Class}}">{{.Text}}{{with .Detail}}<br><span class="muted">{{.}}</span>{{end}}</td></tr>{{end}}
<tr><td>根证书 CA</td><td><a href="/ca.pem">下载 download kfsidebar-ca.pem</a><br><span class="muted">SHA-256 {{.Fingerprint}}</span></td></tr>
</table>

<h2>设置 Setup</h2>
<p>每台电脑只需设置一次。命令在 kfsidebar 所在的文件夹里运行。 Once per computer; run the commands where kfsidebar is.
最省事的办法: <code>kfsidebar open{{.SetupFlags}}</code> 打开一个专用的浏览器窗口, 不改动系统设置。
The simplest way: <code>kfsidebar open{{.SetupFlags}}</code> starts a browser window of its own and changes nothing on the system.</p>

<h3>Windows (Chrome, Edge)</h3>
<ol>
<li>信任根证书 Trust the CA: <code>kfsidebar ca install{{.CAFlags}}</code> — Windows 弹出安全警告时点“是” answer “Yes” to Windows' security warning.</li>
<li>打开自动代理 Turn the PAC on: <code>kfsidebar proxy on{{.SetupFlags}}</code><br>
<span class="muted">或手动 or by hand: 设置 Settings → 网络和 Internet Network &amp; Internet → 代理 Proxy → 使用设置脚本 Use setup script → <code>http://{{.Addr}}/proxy.pac</code></span></li>
<li>打开 Open <code>https://{{.FirstHost}}</code>。Firefox 120+ 也使用 Windows 的证书 uses the Windows certificates too (网络设置 Network Settings → 使用系统代理设置 Use system proxy settings)。</li>
</ol>
<h3>macOS (Chrome, Edge, Safari)</h3>
<ol>
<li>信任根证书 Trust the CA: <code>./kfsidebar ca install{{.CAFlags}}</code> — macOS 会要求输入登录密码 macOS asks for your login password.</li>
<li>打开自动代理 Turn the PAC on: <code>./kfsidebar proxy on{{.SetupFlags}}</code><br>
<span class="muted">或手动 or by hand: 系统设置 System Settings → 网络 Network → (Wi-Fi) → 详细信息 Details → 代理 Proxies → 自动代理配置 Automatic proxy configuration → <code>http://{{.Addr}}/proxy.pac</code></span></li>
<li>打开 Open <code>https://{{.FirstHost}}</code>。</li>
</ol>
<h3>Linux (Chrome, Chromium, Firefox)</h3>
<ol>
<li>信任根证书 Trust the CA: <code>./kfsidebar ca install{{.CAFlags}}</code> (需要 needs <code>certutil</code>: <code>sudo apt install libnss3-tools</code>)。</li>
<li>打开自动代理 Turn the PAC on (GNOME): <code>./kfsidebar proxy on{{.SetupFlags}}</code><br>
<span class="muted">或手动 or by hand: 设置 Settings → 网络 Network → 网络代理 Network Proxy → 自动 Automatic → <code>http://{{.Addr}}/proxy.pac</code>; Firefox: 设置 Settings → 网络设置 Network Settings → 自动代理配置的 URL Automatic proxy configuration URL</span></li>
<li>打开 Open <code>https://{{.FirstHost}}</code>。</li>
</ol>
<p class="muted">检查一切 Check everything: <code>kfsidebar doctor{{.SetupFlags}}</code> · 撤销 Undo: <code>kfsidebar proxy off{{.SetupFlags}}</code>, <code>kfsidebar ca uninstall{{.CAFlags}}</code></p>
<script src="/status.js"></script>
</body></html>
`))
