package admin

import (
	"fmt"
	"net/url"
	"time"

	"github.com/kfsidebar/kfsidebar/internal/msg"
)

// GatewayHealth is the workstation's subscription to the shop's push
// gateway (来源, live tracking, queued messages), for the status page and
// `kfsidebar doctor`. It holds no customer data and never the token.
type GatewayHealth struct {
	// URL is the gateway's feed.
	URL string `json:"url"`
	// Connected is true while the last poll was answered.
	Connected bool `json:"connected"`
	// Since is when the current state began (connected or failing).
	Since time.Time `json:"since,omitzero"`
	// LastError is the latest failure, if any; LastErrorAt when.
	LastError   string    `json:"last_error,omitempty"`
	LastErrorAt time.Time `json:"last_error_at,omitzero"`
	// LastEventAt is when an event last arrived; Events counts them.
	LastEventAt time.Time `json:"last_event_at,omitzero"`
	Events      int64     `json:"events"`
}

// newGatewayView is the status page's row for the gateway: green while
// connected, red with the error while not.
func newGatewayView(g *GatewayHealth, now time.Time) *healthView {
	if g == nil {
		return nil
	}
	host := g.URL
	if u, err := url.Parse(g.URL); err == nil && u.Host != "" {
		host = u.Host
	}
	since := func(t time.Time) string { return t.Local().Format("15:04:05") + " (" + msg.Ago(now.Sub(t)) + ")" }
	v := &healthView{Class: "ok", Text: "✔ 已连接 connected to " + host}
	switch {
	case !g.Connected && g.Since.IsZero():
		v.Class, v.Text = "warn", "正在连接 connecting to "+host+"…"
	case !g.Connected:
		v.Class, v.Text = "bad", "✘ 连接不上 cannot reach "+host
		v.Detail = "来源和物流更新暂停，自动重试 来源 and tracking updates wait; retrying by itself. 自 since " + since(g.Since)
		if g.LastError != "" {
			v.Detail += ": " + g.LastError
		}
		return v
	}
	if g.Events > 0 {
		v.Detail = fmt.Sprintf("收到 %d 条 %d events, 上次 last %s", g.Events, g.Events, since(g.LastEventAt))
	} else {
		v.Detail = "还没有收到推送 no events yet"
	}
	return v
}
