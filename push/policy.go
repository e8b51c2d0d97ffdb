package push

import (
	"fmt"
	"strings"
	"time"

	"github.com/kfsidebar/kfsidebar/push/wire"
)

// Policy decides whether a user's message is transferred to the web
// console (transfer_customer_service) or answered "success" (left to the
// shop's bot, which gets it through a target). It must decide from the
// message and the time alone: it runs on the reply path, where no network
// call is allowed. Events never reach a Policy.
type Policy interface {
	Transfer(m *wire.Message, now time.Time) bool
}

// Always transfers every user message: the default, and what keeps the
// console working once push is on.
type Always struct{}

// Transfer returns true.
func (Always) Transfer(*wire.Message, time.Time) bool { return true }

// BusinessHours transfers during the shop's hours and answers "success"
// outside them, when the shop's bot takes over.
type BusinessHours struct {
	// Days are the open weekdays.
	Days [7]bool
	// Open and Close are the day's opening and closing times as offsets
	// from midnight; Close after Open.
	Open, Close time.Duration
	// Location is the shop's time zone; default Asia/Shanghai's fixed
	// UTC+8 (China has no daylight saving time).
	Location *time.Location
}

// Transfer reports whether now is within the hours.
func (b BusinessHours) Transfer(_ *wire.Message, now time.Time) bool {
	loc := b.Location
	if loc == nil {
		loc = chinaTime
	}
	t := now.In(loc)
	if !b.Days[t.Weekday()] {
		return false
	}
	d := time.Duration(t.Hour())*time.Hour + time.Duration(t.Minute())*time.Minute + time.Duration(t.Second())*time.Second
	return d >= b.Open && d < b.Close
}

var chinaTime = time.FixedZone("CST", 8*3600)

var weekdays = map[string]time.Weekday{"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday,
	"wed": time.Wednesday, "thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday}

// ParseBusinessHours reads the config form "mon-fri 09:00-18:00" (days as
// a range or a comma list, e.g. "mon,wed,sat 10:00-16:30"; "daily
// 09:00-21:00" for every day) in loc (nil: UTC+8).
func ParseBusinessHours(spec string, loc *time.Location) (BusinessHours, error) {
	bad := func(why string) (BusinessHours, error) {
		return BusinessHours{}, fmt.Errorf("%w %q: %s (want e.g. \"mon-fri 09:00-18:00\")", ErrPolicy, spec, why)
	}
	f := strings.Fields(strings.ToLower(spec))
	if len(f) != 2 {
		return bad("days and hours")
	}
	b := BusinessHours{Location: loc}
	for _, part := range strings.Split(f[0], ",") {
		if part == "daily" {
			b.Days = [7]bool{true, true, true, true, true, true, true}
			continue
		}
		from, to, isRange := strings.Cut(part, "-")
		d0, ok0 := weekdays[from]
		d1, ok1 := weekdays[to]
		if !isRange {
			d1, ok1 = d0, ok0
		}
		if !ok0 || !ok1 {
			return bad("unknown day " + part)
		}
		for d := d0; ; d = (d + 1) % 7 {
			b.Days[d] = true
			if d == d1 {
				break
			}
		}
	}
	open, close, ok := strings.Cut(f[1], "-")
	var err error
	if !ok {
		return bad("hours")
	}
	if b.Open, err = clock(open); err != nil {
		return bad(err.Error())
	}
	if b.Close, err = clock(close); err != nil {
		return bad(err.Error())
	}
	if b.Close <= b.Open {
		return bad("closing time not after opening time")
	}
	return b, nil
}

func clock(s string) (time.Duration, error) {
	t, err := time.Parse("15:04", s)
	if err != nil {
		if s == "24:00" {
			return 24 * time.Hour, nil
		}
		return 0, fmt.Errorf("time %q", s)
	}
	return time.Duration(t.Hour())*time.Hour + time.Duration(t.Minute())*time.Minute, nil
}
