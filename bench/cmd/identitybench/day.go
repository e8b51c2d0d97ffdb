package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strconv"
	"time"

	"github.com/chromedp/chromedp/kb"

	"github.com/kfsidebar/kfsidebar/proxy/mpkftest"
)

// The console's state at the start of the day: chats open when the page
// loads (its inline bootstrap) and fans already waiting.
const (
	openAtLoad     = 3
	waitingAtStart = 3
)

// Causes of an opened chat, as the report names them.
const (
	causeBootstrap  = "page load"
	causeManual     = "接入"
	causeBatch      = "全部接入"
	causeAuto       = "自动接入, then a click"
	causeTransfer   = "transfer in"
	causeClick      = "click"
	causeKeyboard   = "keyboard"
	causeReload     = "reload"
	causeClose      = "结束会话 (the console opens the next)"
	causeCloseClick = "click right after 结束会话"
	causePassing    = "passed through (not waited on)"
)

// opened is one chat the console opened and the harness waited on.
type opened struct {
	Cause    string
	UIN      int64
	Kind     fanKind
	Origin   float64 // the page (performance.timeOrigin)
	At       float64 // when the console opened it, epoch ms
	View     settled
	Outcome  outcome
	SettleMS float64 // from opening to the sidebar's last change
	Picked   string  // for outAsked: pickRight, pickNotOffered or pickFailed
}

// What came of asking the agent.
const (
	pickRight      = "picked"
	pickNotOffered = "right one not offered"
	pickFailed     = "pick not shown"
)

// modeResult is one run of the day, with or without data-reactid.
type modeResult struct {
	Name      string
	Opened    []opened
	Incidents []incident
	Errors    []string
	Arrivals  map[string]int // chats by the way they arrived
	Reloads   int
	Duration  time.Duration
}

// day plays one day of chats on one world.
type day struct {
	cfg  config
	s    *stack
	c    *cast
	rng  *rand.Rand
	log  *slog.Logger
	next int // c.fans[next] is the next fan to write in
	res  *modeResult
	logs []*pageLog
}

// errTooManyErrors stops a day that keeps failing.
var errTooManyErrors = errors.New("too many harness errors")

// playDay runs the day on a new world and returns what it measured.
func playDay(ctx context.Context, cfg config, bin string, c *cast, shop []byte, noReactID bool, log *slog.Logger) (*modeResult, error) {
	name := "data-reactid"
	if noReactID {
		name = "no data-reactid"
	}
	s, err := startStack(ctx, bin, c.fans, openAtLoad, waitingAtStart, noReactID, shop)
	if err != nil {
		return nil, err
	}
	defer s.stop()
	d := &day{
		cfg: cfg, s: s, c: c, log: log.With("mode", name),
		rng:  rand.New(rand.NewPCG(cfg.Seed, 2)),
		next: min(openAtLoad+waitingAtStart, len(c.fans)),
		res:  &modeResult{Name: name, Arrivals: map[string]int{causeBootstrap: min(openAtLoad, len(c.fans))}},
	}
	start := time.Now()
	if err := s.openConsole(); err != nil {
		return nil, err
	}
	if err := d.measureCurrent(causeBootstrap); err != nil {
		return nil, err
	}
	reloads := max(1, len(c.fans)/75)
	nextReload := 1
	arrived := 0
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		waiting, err := d.hookList("waiting")
		if err != nil {
			if err := d.try(err); err != nil {
				return nil, fmt.Errorf("%s: %w: %v", name, err, d.res.Errors)
			}
			continue
		}
		if d.next >= len(c.fans) && len(waiting) == 0 {
			break
		}
		err = d.step(waiting)
		if errors.Is(err, errTooManyErrors) {
			return nil, fmt.Errorf("%s: %w: %v", name, err, d.res.Errors)
		}
		arrived++
		if nextReload <= reloads && d.next >= nextReload*len(c.fans)/(reloads+1) {
			nextReload++
			d.res.Reloads++
			if err := d.try(d.reload()); err != nil {
				return nil, fmt.Errorf("%s: %w: %v", name, err, d.res.Errors)
			}
		}
		if arrived%10 == 0 {
			d.log.Info("progress", "fans", d.next, "of", len(c.fans), "opened", len(d.res.Opened), "errors", len(d.res.Errors))
		}
	}
	if err := d.drain(); err != nil {
		d.fail(err)
	}
	for _, p := range d.logs {
		found := wrongIncidents(*p, c.openidOf, float64(cfg.Grace.Milliseconds()))
		d.res.Incidents = append(d.res.Incidents, found...)
		for _, in := range found {
			d.logIncident(p, in)
		}
	}
	d.res.Duration = time.Since(start)
	return d.res, nil
}

