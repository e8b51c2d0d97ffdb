package quickreply

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/kfsidebar/kfsidebar/internal/browsertest"
	"github.com/kfsidebar/kfsidebar/internal/sqlitedb"
	"github.com/kfsidebar/kfsidebar/internal/sqlitedb/sqlitedbtest"
)

// The management page runs in a real Chromium in TestQuickReplyPageInBrowser.
var browser browsertest.Shared

func TestMain(m *testing.M) {
	code := m.Run()
	browser.Close()
	os.Exit(code)
}

// pageServer serves the management page of a fresh store (seed group
// removed) the way the proxy mounts it.
func pageServer(t *testing.T) (*Store, *httptest.Server) {
	t.Helper()
	q := newStore(t)
	if _, err := q.deleteFirstGroup(context.Background()); err != nil {
		t.Fatal(err)
	}
	return q, serve(t, q)
}

// serve serves q's page until the test ends.
func serve(t *testing.T, q *Store) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	mux.Handle(PagePath, q.Handler())
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

// pageTab is a Chromium tab on the page, with the steps the browser tests
// take in it; each stops the test on failure.
type pageTab struct {
	t   *testing.T
	ctx context.Context
}

func newPageTab(t *testing.T) *pageTab { return &pageTab{t: t, ctx: browser.Tab(t)} }

// run does actions, named what in a failure.
func (p *pageTab) run(what string, actions ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	if err := chromedp.Do(p.ctx, actions...); err != nil {
		p.t.Fatalf("%s: %v", what, err)
	}
}

// waitText waits until the element's text contains want.
func (p *pageTab) waitText(sel, want string) {
	p.t.Helper()
	cond := fmt.Sprintf(`(document.querySelector(%s)?.textContent ?? "").includes(%s)`, jsonString(sel), jsonString(want))
	if err := chromedp.Do(p.ctx, chromedp.Poll[chromedp.Void](cond, chromedp.WithPollingTimeout(10*time.Second))); err != nil {
		got, _ := chromedp.Run(p.ctx, chromedp.Evaluate[string](`document.body.innerText`))
		p.t.Fatalf("waiting for %q in %s: %v\npage text: %q", want, sel, err, got)
	}
}

// value is a form field's value, "(no such field)" when there is none.
func (p *pageTab) value(sel string) string {
	p.t.Helper()
	got, err := chromedp.Run(p.ctx, chromedp.Evaluate[string](
		fmt.Sprintf(`document.querySelector(%s)?.value ?? "(no such field)"`, jsonString(sel))))
	if err != nil {
		p.t.Fatalf("reading %s: %v", sel, err)
	}
	return got
}

// count is how many elements match sel.
func (p *pageTab) count(sel string) int {
	p.t.Helper()
	n, err := chromedp.Run(p.ctx, chromedp.Evaluate[int](fmt.Sprintf(`document.querySelectorAll(%s).length`, jsonString(sel))))
	if err != nil {
		p.t.Fatalf("counting %s: %v", sel, err)
	}
	return n
}

// pageRequest is one call of the page's API, sent as the page sends it
// unless hdr says otherwise.
type pageRequest struct {
	method, path, body string
	hdr                map[string]string
}

// do sends r and returns the status and the decoded JSON answer (nil for
// none).
func (r pageRequest) do(t *testing.T, srv *httptest.Server) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(r.method, srv.URL+PagePath+r.path, strings.NewReader(r.body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Origin", srv.URL)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	if r.body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range r.hdr {
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	if len(body) > 0 && strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(body, &out); err != nil {
			t.Fatalf("%s %s: %v in %q", r.method, r.path, err, body)
		}
	}
	return resp.StatusCode, out
}

