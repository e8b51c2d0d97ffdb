package main

import (
	"encoding/json"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/kfsidebar/kfsidebar/proxy/mpkftest"
)

func TestClassify(t *testing.T) {
	const me, other = "oME", "oOTHER"
	tests := []struct {
		name string
		view sidebarView
		want outcome
	}{
		{"confirmed", sidebarView{"customer", me, "confirmed"}, outResolved},
		{"by avatar", sidebarView{"customer", me, "avatar"}, outResolved},
		{"a sidebar without data-identity", sidebarView{"customer", me, ""}, outResolved},
		{"the agent's pick", sidebarView{"customer", me, "picked"}, outRemembered},
		{"a binding", sidebarView{"customer", me, "bound"}, outRemembered},
		{"an identity this harness does not know", sidebarView{"customer", me, "guessed"}, outOther},
		{"someone else, confirmed", sidebarView{"customer", other, "confirmed"}, outWrong},
		{"someone else, picked", sidebarView{"customer", other, "picked"}, outWrong},
		{"a customer without openid", sidebarView{"customer", "", ""}, outWrong},
		{"the chooser", sidebarView{"ambiguous", "", ""}, outAsked},
		{"unknown", sidebarView{"unknown", "", ""}, outUnknown},
		{"still identifying", sidebarView{"loading", "", "pending"}, outOther},
		{"error", sidebarView{"error", "", ""}, outOther},
		{"no sidebar", sidebarView{"absent", "", ""}, outOther},
	}
	for _, tt := range tests {
		if got := classify(tt.view, me); got != tt.want {
			t.Errorf("%s: classify(%+v) = %s, want %s", tt.name, tt.view, got, tt.want)
		}
	}
}

func TestWrongIncidents(t *testing.T) {
	openids := map[int64]string{1: "oA", 2: "oB", 3: "oC"}
	openid := func(uin int64) string { return openids[uin] }
	sel := func(t float64, uin int64) record { return record{K: "sel", T: t, UIN: uin} }
	sb := func(t float64, state, openid string) record {
		return record{K: "sb", T: t, State: state, OpenID: openid}
	}
	type want struct {
		start, dur float64
		truth      int64
		shown      string
		stale      bool
	}
	tests := []struct {
		name    string
		records []record
		end     float64
		want    []want
	}{
		{"right customer", []record{sel(0, 1), sb(100, "customer", "oA")}, 5000, nil},
		{"the previous customer, cleared within the grace",
			[]record{sel(0, 1), sb(100, "customer", "oA"), sel(1000, 2), sb(1250, "loading", ""), sb(1400, "customer", "oB")}, 5000, nil},
		{"the previous customer, kept past the grace",
			[]record{sel(0, 1), sb(100, "customer", "oA"), sel(1000, 2), sb(2000, "customer", "oB")}, 5000,
			[]want{{1300, 700, 2, "oA", true}}},
		{"someone else's customer for the new chat",
			[]record{sel(0, 1), sb(100, "customer", "oA"), sel(1000, 2), sb(1100, "loading", ""), sb(1200, "customer", "oA")}, 3000,
			[]want{{1300, 1700, 2, "oA", false}}},
		{"a wrong customer, then right, then wrong again: two incidents",
			[]record{sel(0, 2), sb(500, "customer", "oA"), sb(800, "customer", "oB"), sb(900, "customer", "oC")}, 1000,
			[]want{{500, 300, 2, "oA", false}, {900, 100, 2, "oC", false}}},
		{"a customer while no chat is open",
			[]record{sel(0, 1), sb(100, "customer", "oA"), sel(1000, 0)}, 2000,
			[]want{{1300, 700, 0, "oA", true}}},
		{"a wrong customer across a change of one attribute is one incident",
			[]record{sel(0, 2), sb(500, "customer", "oA"), {K: "sb", T: 700, State: "customer", OpenID: "oA", Identity: "avatar"}}, 1000,
			[]want{{500, 500, 2, "oA", false}}},
		{"before the console opened anything", []record{sb(10, "customer", "oA"), sel(100, 1)}, 1000, nil},
		{"the chooser is never wrong", []record{sel(0, 1), sb(100, "ambiguous", "")}, 1000, nil},
		{"the next chat's customer just before the console opens it (the sidebar saw the mouse go down)",
			[]record{sel(0, 1), sb(100, "customer", "oA"), sb(1000, "customer", "oB"), sel(1200, 2)}, 2000, nil},
		{"the next chat's customer long before the console opens it",
			[]record{sel(0, 1), sb(100, "customer", "oA"), sb(1000, "customer", "oB"), sel(2000, 2)}, 3000,
			[]want{{1000, 700, 1, "oB", false}}},
		{"passing through a chat in less than the grace",
			[]record{sel(0, 1), sb(100, "customer", "oA"), sel(1000, 2), sel(1200, 3), sb(1300, "customer", "oC")}, 2000, nil},
	}
	for _, tt := range tests {
		got := wrongIncidents(pageLog{Origin: 7, End: tt.end, Records: tt.records}, openid, 300)
		var gotW []want
		for _, in := range got {
			gotW = append(gotW, want{in.Start, in.Dur, in.Truth, in.Shown, in.Stale})
			if in.Origin != 7 {
				t.Errorf("%s: incident of page %v, want 7", tt.name, in.Origin)
			}
		}
		if !slices.Equal(gotW, tt.want) {
			t.Errorf("%s: incidents %+v, want %+v", tt.name, gotW, tt.want)
		}
	}
}