// step brings one chat in (or one batch), then lets the agent work: a fan
// writes again, the agent looks at another chat by click or keyboard, and
// closes chats beyond MaxOpen.
func (d *day) step(waiting []int64) error {
	var err error
	p := d.rng.Float64()
	switch {
	case d.next >= len(d.c.fans) || p < 0.3:
		err = d.manual(waiting)
	case p < 0.55:
		err = d.batch()
	case p < 0.75:
		err = d.auto()
	default:
		err = d.transfer()
	}
	if err := d.try(err); err != nil {
		return err
	}
	if d.rng.Float64() < 0.3 {
		if open, err := d.hookList("sessions"); err == nil && len(open) > 0 {
			d.s.sim.SendFromFan(open[d.rng.IntN(len(open))], followUps[d.rng.IntN(len(followUps))])
		}
	}
	if d.rng.Float64() < 0.3 {
		if err := d.try(d.clickOther()); err != nil {
			return err
		}
	}
	if d.rng.Float64() < 0.2 {
		if err := d.try(d.keyboard()); err != nil {
			return err
		}
	}
	open, err := d.hookList("sessions")
	if err != nil {
		return d.try(err)
	}
	for range len(open) - d.cfg.MaxOpen {
		if err := d.try(d.closeCurrent()); err != nil {
			return err
		}
	}
	return nil
}

// followUps are what fans write after their first line: the words many
// users send, which tell nobody apart.
var followUps = []string{"在吗", "你好", "好的，谢谢", "大概什么时候能到？", "？", "收到"}

// newFan returns the next fan to write in, or false when all have.
func (d *day) newFan() (mpkftest.Fan, bool) {
	if d.next >= len(d.c.fans) {
		return mpkftest.Fan{}, false
	}
	f := d.c.fans[d.next]
	d.next++
	return f, true
}

// addWaiting has fans start waiting and waits until the page lists them.
func (d *day) addWaiting(fans ...mpkftest.Fan) error {
	var js string
	for _, f := range fans {
		d.s.sim.AddWaiting(f)
		js += " && w.includes(" + strconv.FormatInt(f.UIN, 10) + ")"
	}
	return waitJS(d.s.tab, 20*time.Second, "the new fans in the waiting list", `(() => { const w = window.__mpkftest.waiting(); return true`+js+`; })()`)
}

// manual is 接入 on one waiting fan (a new one when none waits); the
// console opens the chat.
func (d *day) manual(waiting []int64) error {
	if len(waiting) == 0 {
		f, ok := d.newFan()
		if !ok {
			return nil
		}
		if err := d.addWaiting(f); err != nil {
			return err
		}
		waiting = []int64{f.UIN}
	}
	uin := waiting[d.rng.IntN(len(waiting))]
	sel, err := hookSelector(d.s.tab, "acceptSelector", uin)
	if err != nil {
		return err
	}
	before, err := selected(d.s.tab)
	if err != nil {
		return err
	}
	if err := click(d.s.tab, sel); err != nil {
		return err
	}
	d.res.Arrivals[causeManual]++
	return d.measure(causeManual, uin, before.At)
}

