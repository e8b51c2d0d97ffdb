package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// The first run of a new user, as issues 13 and 16 found it: each test
// here failed before its fix.

// TestSetupCommandsNameTheListenAddress: run on another port than 8787
// (or with another data directory) prints next steps, doctor prints fixes
// and the status page shows commands that reach that kfsidebar, not one
// on the defaults.
func TestSetupCommandsNameTheListenAddress(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	k := startRun(t, dir)
	flags := " --data-dir " + shellQuote(dir) + " --listen " + k.addr
	for _, want := range []string{
		"kfsidebar ca install --data-dir " + shellQuote(dir) + " ",
		"kfsidebar proxy on" + flags,
		"kfsidebar open" + flags,
		"kfsidebar doctor" + flags,
	} {
		if !strings.Contains(k.stdout, want) {
			t.Errorf("banner lacks %q:\n%s", want, k.stdout)
		}
	}
	out, _, _ := runCLI(t, append([]string{"doctor", "--data-dir", dir, "--listen", k.addr}, k.console...)...)
	if !strings.Contains(out, "fix: kfsidebar ca install --data-dir "+shellQuote(dir)) {
		t.Errorf("doctor's fixes lack the data directory:\n%s", out)
	}
	if strings.Contains(out, "kfsidebar proxy on") && !strings.Contains(out, "kfsidebar proxy on"+flags) {
		t.Errorf("doctor's fixes say proxy on without --listen:\n%s", out)
	}
	page := getLocal(t, k.addr, "/")
	if !strings.Contains(page, "kfsidebar proxy on"+strings.ReplaceAll(flags, "'", "&#39;")) {
		t.Errorf("status page's proxy on lacks %q", flags)
	}

	def := DefaultConfig()
	if got := setupCommand("proxy on", def.Listen, def.DataDir); got != "kfsidebar proxy on" {
		t.Errorf("at the defaults: %q, want plain kfsidebar proxy on", got)
	}
	if got := setupCommand("proxy on", "0.0.0.0:8787", def.DataDir); got != "kfsidebar proxy on" {
		t.Errorf("on every interface at 8787: %q, want plain kfsidebar proxy on", got)
	}
}
