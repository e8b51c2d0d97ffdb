package browsertest

import (
	"os/exec"
	"runtime"
	"strings"
	"testing"
)

// RequireCJKFont stops a test that writes screenshots for people to read
// when Linux has no font for Chinese: Chromium would draw every 客户 as
// boxes, and the pictures would be committed before anyone noticed.
// Windows and macOS always have one; where fontconfig's fc-list is
// missing, nothing can be checked and the test goes on.
func RequireCJKFont(tb testing.TB) {
	tb.Helper()
	if runtime.GOOS != "linux" {
		return
	}
	out, err := exec.Command("fc-list", ":lang=zh", "family").Output()
	if err != nil {
		tb.Logf("cannot check for a Chinese font (%v); screenshots may show boxes for Chinese text", err)
		return
	}
	if strings.TrimSpace(string(out)) == "" {
		tb.Fatal("no Chinese font: the screenshots would show boxes for 中文. Install one first (Debian: apt-get install fonts-wqy-microhei)")
	}
}
