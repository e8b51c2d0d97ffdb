// Package shoptest checks an order backend against the reference: the
// embedded backend with the same customers and orders imported. Every
// backend must answer the same for the same shop, whichever way the shop
// plugs in, so the HTTP backend (against the example shop API) and the SQL
// backend (against the sample databases) run the same checks on the demo
// shop, the customers and orders of proxy/mpkftest.DemoOrdersJSON, which
// the callers pass in.
package shoptest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"slices"
	"testing"

	"github.com/kfsidebar/kfsidebar/internal/sqlitedb/sqlitedbtest"
	"github.com/kfsidebar/kfsidebar/sidebar/shop"
	"github.com/kfsidebar/kfsidebar/sidebar/shop/embedded"
)

// Embedded is the embedded backend with importJSON (the import format)
// imported: the reference every other backend must agree with.
func Embedded(t testing.TB, importJSON []byte) *embedded.Backend {
	t.Helper()
	b, err := embedded.New(context.Background(), sqlitedbtest.New(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	if _, err := b.Import(context.Background(), bytes.NewReader(importJSON)); err != nil {
		t.Fatal(err)
	}
	return b
}

// Common is what every backend answers for a shop: the import format's
// fields, without what only some backends know (id, summary, extra
// fields, tracking events).
func Common(c *shop.Customer) shop.Customer {
	out := *c
	out.ID, out.OrderCount, out.TotalSpentFen, out.LastOrderAt, out.Extra = "", 0, 0, nil, nil
	out.Orders = nil
	for _, o := range c.Orders {
		o.TrackingEvent, o.TrackingAt, o.Extra = "", nil, nil
		o.CreatedAt = o.CreatedAt.UTC()
		out.Orders = append(out.Orders, o)
	}
	return out
}

// OpenIDs are the openids of the customers of importJSON, in file order.
func OpenIDs(t testing.TB, importJSON []byte) []string {
	t.Helper()
	var f struct {
		Customers []struct {
			OpenID string `json:"openid"`
		} `json:"customers"`
	}
	if err := json.Unmarshal(importJSON, &f); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, c := range f.Customers {
		ids = append(ids, c.OpenID)
	}
	return ids
}

// CheckLookups looks every customer of importJSON up in b and in the
// embedded backend and compares what both know, then checks that an
// unknown openid is shop.ErrNotFound.
func CheckLookups(t *testing.T, b shop.Backend, importJSON []byte) {
	t.Helper()
	ref := Embedded(t, importJSON)
	ctx := context.Background()
	for _, openid := range OpenIDs(t, importJSON) {
		want, err := ref.Lookup(ctx, openid)
		if err != nil {
			t.Fatal(err)
		}
		got, err := b.Lookup(ctx, openid)
		if err != nil {
			t.Fatalf("lookup %s: %v", openid, err)
		}
		g, w := Common(got), Common(want)
		gj, _ := json.Marshal(g)
		wj, _ := json.Marshal(w)
		if !bytes.Equal(gj, wj) {
			t.Errorf("lookup %s:\ngot  %s\nwant %s", openid, gj, wj)
		}
		if got.OrderCount != len(want.Orders) || got.LastOrderAt == nil || !got.LastOrderAt.Equal(want.Orders[0].CreatedAt) {
			t.Errorf("lookup %s: summary %d orders, last %v; want %d, %v", openid, got.OrderCount, got.LastOrderAt, len(want.Orders), want.Orders[0].CreatedAt)
		}
	}
	if _, err := b.Lookup(ctx, "oNobodyKnowsThisOpenID000000"); !errors.Is(err, shop.ErrNotFound) {
		t.Errorf("unknown openid: err = %v, want ErrNotFound", err)
	}
}

// CheckDemoCustomerAndSearch checks Customer(id) and the three searches on
// the demo shop as the example shop API and the sample databases hold it,
// with the shop's own customer ids (张伟 is customer 10135 with phone
// 18627103349).
func CheckDemoCustomerAndSearch(t *testing.T, b shop.Backend) {
	t.Helper()
	ctx := context.Background()
	c, err := b.Customer(ctx, "10135")
	if err != nil || c.Name != "张伟" || c.ID != "10135" || len(c.Orders) == 0 {
		t.Fatalf("Customer(10135) = %+v, %v; want 张伟 with orders", c, err)
	}
	if _, err := b.Customer(ctx, "99999"); !errors.Is(err, shop.ErrNotFound) {
		t.Errorf("Customer(99999): err = %v, want ErrNotFound", err)
	}
	firstOrder := c.Orders[len(c.Orders)-1].OrderNo
	tests := []struct {
		query string
		limit int
		want  []string
	}{
		{"3349", 5, []string{"张伟"}},
		{"186-2710-3349", 5, []string{"张伟"}},
		{firstOrder, 5, []string{"张伟"}},
		{"张", 5, []string{"张伟"}},
		{"小", 5, []string{"林小满", "唐小桃"}},
		{"小", 1, []string{"林小满"}},
		{"nobody", 5, nil},
		{"  ", 5, nil},
	}
	for _, tt := range tests {
		got, err := b.Search(ctx, tt.query, tt.limit)
		if err != nil {
			t.Errorf("Search(%q): %v", tt.query, err)
			continue
		}
		var names []string
		for _, c := range got {
			names = append(names, c.Name)
			if len(c.Orders) > 0 {
				t.Errorf("Search(%q): %s comes with orders", tt.query, c.Name)
			}
		}
		slices.Sort(names)
		want := slices.Clone(tt.want)
		slices.Sort(want)
		if !slices.Equal(names, want) {
			t.Errorf("Search(%q, %d) = %v, want %v", tt.query, tt.limit, names, want)
		}
	}
}