// batch has one to three more fans wait, then 全部接入: the console opens
// the first chat it accepted.
func (d *day) batch() error {
	var fans []mpkftest.Fan
	for range 1 + d.rng.IntN(3) {
		if f, ok := d.newFan(); ok {
			fans = append(fans, f)
		}
	}
	if err := d.addWaiting(fans...); err != nil {
		return err
	}
	all, err := d.hookList("waiting")
	if err != nil || len(all) == 0 {
		return errors.Join(err, errors.New("全部接入: nobody waiting"))
	}
	before, err := selected(d.s.tab)
	if err != nil {
		return err
	}
	if err := click(d.s.tab, ".btn_accept_all"); err != nil {
		return err
	}
	d.res.Arrivals[causeBatch] += len(all)
	return d.measure(causeBatch, all[0], before.At)
}

// auto switches 自动接入 on, has a fan wait, switches it off once the chat
// is in: the console keeps the open chat, and the agent clicks the new one.
func (d *day) auto() error {
	f, ok := d.newFan()
	if !ok {
		return nil
	}
	open, err := d.hookList("sessions")
	if err != nil {
		return err
	}
	if err := click(d.s.tab, ".auto_accept"); err != nil {
		return err
	}
	if err := waitJS(d.s.tab, 10*time.Second, "自动接入 on", `!!document.querySelector('.auto_accept_on')`); err != nil {
		return err
	}
	d.s.sim.AddWaiting(f)
	u := strconv.FormatInt(f.UIN, 10)
	if err := waitJS(d.s.tab, 20*time.Second, "the auto-accepted chat", `window.__mpkftest.sessions().includes(`+u+`) && window.__mpkftest.waiting().length === 0`); err != nil {
		return err
	}
	if err := click(d.s.tab, ".auto_accept"); err != nil {
		return err
	}
	if err := waitJS(d.s.tab, 10*time.Second, "自动接入 off", `!document.querySelector('.auto_accept_on')`); err != nil {
		return err
	}
	// Fans left waiting came in with f.
	now, err := d.hookList("sessions")
	if err != nil {
		return err
	}
	d.res.Arrivals[causeAuto] += len(now) - len(open)
	return d.clickChat(causeAuto, f.UIN)
}

// transfer has a colleague transfer a fan in; the console opens the chat.
func (d *day) transfer() error {
	f, ok := d.newFan()
	if !ok {
		return nil
	}
	before, err := selected(d.s.tab)
	if err != nil {
		return err
	}
	d.s.sim.TransferIn(f)
	d.res.Arrivals[causeTransfer]++
	return d.measure(causeTransfer, f.UIN, before.At)
}

// clickOther clicks an open chat other than the one on screen.
func (d *day) clickOther() error {
	open, err := d.hookList("sessions")
	if err != nil {
		return err
	}
	cur, err := selected(d.s.tab)
	if err != nil {
		return err
	}
	open = slices.DeleteFunc(open, func(u int64) bool { return u == cur.UIN })
	if len(open) == 0 {
		return nil
	}
	return d.clickChat(causeClick, open[d.rng.IntN(len(open))])
}

// clickChat clicks uin's card and waits on the chat.
func (d *day) clickChat(cause string, uin int64) error {
	sel, err := hookSelector(d.s.tab, "cardSelector", uin)
	if err != nil {
		return err
	}
	before, err := selected(d.s.tab)
	if err != nil {
		return err
	}
	if err := click(d.s.tab, sel); err != nil {
		return err
	}
	if before.UIN == uin {
		return nil
	}
	return d.measure(cause, uin, before.At)
}

