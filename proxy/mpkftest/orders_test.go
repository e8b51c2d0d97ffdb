package mpkftest

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/kfsidebar/kfsidebar/sidebar/shop"
)

func TestRosterCast(t *testing.T) {
	if len(Roster) < 10 {
		t.Fatalf("Roster has %d fans, want at least 10", len(Roster))
	}
	uins, openids := map[int64]bool{}, map[string]bool{}
	byAvatarNick := map[string]int{}
	defaults := map[string]bool{}
	var noAvatar, thirdwx int
	for _, f := range Roster {
		if uins[f.UIN] || openids[f.OpenID] {
			t.Errorf("fan %d: duplicate uin or openid", f.UIN)
		}
		uins[f.UIN], openids[f.OpenID] = true, true
		if len(f.OpenID) != 28 || !strings.HasPrefix(f.OpenID, "o") {
			t.Errorf("fan %d: openid %q is not 28 characters starting with o", f.UIN, f.OpenID)
		}
		if f.Nickname == "" {
			t.Errorf("fan %d has no nickname", f.UIN)
		}
		switch {
		case f.AvatarID == "":
			noAvatar++
		case f.AvatarID == DefaultAvatarID:
			defaults[f.Nickname] = true
			byAvatarNick[f.Nickname]++
		}
		if f.AvatarHost == "thirdwx.qlogo.cn" && strings.HasPrefix(f.AvatarPath, "mmopen/vi_32/") {
			thirdwx++
		}
	}
	sameNick := 0
	for _, n := range byAvatarNick {
		if n >= 2 {
			sameNick++
		}
	}
	checks := []struct {
		what string
		ok   bool
	}{
		{"two default-avatar fans with different nicknames", len(defaults) >= 2},
		{"two default-avatar fans with the same nickname", sameNick >= 1},
		{"a fan without avatar", noAvatar >= 1},
		{"a thirdwx.qlogo.cn mmopen/vi_32 avatar", thirdwx >= 1},
	}
	for _, c := range checks {
		if !c.ok {
			t.Errorf("Roster lacks %s", c.what)
		}
	}
}

func TestDemoOrders(t *testing.T) {
	var file struct {
		Customers []shop.Customer `json:"customers"`
		Orders    []shop.Order    `json:"orders"`
	}
	if err := json.Unmarshal(DemoOrdersJSON, &file); err != nil {
		t.Fatalf("DemoOrdersJSON is not the import format: %v", err)
	}
	customers := file.Customers
	byOpenID := map[string]shop.Customer{}
	for _, c := range customers {
		byOpenID[c.OpenID] = c
	}
	for _, o := range file.Orders {
		c, ok := byOpenID[o.OpenID]
		if !ok {
			t.Errorf("order %s belongs to no customer", o.OrderNo)
			continue
		}
		c.Orders = append(c.Orders, o)
		byOpenID[o.OpenID] = c
	}
	for i := range customers {
		customers[i] = byOpenID[customers[i].OpenID]
	}
	var nonCustomers []string
	for _, f := range Roster {
		if _, ok := byOpenID[f.OpenID]; !ok {
			nonCustomers = append(nonCustomers, f.Nickname)
		}
	}
	if len(nonCustomers) != 1 || nonCustomers[0] != "赵先生" {
		t.Errorf("Roster fans without orders = %v, want only 赵先生", nonCustomers)
	}
	if len(customers) != len(Roster)-1 {
		t.Errorf("DemoOrdersJSON has %d customers, want %d (one per Roster fan but 赵先生)", len(customers), len(Roster)-1)
	}
	refunds := map[string]int{}
	carriers := map[string]bool{}
	for _, c := range customers {
		if c.Name == "" || c.Phone == "" || !strings.HasPrefix(c.AdminURL, "https://shop.example/admin/") {
			t.Errorf("customer %s: missing name, phone or admin_url", c.OpenID)
		}
		if n := len(c.Orders); n < 1 || n > 6 {
			t.Errorf("customer %s has %d orders, want 1 to 6", c.Name, n)
		}
		for i, o := range c.Orders {
			var sum int64
			for _, it := range o.Items {
				sum += int64(it.Qty) * it.PriceFen
			}
			if o.OpenID != c.OpenID || o.OrderNo == "" || o.Status == "" || o.AmountFen != sum || o.CreatedAt.IsZero() || o.Address == "" {
				t.Errorf("order %s of %s is inconsistent: %+v", o.OrderNo, c.Name, o)
			}
			if i > 0 && o.CreatedAt.After(c.Orders[i-1].CreatedAt) {
				t.Errorf("orders of %s are not newest first", c.Name)
			}
			if (o.Carrier == "") != (o.TrackingNo == "") {
				t.Errorf("order %s: carrier %q with tracking %q", o.OrderNo, o.Carrier, o.TrackingNo)
			}
			carriers[o.Carrier] = true
			refunds[o.Refund.Status]++
		}
	}
	if refunds["requested"] < 1 || refunds["refunded"] < 1 {
		t.Errorf("refund statuses = %v, want one requested and one refunded", refunds)
	}
	for _, c := range []string{"顺丰速运", "中通快递", "圆通速递", "京东物流"} {
		if !carriers[c] {
			t.Errorf("no order ships with %s", c)
		}
	}
}
