package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/kfsidebar/kfsidebar/internal/browsertest"
)

// recorderJS runs in every page before the page's own scripts (the
// DevTools protocol's addScriptToEvaluateOnNewDocument). It logs every
// change of the sidebar element's data-state, data-openid and
// data-identity, read at the MutationObserver's callback (what could have
// been painted), and every change of the console's selection through the
// simulated console's harness hook (window.__mpkftest, which only test
// harnesses may read). Times are epoch milliseconds, one clock across
// reloads. window.__identitybench.take() hands the log over and empties it;
// settle(since, quiet, max) waits for the sidebar to stop changing.
const recorderJS = `(() => {
  const now = () => performance.timeOrigin + performance.now();
  const hook = () => window.__mpkftest;
  const ib = {log: [], lastChange: 0, view: null};
  Object.defineProperty(window, '__identitybench', {value: ib});
  const read = (el) => ({state: el.getAttribute('data-state') || '', openid: el.getAttribute('data-openid') || '',
    identity: el.getAttribute('data-identity') || ''});
  const same = (a, b) => a && b && a.state === b.state && a.openid === b.openid && a.identity === b.identity;
  const record = (el) => {
    const v = read(el);
    if (same(ib.view, v)) return;
    ib.view = v;
    ib.lastChange = now();
    ib.log.push(Object.assign({k: 'sb', t: ib.lastChange, uin: hook() ? hook().selectedUin() : -1}, v));
  };
  new MutationObserver((muts) => {
    for (const m of muts) {
      if (m.target.id === 'kfsidebar-root') {
        record(m.target);
      }
    }
  }).observe(document, {subtree: true, attributes: true, attributeFilter: ['data-state', 'data-openid', 'data-identity']});
  document.addEventListener('DOMContentLoaded', () => {
    const h = hook();
    if (!h) return;
    ib.log.push({k: 'sel', t: performance.timeOrigin + h.selectedAt(), uin: h.selectedUin()});
    h.onSelect((uin, at) => ib.log.push({k: 'sel', t: performance.timeOrigin + at, uin: uin}));
    const el = document.getElementById('kfsidebar-root');
    if (el) record(el);
  });
  ib.take = () => {
    const out = {origin: performance.timeOrigin, end: now(), records: ib.log};
    ib.log = [];
    return out;
  };
  ib.current = () => {
    const el = document.getElementById('kfsidebar-root');
    const v = el ? read(el) : {state: 'absent', openid: '', identity: ''};
    v.choices = el && el.shadowRoot ? [...el.shadowRoot.querySelectorAll('button.choice[data-openid]')].map((b) => b.getAttribute('data-openid')) : [];
    return v;
  };
  ib.settle = (since, quiet, max) => new Promise((resolve) => {
    const tick = () => {
      const t = now();
      const from = Math.max(ib.lastChange, since);
      if (t - from >= quiet || t - since >= max) {
        resolve(Object.assign(ib.current(), {lastChange: ib.lastChange, t: t, timedOut: t - from < quiet}));
        return;
      }
      setTimeout(tick, 50);
    };
    tick();
  });
})();`

// installRecorder makes recorderJS run in every page the tab loads from now.
func installRecorder(ctx context.Context) error {
	return chromedp.Do(ctx, chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: recorderJS})
		return err
	}))
}

// evalJS evaluates expr in the page, within d.
func evalJS[T any](ctx context.Context, d time.Duration, expr string, opts ...chromedp.EvaluateOption) (T, error) {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, opts...))
	if err != nil {
		return v, fmt.Errorf("evaluate %.80s: %w", expr, err)
	}
	return v, nil
}

// waitJS polls a JavaScript condition until it holds or d passes.
func waitJS(ctx context.Context, d time.Duration, what, expr string) error {
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](expr, chromedp.WithPollingTimeout(d), chromedp.WithPollingInterval(20*time.Millisecond))); err != nil {
		return fmt.Errorf("waiting for %s: %w", what, err)
	}
	return nil
}

