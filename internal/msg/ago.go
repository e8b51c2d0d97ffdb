package msg

import (
	"fmt"
	"time"
)

// Ago says how long ago, in both languages, as the bilingual status pages
// (the workstation's and the gateway's) show it at a glance.
func Ago(d time.Duration) string {
	switch {
	case d < time.Minute:
		return "刚刚 just now"
	case d < time.Hour:
		return fmt.Sprintf("%d 分钟前 min ago", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%d 小时前 h ago", int(d.Hours()))
	}
	return fmt.Sprintf("%d 天前 days ago", int(d.Hours()/24))
}
