package msg

import (
	"testing"
	"time"
)

func TestAgo(t *testing.T) {
	for d, want := range map[time.Duration]string{
		30 * time.Second: "刚刚 just now",
		5 * time.Minute:  "5 分钟前 min ago",
		3 * time.Hour:    "3 小时前 h ago",
		72 * time.Hour:   "3 天前 days ago",
	} {
		if got := Ago(d); got != want {
			t.Errorf("Ago(%v) = %q, want %q", d, got, want)
		}
	}
}