// keyboard moves one to three chats up or down with the arrow keys, a
// key every 120 to 400 ms, and waits on where it stops; the chats passed
// through count for wrong customers but are not waited on.
func (d *day) keyboard() error {
	open, err := d.hookList("sessions")
	if err != nil {
		return err
	}
	cur, err := selected(d.s.tab)
	if err != nil {
		return err
	}
	i := slices.Index(open, cur.UIN)
	if i < 0 || len(open) < 2 {
		return nil
	}
	key, step := kb.ArrowDown, 1
	if i == len(open)-1 || (i > 0 && d.rng.IntN(2) == 0) {
		key, step = kb.ArrowUp, -1
	}
	n := 1 + d.rng.IntN(3)
	j := i
	for k := range n {
		if k > 0 {
			time.Sleep(time.Duration(120+d.rng.IntN(280)) * time.Millisecond)
		}
		if err := pressKey(d.s.tab, key); err != nil {
			return err
		}
		j = min(max(j+step, 0), len(open)-1)
	}
	if j == i {
		return nil
	}
	return d.measure(causeKeyboard, open[j], cur.At)
}

// closeCurrent ends the chat on screen (结束会话). The console opens the
// next one; half the time the agent clicks another chat right away.
func (d *day) closeCurrent() error {
	open, err := d.hookList("sessions")
	if err != nil {
		return err
	}
	cur, err := selected(d.s.tab)
	if err != nil {
		return err
	}
	i := slices.Index(open, cur.UIN)
	if i < 0 || len(open) < 2 {
		return nil
	}
	rest := slices.Delete(slices.Clone(open), i, i+1)
	next := rest[min(i, len(rest)-1)]
	if err := click(d.s.tab, ".btn_close_session"); err != nil {
		return err
	}
	if d.rng.IntN(2) == 0 {
		return d.measure(causeClose, next, cur.At)
	}
	sel, err := waitSelected(d.s.tab, next, cur.At)
	if err != nil {
		return err
	}
	others := slices.DeleteFunc(rest, func(u int64) bool { return u == next })
	if len(others) == 0 {
		return d.measure(causeClose, next, cur.At)
	}
	time.Sleep(time.Duration(200+d.rng.IntN(400)) * time.Millisecond)
	other := others[d.rng.IntN(len(others))]
	card, err := hookSelector(d.s.tab, "cardSelector", other)
	if err != nil {
		return err
	}
	if err := click(d.s.tab, card); err != nil {
		return err
	}
	return d.measure(causeCloseClick, other, sel.At)
}

// reload reloads the page: the console opens its first chat again, from
// its inline bootstrap, and the sidebar starts over.
func (d *day) reload() error {
	if err := d.drain(); err != nil {
		return err
	}
	if err := d.s.reload(); err != nil {
		return err
	}
	return d.measureCurrent(causeReload)
}

// measureCurrent waits on the chat open now.
func (d *day) measureCurrent(cause string) error {
	sel, err := selected(d.s.tab)
	if err != nil {
		return err
	}
	return d.measureAt(cause, sel)
}

// measure waits until the console has opened uin (after the epoch-ms time
// after), then on the sidebar.
func (d *day) measure(cause string, uin int64, after float64) error {
	sel, err := waitSelected(d.s.tab, uin, after)
	if err != nil {
		return err
	}
	return d.measureAt(cause, sel)
}

// measureAt waits for the sidebar to settle on the chat sel opened and
// records what it showed; when it asks, the harness picks the chat's user
// as an agent would.
func (d *day) measureAt(cause string, sel selection) error {
	st, err := settle(d.s.tab, sel.At, d.cfg.Quiet, d.cfg.SettleMax)
	if err != nil {
		return err
	}
	truth := d.c.openidOf(sel.UIN)
	o := opened{Cause: cause, UIN: sel.UIN, Kind: d.c.kind[sel.UIN], At: sel.At, View: st,
		Outcome: classify(st.sidebarView, truth), SettleMS: max(st.LastChange-sel.At, 0)}
	if st.TimedOut {
		o.SettleMS = st.T - sel.At
	}
	if o.Outcome == outAsked {
		o.Picked = d.pick(truth, st.Choices)
	}
	pl, err := take(d.s.tab)
	if err != nil {
		return err
	}
	o.Origin = pl.Origin
	d.keep(pl)
	d.res.Opened = append(d.res.Opened, o)
	d.log.Debug("opened", "cause", cause, "kind", o.Kind, "outcome", o.Outcome, "state", st.State, "identity", st.Identity, "settle_ms", int(o.SettleMS))
	return nil
}

