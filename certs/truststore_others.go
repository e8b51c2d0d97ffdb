//go:build !linux && !darwin && !windows

package certs

import "path/filepath"

// On the BSDs Chrome and Chromium read an NSS database as on Linux.
const chromeUsesNSS = true

func firefoxProfileRoots(home string) []string {
	return []string{filepath.Join(home, ".mozilla", "firefox")}
}

// systemStore is unknown on this system; the stores that matter to
// browsers here are the NSS databases.
func systemStore() TrustStore {
	return unsupportedStore{
		name: "system store (not supported on this system)",
		how:  AddToSystem,
	}
}
