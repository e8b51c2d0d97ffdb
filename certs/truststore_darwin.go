//go:build darwin

package certs

import (
	"os"
	"path/filepath"
)

// Chrome and Edge on macOS use the keychain, and Firefox 120+ reads roots
// the user added there.
const chromeUsesNSS = false

// firefoxProfileRoots is where Firefox keeps profiles on macOS; they are
// changed only when NSS's certutil is installed (Homebrew: nss).
func firefoxProfileRoots(home string) []string {
	return []string{filepath.Join(home, "Library", "Application Support", "Firefox", "Profiles")}
}

func systemStore() TrustStore {
	home, err := os.UserHomeDir()
	if err != nil {
		return unsupportedStore{name: "macOS login keychain (no home directory)", how: TrustInKeychainAccess}
	}
	return newKeychainStore(home)
}
