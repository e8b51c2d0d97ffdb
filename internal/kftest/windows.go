package kftest

import (
	"os"
	"testing"
)

// WineThrowawayEnv is set to 1 by .ci/wine, which runs the Windows test
// binaries in a Wine prefix made for the run and deleted after it.
const WineThrowawayEnv = "KFSIDEBAR_TEST_WINE_PREFIX"

// RealWindowsSettings skips the test unless it may change the real
// per-user settings of the Windows it runs on (HKCU Internet Settings, the
// user's root store, the Run key): only under Wine, in .ci/wine's
// throw-away prefix. On a developer's real Windows such a test is always
// skipped; the tests that run there use a scratch registry key or a
// scratch directory instead.
func RealWindowsSettings(tb testing.TB) {
	tb.Helper()
	if !IsWine() {
		tb.Skip("changes this user's real Windows settings: runs only under Wine in .ci/wine's throw-away prefix")
	}
	if os.Getenv(WineThrowawayEnv) != "1" {
		tb.Skip("changes this user's Windows settings: runs only in a throw-away Wine prefix (" + WineThrowawayEnv + "=1, as .ci/wine sets)")
	}
}

// SkipOnWindows skips a test of a Unix-only behaviour (file modes, shell
// scripts standing in for tools, Linux's stores), saying which.
func SkipOnWindows(tb testing.TB, why string) {
	tb.Helper()
	if isWindows {
		tb.Skip("not on Windows: " + why)
	}
}
