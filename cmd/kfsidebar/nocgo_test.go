//go:build !cgo

package main

import (
	"strings"
	"testing"
)

// TestNoSQLiteSaysWhatToInstall: kfsidebar built without a C compiler
// (go build with CGO_ENABLED=0, as `go build` does quietly when it finds
// no gcc) says at once, in Chinese and English, what to install, instead
// of failing later with go-sqlite3's "This is a stub". CI runs it with
// CGO_ENABLED=0 (.ci/run).
func TestNoSQLiteSaysWhatToInstall(t *testing.T) {
	for _, args := range [][]string{
		{"run", "--data-dir", t.TempDir()},
		{"demo", "--data-dir", t.TempDir()},
		{"orders", "import", "--data-dir", t.TempDir(), "shop.json"},
	} {
		_, _, err := runCLI(t, args...)
		for _, want := range []string{"没有 C 编译器", "without a C compiler", "CGO_ENABLED=1", "release", "MinGW"} {
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("%v: error %v lacks %q", args, err, want)
			}
		}
	}
	out, _, err := runCLI(t, "version")
	if err != nil || !strings.Contains(out, "without a C compiler") {
		t.Errorf("version: %v\n%s", err, out)
	}
}
