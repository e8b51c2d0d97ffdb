// Package msg is kfsidebar's message catalog: what the setup commands
// (ca, proxy, doctor, autostart, setup, uninstall, run's banner) and the
// tray say to a person, each message in English and in Chinese, and the
// language of the user (Detect). The agent's own pages (the sidebar, the
// status page, the console's error page) are bilingual on their own.
//
// A message is a Text in the catalog files (one per command), written
// with fmt verbs; a command prints it with a Printer in the user's
// language:
//
//	p := msg.NewPrinter(msg.Detect())
//	p.Printf(out, msg.ProxyAlready, name, url)
//
// Both texts of a message take the same arguments in the same order
// (TestCatalog checks the verbs), so a translation can never print the
// wrong value.
package msg

import (
	"fmt"
	"io"
	"os"
	"strings"
)

// Lang is a language kfsidebar speaks.
type Lang int

const (
	// English is the default for every language but Chinese.
	English Lang = iota
	// Chinese is Simplified Chinese, for zh_CN, zh_SG and also zh_TW and
	// zh_HK (better than English for every Chinese reader).
	Chinese
)

func (l Lang) String() string {
	if l == Chinese {
		return "zh"
	}
	return "en"
}

// Text is one message of the catalog.
type Text struct {
	EN, ZH string
}

// In is the message in l.
func (t Text) In(l Lang) string {
	if l == Chinese && t.ZH != "" {
		return t.ZH
	}
	return t.EN
}

// Printer writes catalog messages in one language.
type Printer struct {
	Lang Lang
}

// NewPrinter returns a Printer for l.
func NewPrinter(l Lang) Printer { return Printer{Lang: l} }

// Sprintf formats t in the printer's language.
func (p Printer) Sprintf(t Text, args ...any) string { return fmt.Sprintf(t.In(p.Lang), args...) }

// Printf writes t, formatted, to w.
func (p Printer) Printf(w io.Writer, t Text, args ...any) { fmt.Fprintf(w, t.In(p.Lang), args...) }

// Errorf is an error whose message is t, formatted; %w wraps as with
// fmt.Errorf.
func (p Printer) Errorf(t Text, args ...any) error { return fmt.Errorf(t.In(p.Lang), args...) }

// EnvLang overrides the detected language: "zh" or "en" (tests, and a
// user who wants the other one).
const EnvLang = "KFSIDEBAR_LANG"

// Detect returns the user's language: $KFSIDEBAR_LANG when set; else, on
// Unix, the locale's (LC_ALL, then LC_MESSAGES, then LANG, as POSIX
// orders them); on Windows the user's display language; on macOS, when
// the environment names no locale (a LaunchAgent's), the first of the
// user's preferred languages.
func Detect() Lang {
	if l, ok := parse(os.Getenv(EnvLang)); ok {
		return l
	}
	for _, v := range []string{"LC_ALL", "LC_MESSAGES", "LANG"} {
		if l, ok := parse(os.Getenv(v)); ok {
			return l
		}
	}
	return systemLang()
}

// parse reads a locale name (zh_CN.UTF-8, en_US, C, zh-Hans): ok is
// false for "" only.
func parse(v string) (Lang, bool) {
	v = strings.ToLower(strings.TrimSpace(v))
	switch {
	case v == "":
		return English, false
	case strings.HasPrefix(v, "zh"):
		return Chinese, true
	}
	return English, true
}