// waitSidebarReady waits until the page's console and sidebar are up: the
// hook and the recorder exist and the sidebar has connected.
func waitSidebarReady(ctx context.Context) error {
	return waitJS(ctx, 30*time.Second, "the console and a connected sidebar", `!!window.__mpkftest && !!window.__identitybench &&
		(() => { const r = document.getElementById('kfsidebar-root'); return !!r && !!r.dataset.state && r.dataset.state !== 'connecting'; })()`)
}

// selection is the console's open chat and when it was opened, in epoch ms.
type selection struct {
	UIN int64   `json:"uin"`
	At  float64 `json:"at"`
}

func selected(ctx context.Context) (selection, error) {
	return evalJS[selection](ctx, 10*time.Second, `({uin: window.__mpkftest.selectedUin(), at: performance.timeOrigin + window.__mpkftest.selectedAt()})`)
}

// waitSelected waits until the console has uin's chat open, opened after
// the epoch-ms time after.
func waitSelected(ctx context.Context, uin int64, after float64) (selection, error) {
	u := strconv.FormatInt(uin, 10)
	err := waitJS(ctx, 20*time.Second, "chat "+u+" open", `window.__mpkftest.selectedUin() === `+u+
		` && performance.timeOrigin + window.__mpkftest.selectedAt() > `+strconv.FormatFloat(after, 'f', 3, 64))
	if err != nil {
		return selection{}, err
	}
	return selected(ctx)
}

// settled is the sidebar when it stopped changing (or the wait ran out).
type settled struct {
	sidebarView
	Choices    []string `json:"choices"` // the chooser's candidates
	LastChange float64  `json:"lastChange"`
	T          float64  `json:"t"`
	TimedOut   bool     `json:"timedOut"`
}

// settle waits until the sidebar has not changed for quiet since the
// epoch-ms time since, or max has passed since then.
func settle(ctx context.Context, since float64, quiet, maxWait time.Duration) (settled, error) {
	return evalJS[settled](ctx, maxWait+10*time.Second, fmt.Sprintf(`window.__identitybench.settle(%f, %d, %d)`,
		since, quiet.Milliseconds(), maxWait.Milliseconds()), chromedp.EvalAwaitPromise)
}

// take hands over the page's log.
func take(ctx context.Context) (pageLog, error) {
	var raw struct {
		Origin  float64  `json:"origin"`
		End     float64  `json:"end"`
		Records []record `json:"records"`
	}
	v, err := evalJS[json.RawMessage](ctx, 10*time.Second, `window.__identitybench.take()`)
	if err != nil {
		return pageLog{}, err
	}
	if err := json.Unmarshal(v, &raw); err != nil {
		return pageLog{}, fmt.Errorf("page log: %w", err)
	}
	return pageLog{Origin: raw.Origin, End: raw.End, Records: raw.Records}, nil
}

// click clicks the element sel names, as a mouse does.
func click(ctx context.Context, sel string) error {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if err := browsertest.Click(ctx, sel); err != nil {
		return fmt.Errorf("click %s: %w", sel, err)
	}
	return nil
}

// hookSelector asks the console's hook for a selector (cardSelector or
// acceptSelector) of uin.
func hookSelector(ctx context.Context, fn string, uin int64) (string, error) {
	sel, err := evalJS[string](ctx, 10*time.Second, `window.__mpkftest.`+fn+`(`+strconv.FormatInt(uin, 10)+`)`)
	if err == nil && sel == "" {
		err = fmt.Errorf("%s(%d): not on the page", fn, uin)
	}
	return sel, err
}

// pressKey presses key outside the editor, as an agent moving through the
// chat list does.
func pressKey(ctx context.Context, key string) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	return chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](`document.activeElement && document.activeElement.blur()`), chromedp.KeyEvent(key))
}
