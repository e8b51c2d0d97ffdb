package main

import (
	"runtime"
	"strings"
)

// shellQuote quotes s for the command line printed to the user.
func shellQuote(s string) string {
	if s != "" && !strings.ContainsAny(s, " \t'\"$&;|<>()*?![]{}`\\#~") {
		return s
	}
	if runtime.GOOS == "windows" {
		return `"` + strings.ReplaceAll(s, `"`, `\"`) + `"`
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
