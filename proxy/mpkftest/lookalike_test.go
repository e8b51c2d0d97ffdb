package mpkftest

import (
	"bytes"
	"encoding/json"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/kfsidebar/kfsidebar/sidebar/shop"
)

func isLookAlike(f Fan) bool {
	return f.AvatarID == DefaultAvatarID && f.Nickname == LookAlikeNickname
}

func TestLookAlikes(t *testing.T) {
	const n = 200
	fans := LookAlikes(n)
	if len(fans) != n {
		t.Fatalf("LookAlikes(%d) has %d fans", n, len(fans))
	}
	if again := LookAlikes(3); !slices.Equal(again, fans[:3]) {
		t.Errorf("LookAlikes(3) = %v, want the first three of LookAlikes(%d) %v", again, n, fans[:3])
	}
	uins, openids := map[int64]bool{}, map[string]bool{}
	for _, f := range Roster {
		uins[f.UIN], openids[f.OpenID] = true, true
	}
	for _, f := range fans {
		if uins[f.UIN] || openids[f.OpenID] {
			t.Errorf("look-alike %d %s: uin or openid taken (by Roster or another look-alike)", f.UIN, f.OpenID)
		}
		uins[f.UIN], openids[f.OpenID] = true, true
		if !isLookAlike(f) || f.AvatarHost != "" || f.AvatarPath != "" {
			t.Errorf("look-alike %d = %+v, want the default avatar on wx.qlogo.cn and the nickname %s", f.UIN, f, LookAlikeNickname)
		}
		if len(f.OpenID) != 28 || !strings.HasPrefix(f.OpenID, "oVx3k5") {
			t.Errorf("look-alike %d: openid %q is not 28 characters with the shop's prefix", f.UIN, f.OpenID)
		}
		if f.AvatarPage() != Roster[5].AvatarPage() {
			t.Errorf("look-alike %d shows %s, want %s like Roster's 微信用户", f.UIN, f.AvatarPage(), Roster[5].AvatarPage())
		}
	}
}

// TestDemoLookAlikesAreDistinctCustomers checks that the shop knows every
// Roster look-alike as someone else: a sidebar that shows the wrong one
// shows a visibly different name, phone and orders.
func TestDemoLookAlikesAreDistinctCustomers(t *testing.T) {
	var file struct {
		Customers []shop.Customer `json:"customers"`
		Orders    []shop.Order    `json:"orders"`
	}
	if err := json.Unmarshal(DemoOrdersJSON, &file); err != nil {
		t.Fatal(err)
	}
	byOpenID := map[string]shop.Customer{}
	for _, c := range file.Customers {
		byOpenID[c.OpenID] = c
	}
	orders := map[string][]string{}
	for _, o := range file.Orders {
		orders[o.OpenID] = append(orders[o.OpenID], o.OrderNo)
	}
	names, phones := map[string]bool{}, map[string]bool{}
	var n int
	for _, f := range Roster {
		if !isLookAlike(f) {
			continue
		}
		n++
		c, ok := byOpenID[f.OpenID]
		switch {
		case !ok:
			t.Errorf("look-alike %d is no customer of the demo shop", f.UIN)
			continue
		case names[c.Name] || phones[c.Phone]:
			t.Errorf("look-alike %d: name %s or phone %s shared with another look-alike", f.UIN, c.Name, c.Phone)
		case c.Name == f.Nickname:
			t.Errorf("look-alike %d: the customer is named %s, like every look-alike's chat", f.UIN, c.Name)
		case len(orders[f.OpenID]) == 0:
			t.Errorf("look-alike %d (%s) has no orders", f.UIN, c.Name)
		}
		names[c.Name], phones[c.Phone] = true, true
	}
	if n < 6 {
		t.Errorf("Roster has %d look-alikes, want at least 6 (two from before, four for every path)", n)
	}
}

