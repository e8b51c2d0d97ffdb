//go:build !linux && !darwin && !windows

package main

import "os"

// newSystemProxy: on the BSDs, as on Linux, GNOME's settings are the ones
// kfsidebar knows; other desktops are set by hand.
func newSystemProxy() (systemProxy, error) {
	return newGnomeProxy(os.Getenv("XDG_CURRENT_DESKTOP"))
}
