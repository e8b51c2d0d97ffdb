package mpkftest

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/kfsidebar/kfsidebar/internal/kftest"
)

// The tests below check what a sidebar's identity evidence rests on: which
// chat the console opens by itself, and that it fetches the opened chat's
// history every time, with and without data-reactid. They read the truth
// from window.__mpkftest, the page's harness hook.

// hookSelected is the uin the page says is open.
const hookSelected = `window.__mpkftest.selectedUin()`

// waitSelected waits until the page has f's chat open, by the hook and by
// the .card_selected card.
func waitSelected(t *testing.T, ctx context.Context, f Fan) {
	t.Helper()
	u := uinString(f)
	waitJS(t, ctx, hookSelected+` === `+u+` && document.querySelector('.card_selected') === document.querySelector(window.__mpkftest.cardSelector(`+u+`))`)
}

// clickCard clicks f's card, found through the hook so it works without
// data-reactid.
func clickCard(t *testing.T, ctx context.Context, f Fan) {
	t.Helper()
	sel := evalJS[string](t, ctx, `window.__mpkftest.cardSelector(`+uinString(f)+`)`)
	if sel == "" {
		t.Fatalf("no card for %d", f.UIN)
	}
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(sel))); err != nil {
		t.Fatalf("click %s: %v", sel, err)
	}
}

// clickAccept clicks 接入 on f in the waiting list.
func clickAccept(t *testing.T, ctx context.Context, f Fan) {
	t.Helper()
	sel := evalJS[string](t, ctx, `window.__mpkftest.acceptSelector(`+uinString(f)+`)`)
	if sel == "" {
		t.Fatalf("%d is not waiting", f.UIN)
	}
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(sel))); err != nil {
		t.Fatalf("click %s: %v", sel, err)
	}
}

// historyLoads counts the page's getfansmsglist requests for f.
func historyLoads(s *Server, f Fan) int {
	n := 0
	for _, r := range requestsFor(s, "/cgi-bin/kfmsg", "getfansmsglist") {
		if r.Form.Get("fansuin") == uinString(f) {
			n++
		}
	}
	return n
}

// reactIDModes runs a test on the page with and without data-reactid.
var reactIDModes = []struct {
	name      string
	noReactID bool
}{{"data-reactid", false}, {"no data-reactid", true}}

func TestBrowserOpensAcceptedChat(t *testing.T) {
	waiting0, waiting1 := Roster[2], Roster[3]
	transferred := Roster[10]
	tests := []struct {
		name string
		opts Options
		act  func(t *testing.T, ctx context.Context, s *Server)
		want Fan  // the chat open afterwards
		load bool // whether opening it fetches its history (false: it stayed open)
	}{
		{"接入 opens the accepted chat", Options{},
			func(t *testing.T, ctx context.Context, s *Server) { clickAccept(t, ctx, waiting1) }, waiting1, true},
		{"全部接入 opens the first accepted chat", Options{},
			func(t *testing.T, ctx context.Context, s *Server) { clickAndWait(t, ctx, ".btn_accept_all") }, waiting0, true},
		{"自动接入 leaves the open chat open", Options{},
			func(t *testing.T, ctx context.Context, s *Server) {
				clickAndWait(t, ctx, ".auto_accept")
				waitJS(t, ctx, `document.querySelectorAll('.card').length === 5`)
			}, Roster[0], false},
		// With no chat open at load, Roster's first three wait.
		{"自动接入 opens the first accepted chat when none is open", Options{OpenAtLoad: -1},
			func(t *testing.T, ctx context.Context, s *Server) { clickAndWait(t, ctx, ".auto_accept") }, Roster[0], true},
		{"a transfer opens the transferred chat", Options{},
			func(t *testing.T, ctx context.Context, s *Server) { s.TransferIn(transferred) }, transferred, true},
	}
	for _, mode := range reactIDModes {
		for _, tt := range tests {
			t.Run(mode.name+"/"+tt.name, func(t *testing.T) {
				tt.opts.NoReactID = mode.noReactID
				s, ctx := openConsole(t, tt.opts)
				before := historyLoads(s, tt.want)
				tt.act(t, ctx, s)
				waitSelected(t, ctx, tt.want)
				if tt.load {
					kftest.Poll(t, "the history of the opened chat", func() bool { return historyLoads(s, tt.want) == before+1 })
				} else if got := historyLoads(s, tt.want); got != before {
					t.Errorf("the open chat's history was fetched %d more times although it stayed open", got-before)
				}
			})
		}
	}
}

