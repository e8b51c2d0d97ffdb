//go:build windows

package certs

import (
	"context"
	"errors"
	"testing"

	"github.com/kfsidebar/kfsidebar/internal/kftest"
)

// TestWindowsRootStore installs a CA into the user's real root store,
// checks it, and removes it: only in .ci/wine's throw-away prefix (on a
// real Windows, Windows asks the user to confirm each change). Under Wine
// 8 the delete may not take; then Uninstall must end, quickly, naming what
// is left, instead of looping for ever as it did.
func TestWindowsRootStore(t *testing.T) {
	kftest.RealWindowsSettings(t)
	ctx := context.Background()
	ca, other := realCA(t), realCA(t)
	s := systemStore()
	if r := InstallTrust(ctx, ca, writeCA(t, ca), []TrustStore{s})[0]; r.Err != nil || !r.Trusted || !r.Changed {
		t.Fatalf("install: %+v", r)
	}
	// Another root, added without verifying: Wine's chain engine reads
	// the store once per process, and would not see a second root trusted.
	if err := s.Install(ctx, other, ""); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Uninstall(ctx, other) })
	if r := InstallTrust(ctx, ca, writeCA(t, ca), []TrustStore{s})[0]; r.Err != nil || !r.Trusted || r.Changed {
		t.Fatalf("install again: %+v", r)
	}
	r := UninstallTrust(ctx, ca, []TrustStore{s})[0]
	switch {
	case r.Err == nil:
		if r.Trusted || !r.Changed {
			t.Fatalf("uninstall: %+v", r)
		}
	case errors.Is(r.Err, ErrStillInStore) && kftest.IsWine():
		t.Logf("Wine kept the certificate, and uninstall said so: %v", r.Err)
	default:
		t.Fatalf("uninstall: %+v", r)
	}
	if n, err := (windowsRootStore{}).count(other); n != 1 || err != nil {
		t.Errorf("the other CA: %d copies, %v; want it left alone", n, err)
	}
}
