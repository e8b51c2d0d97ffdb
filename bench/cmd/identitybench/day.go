package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"time"

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