// clickAndWait clicks the element sel names.
func clickAndWait(t *testing.T, ctx context.Context, sel string) {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(sel))); err != nil {
		t.Fatalf("click %s: %v", sel, err)
	}
}

// TestBrowserHistoryOnEveryOpen opens chats by click, by keyboard and by
// the console itself, and checks that each opening fetches that chat's
// history once, by XHR, with fansuin in the URL, so that a sidebar can see
// it in the page's resource timing entries; clicking the open chat again
// fetches nothing.
func TestBrowserHistoryOnEveryOpen(t *testing.T) {
	for _, mode := range reactIDModes {
		t.Run(mode.name, func(t *testing.T) {
			s, ctx := openConsole(t, Options{NoReactID: mode.noReactID})
			// The observer collects resource entries as a sidebar would;
			// buffered, it sees those from before it started too.
			if err := chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](`(() => {
				window.__seen = [];
				new PerformanceObserver((l) => { for (const e of l.getEntries()) window.__seen.push(e.initiatorType + ' ' + e.name); })
					.observe({type: 'resource', buffered: true});
			})()`)); err != nil {
				t.Fatal(err)
			}
			a, b, c := Roster[0], Roster[1], Roster[2]
			kftest.Poll(t, "the history loaded at page load", func() bool { return historyLoads(s, a) == 1 })
			steps := []struct {
				name string
				act  func()
				want Fan
				load bool // a new history request is expected
			}{
				{"click", func() { clickCard(t, ctx, b) }, b, true},
				{"click the open chat again", func() { clickCard(t, ctx, b) }, b, false},
				{"ArrowUp", func() { keys(t, ctx, kb.ArrowUp) }, a, true},
				{"ArrowDown", func() { keys(t, ctx, kb.ArrowDown) }, b, true},
				{"接入", func() { clickAccept(t, ctx, c) }, c, true},
				{"click back", func() { clickCard(t, ctx, a) }, a, true},
				{"ArrowDown to the second", func() { keys(t, ctx, kb.ArrowDown) }, b, true},
				{"ArrowDown to the accepted", func() { keys(t, ctx, kb.ArrowDown) }, c, true},
				{"结束会话 opens the next chat", func() { clickAndWait(t, ctx, ".btn_close_session") }, b, true},
			}
			// loads is how many history requests each fan should have had.
			// A step that loads nothing is checked after the next one: by
			// the time that step's request has arrived, a stray request
			// sent earlier has too.
			loads := map[Fan]int{a: 1}
			for i, st := range steps {
				st.act()
				waitSelected(t, ctx, st.want)
				if !st.load {
					continue
				}
				loads[st.want]++
				want := loads[st.want]
				kftest.Poll(t, st.name+": history of "+st.want.Nickname, func() bool { return historyLoads(s, st.want) == want })
				u := `'fansuin=` + uinString(st.want) + `&'`
				waitJS(t, ctx, `window.__seen.filter((e) => e.startsWith('xmlhttprequest ') && e.includes('getfansmsglist') && e.includes(`+u+`)).length === `+strconv.Itoa(want))
				for _, f := range []Fan{a, b, c} {
					if got := historyLoads(s, f); got != loads[f] {
						t.Errorf("after %q (and %q before it): %d history requests for %s, want %d", st.name, steps[max(i-1, 0)].name, got, f.Nickname, loads[f])
					}
				}
			}
		})
	}
}

// keys presses a key in the page, outside the editor.
func keys(t *testing.T, ctx context.Context, key string) {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](`document.activeElement && document.activeElement.blur()`), chromedp.KeyEvent(key)); err != nil {
		t.Fatal(err)
	}
}

