//go:build linux

package main

import "os"

// newSystemProxy returns the desktop's proxy settings: GNOME and the
// desktops built on its settings. Others are set by hand.
func newSystemProxy() (systemProxy, error) {
	return newGnomeProxy(os.Getenv("XDG_CURRENT_DESKTOP"))
}
