package tray

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kfsidebar/kfsidebar/internal/kftest"
	"github.com/kfsidebar/kfsidebar/internal/tray/traytest"
)

var zhLabels = Labels{
	Title: "kfsidebar 客服侧边栏",
	States: map[State]string{
		Starting: "正在启动…", Working: "正常工作", Paused: "已暂停", Down: "未运行，正在重启", Untrusted: "浏览器不信任根证书",
	},
	OpenConsole: "打开客服工具", StatusPage: "状态页", Pause: "暂停", Resume: "继续", Autostart: "开机启动", Quit: "退出",
}

// TestTrayOnAFakeHost shows the tray on a private session bus to a fake
// tray host, as a Linux desktop's panel: the menu, the icon of each state,
// and every item's callback. (The tray library keeps global state: one
// Run per test binary.)
func TestTrayOnAFakeHost(t *testing.T) {
	bus := traytest.StartBus(t)
	host := traytest.NewHost(t, bus)
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", bus.Addr)

	var mu sync.Mutex
	var calls []string
	record := func(s string) {
		mu.Lock()
		calls = append(calls, s)
		mu.Unlock()
	}
	called := func(s string) bool {
		mu.Lock()
		defer mu.Unlock()
		for _, c := range calls {
			if c == s {
				return true
			}
		}
		return false
	}
	tr := New(Options{
		Labels:        zhLabels,
		OnOpenConsole: func() { record("console") },
		OnStatusPage:  func() { record("status") },
		OnQuit:        func() { record("quit") },
		OnPause: func(p bool) {
			if p {
				record("pause")
			} else {
				record("resume")
			}
		},
		OnAutostart: func(on bool) {
			if on {
				record("autostart on")
			}
		},
		Logger: kftest.Logger(t),
	})
	tr.SetState(Down, "address in use") // before it is shown: shown once it is
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- tr.Run(ctx) }()

	item := host.WaitItem(t, 10*time.Second)
	kftest.Poll(t, "the menu", func() bool {
		m, err := item.Menu()
		return err == nil && len(m) == 8
	})
	menu, _ := item.Menu()
	var labels []string
	for _, m := range menu {
		if !m.Separator {
			labels = append(labels, m.Label)
		}
	}
	if got := strings.Join(labels, "|"); got != "未运行，正在重启|打开客服工具|状态页|暂停|开机启动|退出" {
		t.Fatalf("menu %s", got)
	}
	if menu[0].Enabled || !menu[5].Checkbox || menu[5].Checked {
		t.Fatalf("status line enabled or autostart not an unticked check box: %+v", menu)
	}
	waitIcon := func(s State) {
		t.Helper()
		kftest.Poll(t, "the "+s.String()+" icon", func() bool {
			c, err := item.IconColor()
			return err == nil && c == Colors[s]
		})
	}
	waitIcon(Down)
	if tip, _ := item.Tooltip(); !strings.Contains(tip, "未运行") || !strings.Contains(tip, "address in use") {
		t.Errorf("tooltip %q", tip)
	}
	for _, s := range []State{Working, Untrusted, Paused} {
		tr.SetState(s, "")
		waitIcon(s)
	}
	for label, want := range map[string]string{"打开客服工具": "console", "状态页": "status", "暂停": "pause", "开机启动": "autostart on", "退出": "quit"} {
		if err := item.Click(label); err != nil {
			t.Fatal(err)
		}
		kftest.Poll(t, label+"'s callback", func() bool { return called(want) })
	}
	tr.SetPaused(true)
	tr.SetAutostart(true)
	kftest.Poll(t, "继续 and a ticked 开机启动", func() bool {
		m, err := item.Menu()
		return err == nil && m[4].Label == "继续" && m[5].Checked
	})
	if err := item.Click("继续"); err != nil {
		t.Fatal(err)
	}
	kftest.Poll(t, "继续's callback", func() bool { return called("resume") })

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return")
	}
}