func TestQuickReplyPageCRUD(t *testing.T) {
	q, srv := pageServer(t)
	ch, cancel := q.Subscribe()
	defer cancel()
	ids := map[string]int64{}
	id := func(name string) string { return fmt.Sprint(ids[name]) }

	steps := []struct {
		name   string
		req    func() pageRequest
		status int
		saveID string // remember the answer's id under this name
		errHas string // the answer's error contains this
		signal bool
		want   []string // texts(Groups) afterwards; nil: not checked
	}{
		{"add group", func() pageRequest { return pageRequest{"POST", "api/groups", `{"name":" 售后 "}`, nil} },
			200, "after-sales", "", true, []string{"售后(local): "}},
		{"add second group", func() pageRequest { return pageRequest{"POST", "api/groups", `{"name":"活动"}`, nil} },
			200, "promo", "", true, nil},
		{"duplicate group name", func() pageRequest { return pageRequest{"POST", "api/groups", `{"name":"活动"}`, nil} },
			400, "", `a group named "活动" already exists`, false, nil},
		{"add reply", func() pageRequest {
			return pageRequest{"POST", "api/groups/" + id("after-sales") + "/replies", `{"title":"物流","text":"单号{tracking_no}"}`, nil}
		}, 200, "r1", "", true, nil},
		{"add second reply", func() pageRequest {
			return pageRequest{"POST", "api/groups/" + id("after-sales") + "/replies", `{"text":"您好"}`, nil}
		}, 200, "r2", "", true, []string{"售后(local): 单号{tracking_no}|您好", "活动(local): "}},
		{"unknown variable", func() pageRequest {
			return pageRequest{"POST", "api/groups/" + id("after-sales") + "/replies", `{"text":"{phone}"}`, nil}
		}, 400, "", "unknown variable {phone}", false, nil},
		{"unknown field", func() pageRequest {
			return pageRequest{"POST", "api/groups/" + id("after-sales") + "/replies", `{"txt":"x"}`, nil}
		}, 400, "", "unknown field", false, nil},
		{"reply to missing group", func() pageRequest { return pageRequest{"POST", "api/groups/999/replies", `{"text":"x"}`, nil} },
			404, "", "reload", false, nil},
		{"reorder replies", func() pageRequest {
			return pageRequest{"PUT", "api/groups/" + id("after-sales") + "/order", `{"ids":[` + id("r2") + `,` + id("r1") + `]}`, nil}
		}, 204, "", "", true, []string{"售后(local): 您好|单号{tracking_no}", "活动(local): "}},
		{"stale reorder", func() pageRequest {
			return pageRequest{"PUT", "api/groups/" + id("after-sales") + "/order", `{"ids":[` + id("r2") + `]}`, nil}
		}, 409, "", "reload", false, nil},
		{"edit and move reply", func() pageRequest {
			return pageRequest{"PUT", "api/replies/" + id("r1"), `{"title":"","text":"运单号{tracking_no}","group_id":` + id("promo") + `}`, nil}
		}, 204, "", "", true, []string{"售后(local): 您好", "活动(local): 运单号{tracking_no}"}},
		{"rename group", func() pageRequest { return pageRequest{"PUT", "api/groups/" + id("promo"), `{"name":"大促"}`, nil} },
			204, "", "", true, nil},
		{"reorder groups", func() pageRequest {
			return pageRequest{"PUT", "api/groups/order", `{"ids":[` + id("promo") + `,` + id("after-sales") + `]}`, nil}
		}, 204, "", "", true, []string{"大促(local): 运单号{tracking_no}", "售后(local): 您好"}},
		{"delete reply", func() pageRequest { return pageRequest{"DELETE", "api/replies/" + id("r2"), "", nil} },
			204, "", "", true, []string{"大促(local): 运单号{tracking_no}", "售后(local): "}},
		{"delete reply again", func() pageRequest { return pageRequest{"DELETE", "api/replies/" + id("r2"), "", nil} },
			404, "", "reload", false, nil},
		{"bad id", func() pageRequest { return pageRequest{"DELETE", "api/replies/abc", "", nil} },
			404, "", "no such id", false, nil},
		{"delete group with its replies", func() pageRequest { return pageRequest{"DELETE", "api/groups/" + id("promo"), "", nil} },
			204, "", "", true, []string{"售后(local): "}},

		// Cross-site requests change nothing.
		{"cross-origin post", func() pageRequest {
			return pageRequest{"POST", "api/groups", `{"name":"evil"}`, map[string]string{"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}}
		}, 403, "", "cross-origin", false, []string{"售后(local): "}},
		{"cross-origin by Origin alone", func() pageRequest {
			return pageRequest{"DELETE", "api/groups/" + id("after-sales"), "", map[string]string{"Origin": "http://evil.example", "Sec-Fetch-Site": ""}}
		}, 403, "", "cross-origin", false, []string{"售后(local): "}},
		{"form post", func() pageRequest {
			return pageRequest{"POST", "api/groups", `name=evil`, map[string]string{"Content-Type": "application/x-www-form-urlencoded"}}
		}, 415, "", "application/json", false, []string{"售后(local): "}},
		{"form import", func() pageRequest {
			return pageRequest{"POST", "api/import", `{"groups":[]}`, map[string]string{"Content-Type": "text/plain"}}
		}, 415, "", "application/json", false, nil},

		{"import", func() pageRequest {
			return pageRequest{"POST", "api/import", `{"groups":[{"name":"售后","replies":[{"text":"导入的"}]}]}`, nil}
		}, 200, "", "", true, []string{"售后(local): 导入的"}},
		{"bad import", func() pageRequest {
			return pageRequest{"POST", "api/import", `{"groups":[{"name":"x","replies":[{"text":"ok"},{"text":"{bad}"}]}]}`, nil}
		}, 400, "", "groups[0].replies[1].text: unknown variable {bad}", false, []string{"售后(local): 导入的"}},
	}
	for _, s := range steps {
		status, out := s.req().do(t, srv)
		if status != s.status {
			t.Fatalf("%s: status %d (%v), want %d", s.name, status, out, s.status)
		}
		if s.saveID != "" {
			ids[s.saveID] = int64(out["id"].(float64))
		}
		if s.errHas != "" {
			if msg, _ := out["error"].(string); !strings.Contains(msg, s.errHas) {
				t.Errorf("%s: error %q, want it to contain %q", s.name, msg, s.errHas)
			}
		}
		if got := signalled(ch); got != s.signal {
			t.Errorf("%s: signalled = %v, want %v", s.name, got, s.signal)
		}
		if s.want != nil {
			if got := texts(groupsOf(t, q)); strings.Join(got, "\n") != strings.Join(s.want, "\n") {
				t.Errorf("%s: groups = %q, want %q", s.name, got, s.want)
			}
		}
	}
}

func TestQuickReplyPageServesPageListAndExport(t *testing.T) {
	q, srv := pageServer(t)
	q.SetConsoleReplies([]string{"控制台回复"})
	if _, err := q.Import(context.Background(), strings.NewReader(`{"groups":[{"name":"售后","replies":[{"title":"t","text":"x"}]}]}`)); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		path, contentType, contains string
	}{
		{"", "text/html; charset=utf-8", `<script src="app.js" defer></script>`},
		{"app.js", "text/javascript; charset=utf-8", "replyForm"},
		{"app.css", "text/css; charset=utf-8", ".reply"},
		{"api/groups", "application/json; charset=utf-8", `"console":["控制台回复"],"variables":["nickname","name","order_no","tracking_no","carrier","amount"]`},
		{"export", "application/json; charset=utf-8", `"text": "x"`},
	}
	for _, tt := range tests {
		resp, err := srv.Client().Get(srv.URL + PagePath + tt.path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != tt.contentType || !strings.Contains(string(body), tt.contains) {
			t.Errorf("GET %q: %d %q, body %.200q; want 200 %q containing %q", tt.path, resp.StatusCode,
				resp.Header.Get("Content-Type"), body, tt.contentType, tt.contains)
		}
		if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") {
			t.Errorf("GET %q: CSP %q", tt.path, csp)
		}
		if tt.path == "export" && !strings.Contains(resp.Header.Get("Content-Disposition"), "attachment") {
			t.Errorf("export is not a download: %q", resp.Header.Get("Content-Disposition"))
		}
	}
}

// TestQuickReplyPageInBrowser manages replies the way an agent does, in
// Chromium: create a group, add a reply with a variable chip, edit it,
// and import a file.
func TestQuickReplyPageInBrowser(t *testing.T) {
	q, srv := pageServer(t)
	q.SetConsoleReplies([]string{"控制台里的回复"})
	tab := newPageTab(t)
	run, waitText := tab.run, tab.waitText
	run("open", chromedp.Navigate(srv.URL+PagePath))
	waitText("#groups", "客服工具快捷回复")
	waitText("#group", "控制台里的回复")

	run("add group",
		chromedp.SendKeys(chromedp.CSS("#add-group-name"), "物流"),
		chromedp.Click(chromedp.CSS("#add-group button")))
	waitText("#group h2", "物流")
	run("add reply",
		chromedp.SendKeys(chromedp.CSS("form.add-reply input[name=title]"), "查件"),
		chromedp.SendKeys(chromedp.CSS("form.add-reply textarea"), "您的运单号是"),
		chromedp.Click(chromedp.CSS(`form.add-reply .chip:nth-child(4)`)), // {tracking_no}
		chromedp.Click(chromedp.CSS("form.add-reply button.primary")))
	waitText("#message", "回复已添加")
	waitText(".reply .text", "您的运单号是{tracking_no}")
	checkTexts(t, q, "物流(local): 您的运单号是{tracking_no}", "客服工具快捷回复(console): 控制台里的回复")

	run("edit reply",
		chromedp.Click(chromedp.CSS(".reply button.edit")),
		chromedp.SendKeys(chromedp.CSS("form.editing textarea"), "，请查收"),
		chromedp.Click(chromedp.CSS("form.editing button.primary")))
	waitText("#message", "回复已保存")
	checkTexts(t, q, "物流(local): 您的运单号是{tracking_no}，请查收", "客服工具快捷回复(console): 控制台里的回复")

	file := filepath.Join(t.TempDir(), "replies.json")
	if err := os.WriteFile(file, []byte(`{"groups":[{"name":"问候","replies":[{"text":"早上好"}]}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	run("import", chromedp.SetUploadFiles(chromedp.CSS("#import-file"), []string{file}))
	waitText("#message", "新增 1 条回复")
	waitText("#groups", "问候")
	checkTexts(t, q, "物流(local): 您的运单号是{tracking_no}，请查收", "问候(local): 早上好", "客服工具快捷回复(console): 控制台里的回复")

	run("delete group",
		chromedp.Click(chromedp.CSS(`#groups li:first-child .group-name`)),
		chromedp.Click(chromedp.CSS(".rename button.danger")), // arms
		chromedp.Click(chromedp.CSS(".rename button.danger")))
	waitText("#message", "分组已删除")
	checkTexts(t, q, "问候(local): 早上好", "客服工具快捷回复(console): 控制台里的回复")
}

func checkTexts(t *testing.T, q *Store, want ...string) {
	t.Helper()
	if got := texts(groupsOf(t, q)); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("groups = %q, want %q", got, want)
	}
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// TestQuickReplyEditsDuringImport: while an `orders import` beside the
// proxy holds the database, every edit of the page (and a file import) is
// refused after about a second, as a reveal or a binding is, with the
// sidebar's 正在导入订单，请稍后再试 instead of a generic failure after
// SQLite's 5 s; nothing changes and no sidebar is signalled. Once the
// import has committed, the same edits go through.
func TestQuickReplyEditsDuringImport(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "kf.db")
	q := openStore(t, path)
	local, err := q.localGroups(ctx)
	if err != nil || len(local) != 1 || len(local[0].Replies) < 2 {
		t.Fatalf("seed: %v, %v", local, err)
	}
	seed := local[0]
	second, err := q.addGroup(ctx, "活动")
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle(PagePath, q.Handler())
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	ch, cancel := q.Subscribe()
	defer cancel()

	var seedOrder []string
	for _, r := range slices.Backward(seed.Replies) {
		seedOrder = append(seedOrder, fmt.Sprint(r.ID))
	}
	g1, g2 := fmt.Sprint(seed.ID), fmt.Sprint(second)
	r1, r2 := fmt.Sprint(seed.Replies[0].ID), fmt.Sprint(seed.Replies[1].ID)
	// In this order, each succeeds once the import has ended.
	edits := []struct {
		name   string
		req    pageRequest
		status int
	}{
		{"reorder groups", pageRequest{"PUT", "api/groups/order", `{"ids":[` + g2 + `,` + g1 + `]}`, nil}, 204},
		{"reorder replies", pageRequest{"PUT", "api/groups/" + g1 + "/order", `{"ids":[` + strings.Join(seedOrder, ",") + `]}`, nil}, 204},
		{"edit reply", pageRequest{"PUT", "api/replies/" + r1, `{"title":"","text":"改过的","group_id":` + g1 + `}`, nil}, 204},
		{"rename group", pageRequest{"PUT", "api/groups/" + g2, `{"name":"大促"}`, nil}, 204},
		{"add reply", pageRequest{"POST", "api/groups/" + g2 + "/replies", `{"text":"新回复"}`, nil}, 200},
		{"delete reply", pageRequest{"DELETE", "api/replies/" + r2, "", nil}, 204},
		{"delete group", pageRequest{"DELETE", "api/groups/" + g2, "", nil}, 204},
		{"add group", pageRequest{"POST", "api/groups", `{"name":"新分组"}`, nil}, 200},
		{"import", pageRequest{"POST", "api/import", `{"groups":[{"name":"导入","replies":[{"text":"导入的"}]}]}`, nil}, 200},
	}

	before := exportString(t, q)
	endImport := sqlitedbtest.HoldForImport(t, path)

	_, err = q.addReply(ctx, seed.ID, "", "直接")
	if busy, ok := errors.AsType[*sqlitedb.BusyError](err); !ok || busy.What != "orders import" {
		t.Fatalf("addReply during the import: %v, want a BusyError naming it", err)
	}
	for _, e := range edits {
		status, out := e.req.do(t, srv)
		if msg, _ := out["error"].(string); status != http.StatusServiceUnavailable || msg != msgImportRunning {
			t.Errorf("%s during the import: %d %v, want %d %q", e.name, status, out, http.StatusServiceUnavailable, msgImportRunning)
		}
	}
	if signalled(ch) {
		t.Error("subscribers signalled for edits refused during the import")
	}
	if after := exportString(t, q); after != before {
		t.Errorf("quick replies changed by refused edits:\n%s\nwant\n%s", after, before)
	}

	endImport()
	for _, e := range edits {
		if status, out := e.req.do(t, srv); status != e.status {
			t.Errorf("%s after the import: %d %v, want %d", e.name, status, out, e.status)
		}
	}
	if !signalled(ch) {
		t.Error("subscribers not signalled for the edits after the import")
	}
	got := texts(groupsOf(t, q))
	want := []string{seed.Name + "(local): ", "新分组(local): ", "导入(local): 导入的"}
	if len(got) != len(want) || got[1] != want[1] || got[2] != want[2] ||
		!strings.HasPrefix(got[0], want[0]) || !strings.Contains(got[0], "改过的") || strings.Count(got[0], "|") != len(seed.Replies)-2 {
		t.Errorf("after the import: groups = %q, want %q with the seed's replies but one, one of them 改过的", got, want)
	}
}

// TestQuickReplyPageKeepsTypingWhenSaveFails, in Chromium: an agent
// types a new reply, edits another, renames the group and names a new
// one while an orders import holds the database. Each save is refused
// with 保存失败：正在导入订单，请稍后再试 beside its form, and every form
// keeps what was typed, through the other forms' failures and, once the
// import has ended, through the redraws of their successes; saving again
// stores each as typed.
func TestQuickReplyPageKeepsTypingWhenSaveFails(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "kf.db")
	q := openStore(t, path)
	local, err := q.localGroups(ctx)
	if err != nil || len(local) != 1 || len(local[0].Replies) < 1 {
		t.Fatalf("seed: %v, %v", local, err)
	}
	seed := local[0]
	srv := serve(t, q)
	page := newPageTab(t)
	tab, run, waitText, value := page.ctx, page.run, page.waitText, page.value
	const (
		newTitle = "退货"
		newText  = "您好，退货请在收到商品七天内寄回，运单号{tracking_no}填好后我们会尽快处理，谢谢您的耐心。"
		edited   = "（已更新）"
		renamed  = "售后（新）"
		newGroup = "大促"
	)
	// typed is what each field must hold once the agent has typed.
	typed := map[string]string{
		"form.add-reply input[name=title]": newTitle,
		"form.add-reply textarea":          newText,
		"form.editing textarea":            seed.Replies[0].Text + edited,
		".rename input[name=name]":         renamed,
		"#add-group-name":                  newGroup,
	}
	checkTyped := func(when string, fields ...string) {
		t.Helper()
		for _, sel := range fields {
			if got := value(sel); got != typed[sel] {
				t.Errorf("%s: %s holds %q, want what was typed, %q", when, sel, got, typed[sel])
			}
		}
	}

	run("open", chromedp.Navigate(srv.URL+PagePath))
	waitText("#group h2", seed.Name)
	run("type",
		chromedp.Click(chromedp.CSS(".reply button.edit")), // redraws the group
		chromedp.SendKeys(chromedp.CSS("form.editing textarea"), edited),
		chromedp.SendKeys(chromedp.CSS("form.add-reply input[name=title]"), newTitle),
		chromedp.SendKeys(chromedp.CSS("form.add-reply textarea"), newText),
		chromedp.Evaluate[chromedp.Void](`document.querySelector(".rename input[name=name]").select()`),
		chromedp.SendKeys(chromedp.CSS(".rename input[name=name]"), renamed),
		chromedp.SendKeys(chromedp.CSS("#add-group-name"), newGroup))
	all := []string{"form.add-reply input[name=title]", "form.add-reply textarea", "form.editing textarea",
		".rename input[name=name]", "#add-group-name"}
	checkTyped("typed", all...)

	before := exportString(t, q)
	endImport := sqlitedbtest.HoldForImport(t, path)
	refused := "保存失败：" + msgImportRunning
	for _, f := range []struct{ name, button, form string }{
		{"add reply", "form.add-reply button.primary", "form.add-reply"},
		{"edit reply", "form.editing button.primary", "form.editing"},
		{"rename group", ".rename button[type=submit]", ".rename"},
		{"add group", "#add-group button[type=submit]", "#add-group"},
	} {
		run(f.name+" during the import", chromedp.Click(chromedp.CSS(f.button)))
		waitText(f.form+" .form-error", refused)
		waitText("#message", refused)
		checkTyped(f.name+" refused", all...)
	}
	if after := exportString(t, q); after != before {
		t.Errorf("quick replies changed by refused saves:\n%s\nwant\n%s", after, before)
	}

	endImport()
	run("add reply again", chromedp.Click(chromedp.CSS("form.add-reply button.primary")))
	waitText("#message", "回复已添加")
	waitText("#group .replies", newText)
	checkTyped("after the new reply was added", "form.editing textarea", ".rename input[name=name]", "#add-group-name")
	waitText("form.editing .form-error", refused)
	if got, _ := chromedp.Run(tab, chromedp.Evaluate[string](`document.querySelector("form.add-reply textarea").value`)); got != "" {
		t.Errorf("the add form after its reply was added holds %q, want it empty", got)
	}

	run("edit reply again", chromedp.Click(chromedp.CSS("form.editing button.primary")))
	waitText("#message", "回复已保存")
	waitText("#group .replies", seed.Replies[0].Text+edited)
	checkTyped("after the edit was saved", ".rename input[name=name]", "#add-group-name")

	run("rename group again", chromedp.Click(chromedp.CSS(".rename button[type=submit]")))
	waitText("#message", "分组已改名")
	waitText("#group h2", renamed)

	run("add group again", chromedp.Click(chromedp.CSS("#add-group button[type=submit]")))
	waitText("#message", "分组已创建")
	waitText("#group h2", newGroup)
	if n, _ := chromedp.Run(tab, chromedp.Evaluate[int](`document.querySelectorAll(".form-error").length`)); n != 0 {
		t.Errorf("%d errors still shown after every save succeeded", n)
	}

	got, err := q.localGroups(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Name != renamed || got[1].Name != newGroup || len(got[1].Replies) != 0 {
		t.Fatalf("groups after the saves: %+v, want %q with the replies, then an empty %q", got, renamed, newGroup)
	}
	replies := got[0].Replies
	if len(replies) != len(seed.Replies)+1 || replies[0].Text != seed.Replies[0].Text+edited {
		t.Errorf("replies after the saves: %+v, want the seed's with the first edited, and one more", replies)
	}
	if last := replies[len(replies)-1]; last.Title != newTitle || last.Text != newText {
		t.Errorf("new reply stored as %q %q, want %q %q", last.Title, last.Text, newTitle, newText)
	}
}

// TestQuickReplyPageKeepsUnsavedTyping, in Chromium: what an agent types
// into a form and has not saved stays in it through every redraw of the
// page (编辑 on another reply, another group and back, another form's
// save), until that form saves, which empties the new-reply form, or is
// cancelled (取消, Escape), which forgets it. An edited reply deleted
// meanwhile (in another tab) takes its editor and what was typed with it,
// without an error, even when a new reply takes its id.
func TestQuickReplyPageKeepsUnsavedTyping(t *testing.T) {
	ctx := context.Background()
	q := newStore(t)
	local, err := q.localGroups(ctx)
	if err != nil || len(local) != 1 || len(local[0].Replies) < 2 {
		t.Fatalf("seed: %v, %v", local, err)
	}
	seed := local[0]
	const other = "活动"
	otherID, err := q.addGroup(ctx, other)
	if err != nil {
		t.Fatal(err)
	}
	srv := serve(t, q)
	page := newPageTab(t)
	tab, run, waitText, value, count := page.ctx, page.run, page.waitText, page.value, page.count
	// saved clicks a form's button and waits for done, the page's word
	// that the save went through and the page was redrawn.
	saved := func(what, button, done string) {
		t.Helper()
		run(what,
			chromedp.Evaluate[chromedp.Void](`document.querySelector("#message").textContent = ""`),
			chromedp.Click(chromedp.CSS(button)))
		waitText("#message", done)
		if kind, _ := chromedp.Run(tab, chromedp.Evaluate[string](`document.querySelector("#message").dataset.kind`)); kind != "ok" {
			t.Errorf("%s: message %q is an error", what, kind)
		}
	}
	const (
		newTitle = "退货"
		newText  = "您好，退货请在收到商品七天内寄回，运单号{tracking_no}填好后我们会尽快处理，谢谢您的耐心。"
		edited   = "（已更新）"
		renamed  = "售后（新）"
		newGroup = "大促"
	)
	first := seed.Replies[0]
	editButton := func(id int64) string { return fmt.Sprintf(`.reply[data-reply-id="%d"] button.edit`, id) }
	groupButton := func(id int64) string { return fmt.Sprintf(`#groups li[data-group-id="%d"] .group-name`, id) }
	typed := map[string]string{
		"form.add-reply input[name=title]": newTitle,
		"form.add-reply textarea":          newText,
		"form.editing textarea":            first.Text + edited,
	}
	checkTyped := func(when string, fields ...string) {
		t.Helper()
		for _, sel := range fields {
			if got := value(sel); got != typed[sel] {
				t.Errorf("%s: %s holds %q, want what was typed, %q", when, sel, got, typed[sel])
			}
		}
	}
	adding := []string{"form.add-reply input[name=title]", "form.add-reply textarea"}
	all := append(adding, "form.editing textarea")

	run("open", chromedp.Navigate(srv.URL+PagePath))
	waitText("#group h2", seed.Name)
	run("type a new reply",
		chromedp.SendKeys(chromedp.CSS("form.add-reply input[name=title]"), newTitle),
		chromedp.SendKeys(chromedp.CSS("form.add-reply textarea"), newText))
	checkTyped("typed", adding...)

	run("edit a reply", chromedp.Click(chromedp.CSS(editButton(first.ID)))) // redraws the group
	checkTyped("after 编辑 on a reply", adding...)
	run("type the edit", chromedp.SendKeys(chromedp.CSS("form.editing textarea"), edited))
	checkTyped("typed the edit", all...)

	run("another group", chromedp.Click(chromedp.CSS(groupButton(otherID))))
	waitText("#group h2", other)
	if got := value("form.add-reply textarea"); got != "" {
		t.Errorf("the new-reply form of %s holds %q, want it empty: what was typed belongs to %s", other, got, seed.Name)
	}
	run("back", chromedp.Click(chromedp.CSS(groupButton(seed.ID))))
	waitText("#group h2", seed.Name)
	checkTyped("after another group and back", all...)

	run("select the group's name", chromedp.Evaluate[chromedp.Void](`document.querySelector(".rename input[name=name]").select()`),
		chromedp.SendKeys(chromedp.CSS(".rename input[name=name]"), renamed))
	saved("rename the group", ".rename button[type=submit]", "分组已改名")
	waitText("#group h2", renamed)
	checkTyped("after the group was renamed", all...)

	run("name a new group", chromedp.SendKeys(chromedp.CSS("#add-group-name"), newGroup))
	saved("add a group", "#add-group button[type=submit]", "分组已创建")
	waitText("#group h2", newGroup)
	run("back to the first group", chromedp.Click(chromedp.CSS(groupButton(seed.ID))))
	waitText("#group h2", renamed)
	checkTyped("after a group was added", all...)

	saved("add the reply", "form.add-reply button.primary", "回复已添加")
	waitText("#group .replies", newText)
	checkTyped("after the new reply was added", "form.editing textarea")
	for _, sel := range adding {
		if got := value(sel); got != "" {
			t.Errorf("after the new reply was added, %s holds %q, want it empty", sel, got)
		}
	}
	got, err := q.localGroups(ctx)
	if err != nil {
		t.Fatal(err)
	}
	replies := got[0].Replies
	added := replies[len(replies)-1]
	if len(replies) != len(seed.Replies)+1 || added.Title != newTitle || added.Text != newText {
		t.Fatalf("replies after the add: %+v, want the seed's and %q %q", replies, newTitle, newText)
	}
	if replies[0].Text != first.Text {
		t.Errorf("the edited reply is stored as %q, want it unchanged until saved", replies[0].Text)
	}

	run("cancel the edit", chromedp.Click(chromedp.CSS("form.editing .actions button[type=button]")))
	if n := count("form.editing"); n != 0 {
		t.Errorf("%d editors open after 取消", n)
	}
	run("edit it again", chromedp.Click(chromedp.CSS(editButton(first.ID))))
	if got := value("form.editing textarea"); got != first.Text {
		t.Errorf("reopened after 取消, the editor holds %q, want the stored %q", got, first.Text)
	}
	run("type and press Escape",
		chromedp.SendKeys(chromedp.CSS("form.editing textarea"), edited),
		chromedp.SendKeys(chromedp.CSS("form.editing textarea"), kb.Escape))
	if n := count("form.editing"); n != 0 {
		t.Errorf("%d editors open after Escape", n)
	}
	run("another group and back",
		chromedp.Click(chromedp.CSS(groupButton(otherID))),
		chromedp.Click(chromedp.CSS(groupButton(seed.ID))))
	waitText("#group h2", renamed)
	if n := count("form.editing"); n != 0 {
		t.Errorf("%d editors open after Escape and another group", n)
	}
	run("edit it once more", chromedp.Click(chromedp.CSS(editButton(first.ID))))
	if got := value("form.editing textarea"); got != first.Text {
		t.Errorf("reopened after Escape, the editor holds %q, want the stored %q", got, first.Text)
	}
	run("cancel", chromedp.Click(chromedp.CSS("form.editing .actions button[type=button]")))

	const gone = "这条在别的标签页里删掉了"
	run("edit the new reply", chromedp.Click(chromedp.CSS(editButton(added.ID))),
		chromedp.SendKeys(chromedp.CSS("form.editing textarea"), gone))
	if err := q.deleteReply(ctx, added.ID); err != nil {
		t.Fatal(err)
	}
	run("select the group's name again", chromedp.Evaluate[chromedp.Void](`document.querySelector(".rename input[name=name]").select()`),
		chromedp.SendKeys(chromedp.CSS(".rename input[name=name]"), seed.Name))
	saved("rename the group back", ".rename button[type=submit]", "分组已改名")
	waitText("#group h2", seed.Name)
	if n := count("form.editing"); n != 0 {
		t.Errorf("%d editors open after the edited reply was deleted", n)
	}
	if n := count(".form-error"); n != 0 {
		t.Errorf("%d errors shown after the edited reply was deleted", n)
	}
	// SQLite gives the next reply the deleted one's id: it must not open
	// with what was typed for the deleted one.
	const next = "新的一条"
	if _, err := q.addReply(ctx, seed.ID, "", next); err != nil {
		t.Fatal(err)
	}
	run("type a new reply again", chromedp.SendKeys(chromedp.CSS("form.add-reply textarea"), "x"))
	saved("add it", "form.add-reply button.primary", "回复已添加")
	waitText("#group .replies", next)
	if n := count("form.editing"); n != 0 {
		t.Errorf("%d editors open after a reply took the deleted one's id", n)
	}
	if text, _ := chromedp.Run(tab, chromedp.Evaluate[string](`document.querySelector("#group").innerText`)); strings.Contains(text, gone) {
		t.Errorf("what was typed for the deleted reply is back: %q", text)
	}
}
