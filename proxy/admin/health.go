package admin

import (
	"fmt"
	"strings"
	"time"

	"github.com/kfsidebar/kfsidebar/internal/msg"
)

// StorageHealth is whether the chats learned are being saved, for the
// status page and `kfsidebar doctor`: when the chat map's SQLite writes
// fail (a full disk, a locked or read-only file), chats are kept in memory
// only and a restart forgets them. It clears by itself once a write works.
type StorageHealth struct {
	OK bool `json:"ok"`
	// Error is the last write's error, "" when OK.
	Error string `json:"error"`
	// Since is when writes started failing; absent when OK.
	Since time.Time `json:"since,omitzero"`
}

// TunnelHealth is the blind tunnels (every CONNECT to a host that is not
// decrypted) against their cap.
type TunnelHealth struct {
	// OK is false while a tunnel was refused at the cap less than a minute
	// ago; it clears by itself.
	OK   bool `json:"ok"`
	Open int  `json:"open"`
	Max  int  `json:"max"`
	// Refused counts the CONNECTs refused at the cap since the start.
	Refused int64 `json:"refused"`
	// IdleTimeout closes a tunnel that carries nothing ("15m0s").
	IdleTimeout string `json:"idle_timeout"`
	// LastRefused is when a tunnel was last refused, if ever.
	LastRefused time.Time `json:"last_refused,omitzero"`
}

// DescriptorHealth is the process's open descriptors against its limit.
type DescriptorHealth struct {
	// OK is false while descriptors ran short (an accept or a dial failed
	// for want of one) less than a minute ago; it clears by itself.
	OK bool `json:"ok"`
	// Open is how many are open now; absent where it cannot be told (only
	// Linux lists them).
	Open int `json:"open,omitempty"`
	// Limit is the process's limit (RLIMIT_NOFILE), or where there is none
	// (Windows) the budget the tunnel cap was derived from.
	Limit int `json:"limit"`
	// LastShortage is when they last ran short, if ever.
	LastShortage time.Time `json:"last_shortage,omitzero"`
}

// ProxyHealth is the proxy's connections against its limits.
type ProxyHealth struct {
	Tunnels     TunnelHealth
	Descriptors DescriptorHealth
}

// healthView is the status page's rows for storage, tunnels and
// descriptors: each a class (ok, warn, bad), a text and a detail.
type healthView struct {
	Class, Text, Detail string
}

// storageText is what the status page says when chats are not saved: the
// agent reads it, so a full disk is said in words, and anything else with
// the real cause.
func storageText(s StorageHealth) string {
	if s.OK {
		return "✔ 正常 saved"
	}
	if diskFull(s.Error) {
		return "对话没有保存：磁盘已满"
	}
	return "对话没有保存：" + s.Error
}

// diskFull reports whether a store error says the disk is full: SQLite's
// SQLITE_FULL, or the system's ENOSPC.
func diskFull(err string) bool {
	e := strings.ToLower(err)
	return strings.Contains(e, "disk is full") || strings.Contains(e, "no space left")
}

func newStorageView(s *StorageHealth, now time.Time) *healthView {
	if s == nil {
		return nil
	}
	v := &healthView{Class: "ok", Text: storageText(*s)}
	if !s.OK {
		v.Class, v.Text = "bad", "✘ "+v.Text
		v.Detail = "新会话只记在内存里，重启后会忘记；能写入时自动恢复。 Chats are kept in memory only and a restart forgets them; this clears by itself once writes work."
		if !s.Since.IsZero() {
			v.Detail = "自 " + s.Since.Local().Format("2006-01-02 15:04:05") + " (" + msg.Ago(now.Sub(s.Since)) + ") 起。 " + v.Detail
		}
		if diskFull(s.Error) {
			v.Detail += " (" + s.Error + ")"
		}
	}
	return v
}

func newTunnelView(t *TunnelHealth, now time.Time) *healthView {
	if t == nil {
		return nil
	}
	v := &healthView{Class: "ok", Text: fmt.Sprintf("%d / %d", t.Open, t.Max)}
	switch {
	case !t.OK:
		v.Class = "warn"
		v.Text += " ⚠ 正在拒绝新的连接 refusing new ones"
	case t.Open >= t.Max:
		v.Class = "warn"
		v.Text += " 已满 full"
	}
	v.Detail = "空闲 " + t.IdleTimeout + " 后关闭 closed after " + t.IdleTimeout + " idle"
	if t.Refused > 0 {
		v.Detail += fmt.Sprintf("; 已拒绝 %d 个 refused %d at the cap", t.Refused, t.Refused)
		if !t.LastRefused.IsZero() {
			v.Detail += ", 上次 last " + t.LastRefused.Local().Format("15:04:05") + " (" + msg.Ago(now.Sub(t.LastRefused)) + ")"
		}
	}
	return v
}

func newDescriptorView(d *DescriptorHealth, now time.Time) *healthView {
	if d == nil {
		return nil
	}
	open := "?"
	if d.Open > 0 {
		open = fmt.Sprint(d.Open)
	}
	v := &healthView{Class: "ok", Text: "✔ " + open + " / " + fmt.Sprint(d.Limit)}
	if !d.OK {
		v.Class, v.Text = "bad", "✘ 不够用 running short: "+open+" / "+fmt.Sprint(d.Limit)
	}
	if !d.LastShortage.IsZero() {
		v.Detail = "上次不够用 last short " + d.LastShortage.Local().Format("15:04:05") + " (" + msg.Ago(now.Sub(d.LastShortage)) + ")"
	}
	return v
}