// pick clicks the chooser's button for truth, as the agent who knows who
// they are talking to would, and checks that the sidebar then shows them.
func (d *day) pick(truth string, choices []string) string {
	if !slices.Contains(choices, truth) {
		return pickNotOffered
	}
	q := strconv.Quote(truth)
	if _, err := evalJS[bool](d.s.tab, 10*time.Second, `(() => { const b = document.getElementById('kfsidebar-root').shadowRoot.querySelector('button.choice[data-openid=' + JSON.stringify(`+q+`) + ']'); b.click(); return true; })()`); err != nil {
		return pickFailed
	}
	if err := waitJS(d.s.tab, 10*time.Second, "the picked customer", `(() => { const r = document.getElementById('kfsidebar-root'); return r.dataset.state === 'customer' && r.dataset.openid === `+q+`; })()`); err != nil {
		return pickFailed
	}
	return pickRight
}

// hookList reads window.__mpkftest.sessions() or waiting().
func (d *day) hookList(fn string) ([]int64, error) {
	return evalJS[[]int64](d.s.tab, 10*time.Second, `window.__mpkftest.`+fn+`()`)
}

// drain takes the page's log.
func (d *day) drain() error {
	pl, err := take(d.s.tab)
	if err != nil {
		return err
	}
	d.keep(pl)
	return nil
}

// keep adds a piece of a page's log to what is known of that page.
func (d *day) keep(pl pageLog) {
	for _, p := range d.logs {
		if p.Origin == pl.Origin {
			p.Records = append(p.Records, pl.Records...)
			p.End = pl.End
			return
		}
	}
	d.logs = append(d.logs, &pl)
}

// maxErrors is how many harness errors (timeouts, a click that missed)
// a day survives; each is reported.
const maxErrors = 20

// try records err, if any, and gets the world back to a known page by
// reloading it; after maxErrors it gives up.
func (d *day) try(err error) error {
	if err == nil || errors.Is(err, errTooManyErrors) {
		return err
	}
	d.fail(err)
	if len(d.res.Errors) > maxErrors {
		return errTooManyErrors
	}
	if err := d.drain(); err != nil {
		d.fail(err)
	}
	if err := d.s.reload(); err != nil {
		d.fail(err)
	}
	return nil
}

func (d *day) fail(err error) {
	d.log.Warn("harness error", "err", err)
	d.res.Errors = append(d.res.Errors, err.Error())
}

// logIncident logs a wrong customer with the page's log around it, in ms
// from when the chat was opened, for whoever debugs the sidebar.
func (d *day) logIncident(p *pageLog, in incident) {
	if !d.log.Enabled(context.Background(), slog.LevelDebug) {
		return
	}
	var around []string
	for _, r := range p.Records {
		if r.T < in.SelT-3000 || r.T > in.Start+in.Dur+1000 {
			continue
		}
		line := fmt.Sprintf("%+.0f %s uin=%d", r.T-in.SelT, r.K, r.UIN)
		if r.K == "sb" {
			line += fmt.Sprintf(" %s %s %s", r.State, d.c.describe(r.OpenID), r.Identity)
		}
		around = append(around, line)
	}
	d.log.Debug("wrong customer", "truth", in.Truth, "shown", d.c.describe(in.Shown), "stale", in.Stale,
		"from_ms", int(in.Start-in.SelT), "for_ms", int(in.Dur), "log", around)
}
