//go:build !windows

package tray

// icon is the state's PNG.
func icon(s State) []byte { return pngIcon(s) }

// cleanup: the tray library leaves no files here.
func cleanup() {}