// TestBrowserNoReactID checks that the page without data-reactid has none
// anywhere and is otherwise the same page: the same elements, classes and
// texts in the same order.
func TestBrowserNoReactID(t *testing.T) {
	// shape lists the page's elements in order, without data-reactid and
	// without texts that depend on the clock (times of day, "N 分钟前"):
	// the two pages may load either side of a minute.
	const shape = `[...document.querySelectorAll('.main *')].map((e) => e.tagName + '.' + e.className + '[' +
		[...e.attributes].map((a) => a.name).filter((n) => n !== 'data-reactid').sort().join(',') + ']' +
		(e.children.length || /time/.test(e.className) ? '' : e.textContent.replace(/\d{1,2}:\d{2}/g, 'HH:MM').replace(/\d+ ?(秒|分钟|小时)前/g, 'N前')))`
	var shapes [2][]string
	for i, mode := range reactIDModes {
		// A subtest, so its server closes before the next one opens: the
		// browser would reuse its connection to it otherwise.
		t.Run(mode.name, func(t *testing.T) {
			_, ctx := openConsole(t, Options{NoReactID: mode.noReactID})
			waitJS(t, ctx, `document.querySelectorAll('.message_box').length > 0`)
			n := evalJS[int](t, ctx, `document.querySelectorAll('[data-reactid]').length`)
			switch {
			case mode.noReactID && n != 0:
				t.Errorf("%d elements carry data-reactid", n)
			case !mode.noReactID && n == 0:
				t.Errorf("no element carries data-reactid")
			}
			if got := evalJS[bool](t, ctx, `window.__mpkftest.reactIDs`); got == mode.noReactID {
				t.Errorf("hook says reactIDs %v", got)
			}
			shapes[i] = evalJS[[]string](t, ctx, shape)
		})
	}
	if !slices.Equal(shapes[0], shapes[1]) {
		for i := range min(len(shapes[0]), len(shapes[1])) {
			if shapes[0][i] != shapes[1][i] {
				t.Fatalf("the pages differ at element %d: %q and %q", i, shapes[0][i], shapes[1][i])
			}
		}
		t.Fatalf("the pages have %d and %d elements", len(shapes[0]), len(shapes[1]))
	}
}

// TestBrowserHook checks the harness hook against the page: the open
// chats, the waiting fans, their selectors and the selection events.
func TestBrowserHook(t *testing.T) {
	s, ctx := openConsole(t, Options{})
	type hook struct {
		Sessions []int64  `json:"sessions"`
		Waiting  []int64  `json:"waiting"`
		Cards    []string `json:"cards"`
		Accepts  []string `json:"accepts"`
	}
	got := evalJS[hook](t, ctx, `(() => { const h = window.__mpkftest; return {
		sessions: h.sessions(), waiting: h.waiting(),
		cards: h.sessions().map((u) => document.querySelector(h.cardSelector(u)).getAttribute('data-reactid')),
		accepts: h.waiting().map((u) => document.querySelector(h.acceptSelector(u)).closest('.waiting_item').getAttribute('data-reactid')),
	}; })()`)
	var want hook
	for _, f := range s.Accepted() {
		want.Sessions = append(want.Sessions, f.UIN)
	}
	want.Waiting = []int64{Roster[2].UIN, Roster[3].UIN, Roster[4].UIN}
	if !slices.Equal(got.Sessions, want.Sessions) || !slices.Equal(got.Waiting, want.Waiting) {
		t.Errorf("hook sessions %v waiting %v, want %v and %v", got.Sessions, got.Waiting, want.Sessions, want.Waiting)
	}
	for i, id := range got.Cards {
		if want := "$" + strconv.FormatInt(got.Sessions[i], 10); len(id) < len(want) || id[len(id)-len(want):] != want {
			t.Errorf("cardSelector(%d) finds %q", got.Sessions[i], id)
		}
	}
	for i, id := range got.Accepts {
		if want := "$" + strconv.FormatInt(got.Waiting[i], 10); len(id) < len(want) || id[len(id)-len(want):] != want {
			t.Errorf("acceptSelector(%d) finds %q", got.Waiting[i], id)
		}
	}
	if sel := evalJS[string](t, ctx, `window.__mpkftest.cardSelector(1)`); sel != "" {
		t.Errorf("cardSelector of nobody = %q, want \"\"", sel)
	}
	if err := chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](`window.__events = []; window.__mpkftest.onSelect((u, at) => window.__events.push([u, at === window.__mpkftest.selectedAt()]))`)); err != nil {
		t.Fatal(err)
	}
	clickCard(t, ctx, Roster[1])
	clickAndWait(t, ctx, ".btn_close_session")
	waitJS(t, ctx, `window.__events.length === 3`)
	if got, want := evalJS[string](t, ctx, `JSON.stringify(window.__events)`), fmt.Sprintf(`[[%d,true],[0,true],[%d,true]]`, Roster[1].UIN, Roster[0].UIN); got != want {
		t.Errorf("onSelect events = %s, want %s", got, want)
	}
}
