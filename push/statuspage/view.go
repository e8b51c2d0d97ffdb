package statuspage

import (
	"html/template"
	"maps"
	"slices"
	"time"

	"github.com/kfsidebar/kfsidebar/internal/msg"
)

// view is what the page template renders.
type view struct {
	Report
	Opts      Options
	Started   string
	Types     []typeCount
	Refused   []typeCount
	Targets   []targetView
	DeadTotal int
	Pending   int
}

type typeCount struct {
	Type string
	N    int64
}

type targetView struct {
	Name, Class, State   string
	Pending, Dead        int
	Delivered, Failed    int64
	LastSuccess, LastErr string
}

func newView(r Report, opts Options, now time.Time) view {
	v := view{Report: r, Opts: opts, Started: stamp(r.Started, now)}
	for _, k := range slices.Sorted(maps.Keys(r.PerMinute)) {
		v.Types = append(v.Types, typeCount{k, int64(r.PerMinute[k])})
	}
	for _, k := range slices.Sorted(maps.Keys(r.Refused)) {
		v.Refused = append(v.Refused, typeCount{k, r.Refused[k]})
	}
	for _, t := range r.Targets {
		tv := targetView{Name: t.Name, Class: "ok", State: "✔ 正常 ok", Pending: t.Pending, Dead: t.Dead,
			Delivered: t.Delivered, Failed: t.Failed, LastSuccess: stamp(t.LastSuccess, now)}
		if !t.Healthy {
			tv.Class, tv.State = "bad", "✘ 发送失败 failing"
		}
		if t.LastError != "" && !t.LastFailure.IsZero() {
			tv.LastErr = stamp(t.LastFailure, now) + ": " + t.LastError
		}
		v.Targets = append(v.Targets, tv)
		v.DeadTotal += t.Dead
		v.Pending += t.Pending
	}
	return v
}

// stamp is a time with how long ago, or "—" for never.
func stamp(t, now time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.Local().Format("2006-01-02 15:04:05") + " (" + msg.Ago(now.Sub(t)) + ")"
}

var page = template.Must(template.New("status").Parse(`<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>kfsidebar gateway</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="refresh" content="10">
<style>
body{font:14px/1.6 system-ui,-apple-system,"PingFang SC","Microsoft YaHei",sans-serif;max-width:860px;margin:32px auto;padding:0 20px;color:#222}
h1{font-size:22px;margin-bottom:4px}h2{font-size:17px;margin-top:28px;border-bottom:1px solid #eee;padding-bottom:4px}
.muted{color:#888}code{background:#f3f3f3;padding:1px 5px;border-radius:3px}
table{border-collapse:collapse}td,th{padding:4px 16px 4px 0;vertical-align:top;text-align:left}th{font-weight:600;color:#555}
.ok{color:#07a35a}.warn{color:#c77c00}.bad{color:#d0021b}
</style></head>
<body>
<h1>kfsidebar gateway <span class="muted">{{.Version}}</span></h1>
<p class="muted">微信消息推送网关正在运行 · the WeChat message-push gateway is running · 每 10 秒刷新 refreshes every 10 s</p>

<h2>最近一分钟的推送 Pushes in the last minute</h2>
{{if .Types}}<table>
<tr><th>类型 type</th><th>条数 count</th></tr>
{{range .Types}}<tr><td><code>{{.Type}}</code></td><td>{{.N}}</td></tr>
{{end}}</table>{{else}}<p class="muted">没有 none — 在微信后台保存 URL 或用调试工具发一条 save the URL in WeChat's admin, or send one with the debug tool</p>{{end}}

<h2>启动以来 Since start</h2>
<table>
<tr><td>收到 Received</td><td><b>{{.Received}}</b></td></tr>
<tr><td>转人工客服 Transferred to the console</td><td>{{.Transferred}}</td></tr>
<tr><td>回复 success Answered success</td><td>{{.Success}}</td></tr>
<tr><td>重复推送 Duplicates</td><td>{{.Duplicates}} <span class="muted">(按原回复再答一次，不再分发 answered with the first reply, not dispatched again)</span></td></tr>
<tr><td>拒绝 Refused</td><td>{{if .Refused}}{{range .Refused}}<code>{{.Type}}</code> {{.N}} &nbsp;{{end}}{{else}}0{{end}}</td></tr>
<tr><td>存储失败 Store errors</td><td{{if .StoreErrors}} class="bad"{{end}}>{{.StoreErrors}}</td></tr>
</table>

<h2>发送目标 Targets</h2>
{{if .DepthError}}<p class="bad">✘ 无法统计待发队列 cannot count the outbox: {{.DepthError}}</p>{{end}}
{{if .Targets}}<table>
<tr><th>目标 target</th><th>状态 health</th><th>待发 pending</th><th>死信 dead</th><th>已送达 delivered</th><th>失败 failed</th><th>上次成功 last success</th></tr>
{{range .Targets}}<tr><td><code>{{.Name}}</code></td><td class="{{.Class}}">{{.State}}</td><td>{{.Pending}}</td><td{{if .Dead}} class="bad"{{end}}>{{.Dead}}</td><td>{{.Delivered}}</td><td>{{.Failed}}</td><td>{{.LastSuccess}}</td></tr>
{{with .LastErr}}<tr><td></td><td colspan="6" class="muted">上次错误 last error {{.}}</td></tr>{{end}}
{{end}}</table>
{{if .DeadTotal}}<p class="warn">⚠ 有 {{.DeadTotal}} 条死信 dead letters: 修好目标后重发 after fixing the target, send them again: <code>kfsidebar gateway replay --config gateway.toml --target NAME --all</code></p>{{end}}
{{else}}<p class="muted">没有配置 none configured ([gateway.targets.NAME])</p>{{end}}

<h2>网关 Gateway</h2>
<table>
<tr><td>推送路径 Push path</td><td><code>{{.PushPath}}</code> <span class="muted">(微信后台 消息推送 URL 的路径 the path of the URL in WeChat's admin)</span></td></tr>
{{with .Opts.FeedPath}}<tr><td>工作站订阅 Workstation feed</td><td><code>{{.}}</code> — {{with $.FeedSubscribers}}{{.}}{{end}} 台在线 subscribed</td></tr>{{end}}
<tr><td>存储 Store</td><td>{{.Store}}</td></tr>
<tr><td>监听 Listening on</td><td><code>{{.Addr}}</code></td></tr>
<tr><td>启动于 Started</td><td>{{.Started}}</td></tr>
</table>
<p class="muted">检查配置和连通性 Check the config and connections: <code>kfsidebar gateway doctor --config gateway.toml</code> · JSON: <a href="/status.json">/status.json</a></p>
</body></html>
`))