// TestDemoOptionsLookAlikesOnEveryPath checks the demo's order: a
// look-alike is open at load, one waits, and the next idle fans (what the
// control page's 新客户排队 and 同事转接 take) are look-alikes.
func TestDemoOptionsLookAlikesOnEveryPath(t *testing.T) {
	opts := DemoOptions()
	got := slices.Clone(opts.Fans)
	want := slices.Clone(Roster)
	byUIN := func(a, b Fan) int { return int(a.UIN - b.UIN) }
	slices.SortFunc(got, byUIN)
	slices.SortFunc(want, byUIN)
	if !slices.Equal(got, want) {
		t.Fatalf("DemoOptions().Fans is not the Roster in another order")
	}
	s := newServer(t, opts)
	var boot wCGIData
	resp, body := fetch(t, client(s), http.MethodGet, s.URL(), nil, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("page: %s", resp.Status)
	}
	m := regexp.MustCompile(`MCS\.cgiData = (\{.*\});`).FindSubmatch(body)
	if m == nil {
		t.Fatalf("no MCS.cgiData in the page")
	}
	if err := json.Unmarshal(m[1], &boot); err != nil {
		t.Fatal(err)
	}
	var atLoad []Fan
	for _, it := range boot.Sessions.List {
		f, _ := s.st.fan(it.KFSession.FansUIN)
		atLoad = append(atLoad, f)
	}
	s.mu.Lock()
	var waiting []Fan
	for _, c := range s.st.waiting {
		waiting = append(waiting, c.Fan)
	}
	next, _ := s.st.idle()
	s.mu.Unlock()
	paths := []struct {
		what string
		fans []Fan
	}{
		{"open at load (bootstrap)", atLoad},
		{"waiting (接入, 全部接入, 自动接入)", waiting},
		{"next idle (新客户排队, 同事转接)", []Fan{next}},
	}
	for _, p := range paths {
		if !slices.ContainsFunc(p.fans, isLookAlike) {
			t.Errorf("%s: no look-alike among %v", p.what, p.fans)
		}
		if !slices.ContainsFunc(p.fans, func(f Fan) bool { return !isLookAlike(f) }) && p.what != paths[2].what {
			t.Errorf("%s: only look-alikes; an ordinary chat belongs beside them", p.what)
		}
	}
	if atLoad[0].UIN != Roster[0].UIN {
		t.Errorf("the demo opens on %s, want %s as before", atLoad[0].Nickname, Roster[0].Nickname)
	}
}

// TestSidebarNeverReadsTheHook fails when the injected sidebar mentions the
// simulated console's harness hook (window.__mpkftest) or anything else of
// this package: a sidebar that read it would pass every test against the
// simulation and fail on the real console.
func TestSidebarNeverReadsTheHook(t *testing.T) {
	root := filepath.Join("..", "..", "sidebar", "assets")
	var files int
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		files++
		if i := bytes.Index(bytes.ToLower(body), []byte("mpkftest")); i >= 0 {
			line := bytes.Count(body[:i], []byte("\n")) + 1
			t.Errorf("%s:%d mentions mpkftest: the sidebar must work on the real console, which has no harness hook", path, line)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files == 0 || !fileExists(filepath.Join(root, "sidebar.js")) {
		t.Fatalf("found %d files under %s and no sidebar.js: the check would prove nothing", files, root)
	}
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// TestNoReactIDServesAnotherScript checks that NoReactID changes the
// page's script and nothing else: the bootstrap is the same, the script
// differs in one line only.
func TestNoReactIDServesAnotherScript(t *testing.T) {
	scriptRE := regexp.MustCompile(`<script src="(/mpres/htmledition/kfindex\.[0-9a-f]+\.js)">`)
	script := func(noReactID bool) (page, js []byte) {
		s := newServer(t, Options{NoReactID: noReactID, Encoding: "none"})
		c := client(s)
		_, page = fetch(t, c, http.MethodGet, s.URL(), nil, nil)
		m := scriptRE.FindSubmatch(page)
		if m == nil {
			t.Fatalf("no script tag in the page:\n%s", page)
		}
		resp, js := fetch(t, c, http.MethodGet, "https://"+Host+string(m[1]), nil, nil)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("script: %s", resp.Status)
		}
		return scriptRE.ReplaceAll(page, nil), js
	}
	page0, js0 := script(false)
	page1, js1 := script(true)
	if bytes.Equal(js0, js1) {
		t.Fatal("NoReactID serves the same script")
	}
	if got := bytes.Replace(js1, []byte("const REACT_IDS = false;"), []byte(reactIDsLine), 1); !bytes.Equal(got, js0) {
		t.Error("the NoReactID script differs in more than the REACT_IDS line")
	}
	stamp := regexp.MustCompile(`"server_time":\d+|"start_time":\d+|"createtime":\d+`)
	if !bytes.Equal(stamp.ReplaceAll(page0, nil), stamp.ReplaceAll(page1, nil)) {
		t.Error("NoReactID changes the page beyond its script's name")
	}
}