// TestRecordJSON checks the Go side reads the recorder's log lines.
func TestRecordJSON(t *testing.T) {
	var r record
	if err := json.Unmarshal([]byte(`{"k":"sb","t":1733212345678.25,"uin":3700000011,"state":"customer","openid":"oX","identity":"confirmed"}`), &r); err != nil {
		t.Fatal(err)
	}
	if want := (record{K: "sb", T: 1733212345678.25, UIN: 3700000011, State: "customer", OpenID: "oX", Identity: "confirmed"}); r != want {
		t.Errorf("got %+v, want %+v", r, want)
	}
}

func TestQuantile(t *testing.T) {
	xs := []float64{5, 1, 4, 2, 3}
	for _, tt := range []struct{ q, want float64 }{{0.5, 3}, {0.95, 5}, {0, 1}, {1, 5}} {
		if got := quantile(xs, tt.q); got != tt.want {
			t.Errorf("quantile(%v) = %v, want %v", tt.q, got, tt.want)
		}
	}
	if got := quantile(nil, 0.5); got != 0 {
		t.Errorf("quantile of nothing = %v", got)
	}
}

func TestCast(t *testing.T) {
	c := newCast(rand.New(rand.NewPCG(1, 1)), 300, 0.4, openAtLoad, waitingAtStart)
	again := newCast(rand.New(rand.NewPCG(1, 1)), 300, 0.4, openAtLoad, waitingAtStart)
	if !slices.Equal(c.fans, again.fans) || !slices.Equal(c.customers, again.customers) {
		t.Error("the same seed makes another cast")
	}
	kinds := map[fanKind]int{}
	uins, openids, names, phones := map[int64]bool{}, map[string]bool{}, map[string]bool{}, map[string]bool{}
	for i, f := range c.fans {
		k := c.kind[f.UIN]
		kinds[k]++
		if uins[f.UIN] || openids[f.OpenID] {
			t.Errorf("fan %d: uin or openid repeated", f.UIN)
		}
		uins[f.UIN], openids[f.OpenID] = true, true
		lookAlike := f.AvatarID == mpkftest.DefaultAvatarID && f.Nickname == mpkftest.LookAlikeNickname
		if lookAlike != (k == kindLookAlike) {
			t.Errorf("fan %+v is %s", f, k)
		}
		if len(f.OpenID) != 28 {
			t.Errorf("fan %d: openid %q is not 28 characters", f.UIN, f.OpenID)
		}
		cu := c.customers[i]
		if cu.OpenID != f.OpenID || names[cu.Name] || phones[cu.Phone] || len(cu.Phone) != 11 {
			t.Errorf("customer %+v of fan %d: not the fan's, or name or phone repeated", cu, f.UIN)
		}
		names[cu.Name], phones[cu.Phone] = true, true
	}
	if kinds[kindLookAlike] != 120 || kinds[kindDefaultAvatar] == 0 || kinds[kindNoAvatar] == 0 || kinds[kindOwn] == 0 {
		t.Errorf("kinds = %v, want 120 look-alikes and some of every other kind", kinds)
	}
	for _, part := range []struct {
		what     string
		from, to int
	}{{"open at load", 0, openAtLoad}, {"waiting at start", openAtLoad, openAtLoad + waitingAtStart}} {
		if !slices.ContainsFunc(c.fans[part.from:part.to], func(f mpkftest.Fan) bool { return c.kind[f.UIN] == kindLookAlike }) {
			t.Errorf("no look-alike %s", part.what)
		}
	}
	if _, err := shopJSON(c.customers); err != nil {
		t.Fatal(err)
	}
}
