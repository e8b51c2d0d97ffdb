package admin

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// TestStatusShowsStorage: chats that are not being saved show in
// /status.json and in red on the page, a full disk in words, any other
// cause as it is; a store that works shows as saved.
func TestStatusShowsStorage(t *testing.T) {
	now := time.Date(2026, 11, 23, 15, 0, 0, 0, time.Local)
	since := now.Add(-3 * time.Minute)
	tests := []struct {
		name     string
		health   StorageHealth
		want     []string // on the page
		wantNot  []string
		wantJSON string
	}{
		{
			name:     "ok",
			health:   StorageHealth{OK: true},
			want:     []string{`id="storage-state" class="ok"`, "✔ 正常 saved"},
			wantNot:  []string{"storage-alert", "没有保存"},
			wantJSON: `"storage":{"ok":true,"error":""}`,
		},
		{
			name:   "disk full",
			health: StorageHealth{Error: "store sessions: database or disk is full", Since: since},
			want: []string{`id="storage-alert" class="alert bad">✘ 对话没有保存：磁盘已满<`, `id="storage-state" class="bad"`,
				"3 分钟前", "(store sessions: database or disk is full)"},
			wantJSON: `"storage":{"ok":false,"error":"store sessions: database or disk is full","since":"`,
		},
		{
			name:     "read-only",
			health:   StorageHealth{Error: "store sessions: attempt to write a readonly database", Since: since},
			want:     []string{"✘ 对话没有保存：store sessions: attempt to write a readonly database", `class="bad"`},
			wantNot:  []string{"磁盘已满"},
			wantJSON: `"storage":{"ok":false,"error":"store sessions: attempt to write a readonly database","since":"`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newTestAdmin(t, Options{
				Storage: func() StorageHealth { return tt.health },
				Now:     func() time.Time { return now },
			})
			page := serve(t, h, adminAddr, "/").Body.String()
			for _, want := range tt.want {
				if !strings.Contains(page, want) {
					t.Errorf("status page lacks %q", want)
				}
			}
			for _, not := range tt.wantNot {
				if strings.Contains(page, not) {
					t.Errorf("status page shows %q", not)
				}
			}
			js := serve(t, h, adminAddr, "/status.json").Body.String()
			if !strings.Contains(js, tt.wantJSON) {
				t.Errorf("status.json lacks %s:\n%s", tt.wantJSON, js)
			}
			var st Status
			if err := json.Unmarshal([]byte(js), &st); err != nil || st.Storage == nil || st.Storage.OK != tt.health.OK || !st.Storage.Since.Equal(tt.health.Since) {
				t.Errorf("status.json storage = %+v (%v), want %+v", st.Storage, err, tt.health)
			}
		})
	}
}

// TestStatusShowsTunnelsAndDescriptors: the open blind tunnels against
// the cap, and the descriptors against the limit, red while they run short.
func TestStatusShowsTunnelsAndDescriptors(t *testing.T) {
	now := time.Date(2026, 11, 23, 15, 0, 0, 0, time.Local)
	health := ProxyHealth{
		Tunnels:     TunnelHealth{Open: 352, Max: 352, Refused: 848, IdleTimeout: "15m0s", LastRefused: now.Add(-5 * time.Second)},
		Descriptors: DescriptorHealth{Open: 731, Limit: 1024, LastShortage: now.Add(-10 * time.Second)},
	}
	h := newTestAdmin(t, Options{Proxy: func() ProxyHealth { return health }, Now: func() time.Time { return now }})
	page := serve(t, h, adminAddr, "/").Body.String()
	for _, want := range []string{
		`id="tunnel-state" class="warn">352 / 352 ⚠ 正在拒绝新的连接 refusing new ones`, "closed after 15m0s idle", "refused 848 at the cap, 上次 last",
		`id="descriptor-state" class="bad">✘ 不够用 running short: 731 / 1024`, "刚刚 just now",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("status page lacks %q", want)
		}
	}
	var st Status
	if err := json.Unmarshal(serve(t, h, adminAddr, "/status.json").Body.Bytes(), &st); err != nil {
		t.Fatal(err)
	}
	if tn := st.Tunnels; tn == nil || tn.OK || tn.Open != 352 || tn.Max != 352 || tn.Refused != 848 || tn.IdleTimeout != "15m0s" ||
		!tn.LastRefused.Equal(health.Tunnels.LastRefused) || st.Descriptors == nil || st.Descriptors.Open != 731 || st.Descriptors.OK {
		t.Errorf("status.json tunnels %+v, descriptors %+v; want %+v", st.Tunnels, st.Descriptors, health)
	}

	health = ProxyHealth{Tunnels: TunnelHealth{OK: true, Open: 3, Max: 352, IdleTimeout: "15m0s"}, Descriptors: DescriptorHealth{OK: true, Open: 40, Limit: 1024}}
	page = serve(t, h, adminAddr, "/").Body.String()
	for _, want := range []string{`id="tunnel-state" class="ok">3 / 352<`, `id="descriptor-state" class="ok">✔ 40 / 1024<`} {
		if !strings.Contains(page, want) {
			t.Errorf("healthy status page lacks %q", want)
		}
	}
	if strings.Contains(page, "refused") {
		t.Error("status page speaks of refused tunnels when there were none")
	}
}
