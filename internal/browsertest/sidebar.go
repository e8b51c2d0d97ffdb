package browsertest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// SidebarJS is the JavaScript expression of the sidebar element the
// proxy injects: <kf-sidebar id="kfsidebar-root">, with an open shadow
// root.
const SidebarJS = `document.getElementById('kfsidebar-root')`

// SidebarState is what the sidebar element says about itself: its
// data-state, data-openid and data-identity attributes, how many orders
// it shows and the start of its text.
type SidebarState struct {
	State    string `json:"state"`
	OpenID   string `json:"openid"`
	Identity string `json:"identity"`
	Orders   int    `json:"orders"`
	Text     string `json:"text"`
	// Paused is the data-paused attribute (the agent paused kfsidebar);
	// Hidden is true when the element is not displayed at all.
	Paused bool `json:"paused"`
	Hidden bool `json:"hidden"`
}

const readSidebar = `(() => {
	const r = ` + SidebarJS + `;
	if (!r) return {state: 'absent'};
	return {state: r.dataset.state || '', openid: r.dataset.openid || '', identity: r.dataset.identity || '',
		orders: r.shadowRoot ? r.shadowRoot.querySelectorAll('[data-order-no]').length : -1,
		text: r.shadowRoot ? r.shadowRoot.textContent.slice(0, 400) : '',
		paused: r.hasAttribute('data-paused'), hidden: getComputedStyle(r).display === 'none'};
})()`

// Sidebar is the page object of the sidebar in one tab: what a test reads
// of it and does to it, as an agent would.
type Sidebar struct {
	tb  testing.TB
	ctx context.Context
	// Logs, when set, is added to failures: the log of the kfsidebar the
	// tab talks to.
	Logs func() string
	// Timeout bounds each wait; default 15s.
	Timeout time.Duration
}

func (s *Sidebar) timeout() time.Duration {
	if s.Timeout <= 0 {
		return 15 * time.Second
	}
	return s.Timeout
}

// SidebarOf is the sidebar in the tab ctx.
func SidebarOf(tb testing.TB, ctx context.Context) *Sidebar {
	return &Sidebar{tb: tb, ctx: ctx}
}

func (s *Sidebar) logs() string {
	if s.Logs == nil {
		return ""
	}
	return "\nkfsidebar log:\n" + s.Logs()
}

// Read returns the sidebar's state now.
func (s *Sidebar) Read() SidebarState {
	s.tb.Helper()
	st, err := chromedp.Run(s.ctx, chromedp.Evaluate[SidebarState](readSidebar))
	if err != nil {
		s.tb.Fatalf("read sidebar: %v", err)
	}
	return st
}

// Wait polls until the sidebar shows state (and openid, if not "").
func (s *Sidebar) Wait(state, openid string) SidebarState {
	s.tb.Helper()
	var last SidebarState
	deadline := time.Now().Add(s.timeout())
	for time.Now().Before(deadline) {
		last = s.Read()
		if last.State == state && (openid == "" || last.OpenID == openid) {
			return last
		}
		chromedp.Do(s.ctx, chromedp.Sleep(50*time.Millisecond))
	}
	s.tb.Fatalf("sidebar did not reach state %q openid %q; last %+v%s", state, openid, last, s.logs())
	return last
}

// WaitReady waits until the sidebar is connected to kfsidebar.
func (s *Sidebar) WaitReady() {
	s.tb.Helper()
	_, err := chromedp.Run(s.ctx, chromedp.Poll[bool](`(() => { const r = `+SidebarJS+`;
		return !!r && !!r.dataset.state && r.dataset.state !== 'connecting'; })()`, chromedp.WithPollingTimeout(s.timeout())))
	if err != nil {
		s.tb.Fatalf("sidebar never connected: %v%s", err, s.logs())
	}
}

// Text is what the agent reads in the sidebar's panel.
func (s *Sidebar) Text() string {
	s.tb.Helper()
	return s.eval(SidebarJS + `?.shadowRoot?.querySelector('.panel')?.innerText ?? ""`)
}

// ShadowText is the text of the first element in the sidebar matching sel.
func (s *Sidebar) ShadowText(sel string) string {
	s.tb.Helper()
	return s.eval(fmt.Sprintf(`%s.shadowRoot.querySelector(%q)?.innerText ?? ""`, SidebarJS, sel))
}

// Click clicks, with the mouse, the first element of the sidebar matching
// sel, scrolled into view first, once it is shown.
func (s *Sidebar) Click(sel string) {
	s.tb.Helper()
	shown := fmt.Sprintf(`%s.shadowRoot.querySelector(%q)?.getBoundingClientRect().width > 0`, SidebarJS, sel)
	if err := chromedp.Do(s.ctx, chromedp.Poll[chromedp.Void](shown, chromedp.WithPollingTimeout(s.timeout()))); err != nil {
		s.tb.Fatalf("waiting for %s in the sidebar: %v\nsidebar: %q%s", sel, err, s.Text(), s.logs())
	}
	pt, err := chromedp.Run(s.ctx, chromedp.Evaluate[[]float64](fmt.Sprintf(`(() => { const e = %s.shadowRoot.querySelector(%q);
		e.scrollIntoView({block: 'nearest'});
		const r = e.getBoundingClientRect();
		return [r.left + r.width / 2, r.top + r.height / 2]; })()`, SidebarJS, sel)))
	if err != nil {
		s.tb.Fatal(err)
	}
	if err := chromedp.Do(s.ctx, chromedp.MouseClickXY(pt[0], pt[1])); err != nil {
		s.tb.Fatal(err)
	}
}

func (s *Sidebar) eval(expr string) string {
	s.tb.Helper()
	v, err := chromedp.Run(s.ctx, chromedp.Evaluate[string](expr))
	if err != nil {
		s.tb.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}
