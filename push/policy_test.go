package push_test

import (
	"errors"
	"testing"
	"time"

	"github.com/kfsidebar/kfsidebar/push"
)

func TestParseBusinessHours(t *testing.T) {
	cst := time.FixedZone("CST", 8*3600)
	at := func(day, hour, min int) time.Time { return time.Date(2024, 5, day, hour, min, 0, 0, cst) } // May 6 2024 is a Monday
	tests := []struct {
		spec string
		at   time.Time
		want bool
	}{
		{"mon-fri 09:00-18:00", at(6, 9, 0), true},
		{"mon-fri 09:00-18:00", at(6, 8, 59), false},
		{"mon-fri 09:00-18:00", at(6, 18, 0), false},
		{"mon-fri 09:00-18:00", at(11, 12, 0), false}, // Saturday
		{"mon,wed,sat 10:00-16:30", at(11, 16, 29), true},
		{"mon,wed,sat 10:00-16:30", at(7, 12, 0), false}, // Tuesday
		{"fri-mon 00:00-24:00", at(12, 23, 59), true},    // Sunday, in a range across the week's end
		{"daily 09:00-21:00", at(12, 20, 0), true},
		{"daily 09:00-21:00", at(12, 1, 0).UTC(), false}, // the time zone is the shop's, not the clock's
	}
	for _, tt := range tests {
		b, err := push.ParseBusinessHours(tt.spec, nil)
		if err != nil {
			t.Fatalf("%q: %v", tt.spec, err)
		}
		if got := b.Transfer(nil, tt.at); got != tt.want {
			t.Errorf("%q at %v = %t, want %t", tt.spec, tt.at, got, tt.want)
		}
	}
	for _, bad := range []string{"", "weekdays 9-5", "mon-fri", "mon-fri 18:00-09:00", "mon-fry 09:00-18:00"} {
		if _, err := push.ParseBusinessHours(bad, nil); !errors.Is(err, push.ErrPolicy) {
			t.Errorf("%q: %v, want ErrPolicy", bad, err)
		}
	}
}
