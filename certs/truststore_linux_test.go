package certs

import (
	"os"
	"path/filepath"
	"testing"
)

// TestLinuxSystemStoreFoundOffPATH: a normal user's PATH often lacks
// /usr/sbin, where update-ca-certificates lives; the system store is
// still found, so that `ca install` says it needs root rather than "not
// supported here".
func TestLinuxSystemStoreFoundOffPATH(t *testing.T) {
	tool := ""
	for _, d := range sbinDirs {
		if _, err := os.Stat(filepath.Join(d, "update-ca-certificates")); err == nil {
			tool = filepath.Join(d, "update-ca-certificates")
			break
		}
	}
	if tool == "" {
		t.Skip("update-ca-certificates is not installed (Debian's ca-certificates package)")
	}
	t.Setenv("PATH", t.TempDir())
	s, ok := systemStore().(*anchorStore)
	if !ok {
		t.Fatalf("system store %q with sbin off PATH; want the anchors store", systemStore().Name())
	}
	if s.update[0] != tool {
		t.Errorf("update tool %q, want %q", s.update[0], tool)
	}
}
