package msg

import (
	"regexp"
	"slices"
	"testing"
)

var verbRE = regexp.MustCompile(`%[-+# 0]*[0-9]*(?:\.[0-9]+)?[a-zA-Z%]`)

// TestCatalog: every message has both texts, and both take the same
// arguments in the same order.
func TestCatalog(t *testing.T) {
	if len(catalog) == 0 {
		t.Fatal("empty catalog")
	}
	for _, m := range catalog {
		if m.EN == "" || m.ZH == "" {
			t.Errorf("message without both texts: %q / %q", m.EN, m.ZH)
			continue
		}
		en, zh := verbRE.FindAllString(m.EN, -1), verbRE.FindAllString(m.ZH, -1)
		if !slices.Equal(en, zh) {
			t.Errorf("verbs differ: %v in %q, %v in %q", en, m.EN, zh, m.ZH)
		}
	}
}

func TestDetect(t *testing.T) {
	for _, tt := range []struct {
		env  map[string]string
		want Lang
	}{
		{map[string]string{"LANG": "zh_CN.UTF-8"}, Chinese},
		{map[string]string{"LANG": "en_US.UTF-8"}, English},
		{map[string]string{"LANG": "zh_CN.UTF-8", "LC_ALL": "C"}, English},
		{map[string]string{"LANG": "C", "LC_MESSAGES": "zh_TW.UTF-8"}, Chinese},
		{map[string]string{"LANG": "zh_CN.UTF-8", EnvLang: "en"}, English},
		{map[string]string{"LANG": "C", EnvLang: "zh"}, Chinese},
	} {
		for _, k := range []string{EnvLang, "LC_ALL", "LC_MESSAGES", "LANG"} {
			t.Setenv(k, tt.env[k])
		}
		if got := Detect(); got != tt.want {
			t.Errorf("%v: %v, want %v", tt.env, got, tt.want)
		}
	}
}

func TestPrinter(t *testing.T) {
	m := Text{EN: "%d chats", ZH: "%d 个会话"}
	if got := NewPrinter(Chinese).Sprintf(m, 3); got != "3 个会话" {
		t.Errorf("zh: %q", got)
	}
	if got := NewPrinter(English).Sprintf(m, 3); got != "3 chats" {
		t.Errorf("en: %q", got)
	}
}
