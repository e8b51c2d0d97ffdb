package main

import (
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// fakeBrowserEnv makes this test binary a stand-in browser (TestMain calls
// fakeBrowserMain before anything else), so the tests of `open` and `demo
// --open` start a real process on every platform, Windows included, with
// no shell script:
//
//	record:FILE   write the arguments to FILE, one a line, and exit 0
//	fail          say "Missing X server or $DISPLAY" and exit 1
//	linger:FILE   write the arguments to FILE and stay, deaf to Ctrl+C (as
//	              a browser on Windows is: it gets no console signals),
//	              until killed or a minute has passed
const fakeBrowserEnv = "KFSIDEBAR_TEST_FAKE_BROWSER"

// fakeBrowserMain is the stand-in browser's main; it returns only when the
// test binary is not one.
func fakeBrowserMain() {
	mode, file, _ := strings.Cut(os.Getenv(fakeBrowserEnv), ":")
	if mode == "" {
		return
	}
	writeArgs := func() {
		if err := os.WriteFile(file+".tmp", []byte(strings.Join(os.Args[1:], "\n")+"\n"), 0o600); err == nil {
			os.Rename(file+".tmp", file)
		}
	}
	switch mode {
	case "record":
		writeArgs()
		os.Exit(0)
	case "fail":
		fmt.Fprintln(os.Stderr, "Missing X server or $DISPLAY")
		os.Exit(1)
	case "linger":
		signal.Ignore(os.Interrupt)
		writeArgs()
		time.Sleep(time.Minute)
		os.Exit(0)
	}
	fmt.Fprintln(os.Stderr, "fake browser: unknown mode", mode)
	os.Exit(2)
}

// useFakeBrowser makes this test binary the browser that open and demo
// --open start (KFSIDEBAR_CHROMIUM), in mode "record", "fail" or "linger",
// and returns the file the modes that write their arguments write them to.
func useFakeBrowser(t *testing.T, mode string) string {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	args := filepath.Join(t.TempDir(), "args")
	t.Setenv("KFSIDEBAR_CHROMIUM", self)
	t.Setenv(fakeBrowserEnv, mode+":"+args)
	return args
}
