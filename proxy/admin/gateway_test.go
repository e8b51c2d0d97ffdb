package admin

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// TestStatusShowsGateway: the subscription to the push gateway shows in
// /status.json and on the page: green while connected with its events,
// red with the error while not; no row without a gateway, and never a
// token.
func TestStatusShowsGateway(t *testing.T) {
	now := time.Date(2026, 11, 23, 15, 0, 0, 0, time.Local)
	tests := []struct {
		name   string
		health *GatewayHealth
		want   []string
	}{
		{"none", nil, nil},
		{"connected", &GatewayHealth{URL: "https://kf.shop.example/feed", Connected: true, Since: now.Add(-time.Hour),
			Events: 12, LastEventAt: now.Add(-2 * time.Minute)},
			[]string{`id="gateway-state" class="ok"`, "✔ 已连接 connected to kf.shop.example", "收到 12 条", "2 分钟前"}},
		{"failing", &GatewayHealth{URL: "https://kf.shop.example/feed", Since: now.Add(-5 * time.Minute),
			LastError: "the gateway refused this workstation's token (401 Unauthorized)", LastErrorAt: now},
			[]string{`id="gateway-state" class="bad"`, "✘ 连接不上 cannot reach kf.shop.example", "5 分钟前", "refused this workstation&#39;s token"}},
		{"first attempt", &GatewayHealth{URL: "https://kf.shop.example/feed"},
			[]string{`id="gateway-state" class="warn"`, "正在连接"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := Options{Now: func() time.Time { return now }}
			if tt.health != nil {
				opts.Gateway = func() GatewayHealth { return *tt.health }
			}
			h := newTestAdmin(t, opts)
			page := serve(t, h, adminAddr, "/").Body.String()
			if tt.health == nil && strings.Contains(page, "gateway-state") {
				t.Error("a gateway row without a gateway")
			}
			for _, want := range tt.want {
				if !strings.Contains(page, want) {
					t.Errorf("status page lacks %q", want)
				}
			}
			var st Status
			if err := json.Unmarshal(serve(t, h, adminAddr, "/status.json").Body.Bytes(), &st); err != nil {
				t.Fatal(err)
			}
			switch {
			case tt.health == nil && st.Gateway != nil:
				t.Errorf("status.json gateway = %+v, want none", st.Gateway)
			case tt.health != nil && (st.Gateway == nil || st.Gateway.Connected != tt.health.Connected || st.Gateway.LastError != tt.health.LastError):
				t.Errorf("status.json gateway = %+v, want %+v", st.Gateway, tt.health)
			}
		})
	}
}
