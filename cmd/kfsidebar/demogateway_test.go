package main

import (
	"crypto/tls"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/kfsidebar/kfsidebar/certs"
	"github.com/kfsidebar/kfsidebar/internal/kftest"
	"github.com/kfsidebar/kfsidebar/proxy/mpkftest"
)

// TestDemoRunsTheGateway: `kfsidebar demo` runs the push gateway with a
// simulated WeChat in front: customers enter from an order page and
// reach the console's waiting list through it, and parcels move; the
// demo's own sidebar subscribes to the gateway's feed.
func TestDemoRunsTheGateway(t *testing.T) {
	dir := t.TempDir()
	gwAddr := freeAddr(t)
	demo := start(t, "demo", "--listen", "127.0.0.1:0", "--data-dir", dir, "--gateway-listen", gwAddr, "--gateway-every", "20ms")
	if out := demo.stdout.String(); !strings.Contains(out, "push gateway:   http://"+gwAddr+"/") || !strings.Contains(out, "gateway feed:   http://"+gwAddr+"/feed") {
		t.Errorf("the demo does not say where its gateway is:\n%s", out)
	}
	kftest.Poll(t, "a customer and a parcel through the gateway", func() bool {
		st := gatewayStatus(t, gwAddr)
		return st.Transferred >= 2 && st.PerMinute["event:user_enter_tempsession"] >= 2 && st.PerMinute["event:add_express_path"] >= 1 && st.Targets[0].Delivered >= 3
	})
	// The demo's sidebar is subscribed to the gateway's feed: 来源, parcels.
	kftest.Poll(t, "the demo's subscription", func() bool {
		g := statusOf(t, demo.addr).Gateway
		return g != nil && g.Connected && g.URL == "http://"+gwAddr+"/feed" && g.Events >= 3
	})
	ca, _, err := certs.LoadOrCreate(dir, certs.Options{Hosts: []string{mpkftest.Host}})
	if err != nil {
		t.Fatal(err)
	}
	proxyURL, _ := url.Parse("http://" + demo.addr)
	c := &http.Client{Transport: &http.Transport{Proxy: http.ProxyURL(proxyURL), TLSClientConfig: &tls.Config{RootCAs: ca.Pool()}}}
	resp, err := c.Get("https://" + mpkftest.Host + "/__mpkftest/state")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var st struct{ Waiting []struct{ UIN int64 } }
	json.Unmarshal(body, &st)
	found := false
	for _, f := range st.Waiting {
		found = found || f.UIN == demoArrivals[0].uin
	}
	if !found {
		t.Errorf("the first demo arrival (%d) is not waiting: %s", demoArrivals[0].uin, body)
	}
}
