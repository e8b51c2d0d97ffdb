package msg

import (
	"os/exec"
	"strings"
)

// systemLang is the first of the user's preferred languages (System
// Settings → General → Language & Region), for a program started without
// a locale in its environment (a LaunchAgent).
func systemLang() Lang {
	out, err := exec.Command("defaults", "read", "-g", "AppleLanguages").Output()
	if err != nil {
		return English
	}
	// ( "zh-Hans-CN", "en-CN" )
	for _, f := range strings.FieldsFunc(string(out), func(r rune) bool { return strings.ContainsRune("()\", \n\t", r) }) {
		l, _ := parse(f)
		return l
	}
	return English
}
