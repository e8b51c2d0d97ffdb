package proxy

import (
	"net/http"
	"testing"
	"time"

	"github.com/kfsidebar/kfsidebar/proxy/console"
	"github.com/kfsidebar/kfsidebar/proxy/mpkftest"
)

// TestWaitingListThroughProxy fetches the simulated console's waiting list
// through the proxy, even with only the accept endpoints scanned:
// Config.WaitingList gets every queued fan's uin, latest text and time,
// the one this test queued among them.
func TestWaitingListThroughProxy(t *testing.T) {
	sim, err := mpkftest.NewServer(mpkftest.Options{Encoding: "gzip"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sim.Close)
	fan := mpkftest.Fan{UIN: 3000000042, OpenID: "oWaitingFan000000000000000042", Nickname: "排队的人", AvatarID: "queued"}
	sim.AddWaiting(fan)
	sim.SendFromFan(fan.UIN, "订单 E202611171032150023 还没发货")
	sent := time.Now()

	up := newUpstream(t, console.DefaultConsoleHost, sim.Handler())
	got := make(chan []console.WaitingMessage, 10)
	e := startProxy(t, up, func(c *Config) {
		c.ScanTargetsOnly = true
		c.WaitingList = func(m []console.WaitingMessage) { got <- m }
	})
	resp, _ := get(t, e.client(e.ca.Pool()), consoleURL+"/cgi-bin/kfunaccepted?action=getmsglist&token=1234567890&f=json",
		"Sec-Fetch-Dest", "empty", "Accept-Encoding", "gzip")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("waiting list: %s", resp.Status)
	}
	select {
	case msgs := <-got:
		var m console.WaitingMessage
		for _, w := range msgs {
			if w.UIN == "3000000042" {
				m = w
			}
		}
		if m.UIN != "3000000042" || m.Text != "订单 E202611171032150023 还没发货" || m.Nickname != "排队的人" ||
			m.CreateTime.Sub(sent).Abs() > 2*time.Second {
			t.Errorf("WaitingList got %+v", m)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Config.WaitingList was not called")
	}
}
