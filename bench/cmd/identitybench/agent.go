package main

import (
	"errors"
	"slices"
	"strconv"
	"time"

	"github.com/chromedp/chromedp/kb"

	"github.com/kfsidebar/kfsidebar/proxy/mpkftest"
)

// What the agent does during the day: the ways a chat arrives and is
// opened, and picking a candidate when the sidebar asks.

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
