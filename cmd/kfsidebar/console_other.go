//go:build !windows

package main

// consoleAlone is false: only Windows starts a command-line program in a
// window of its own when it is double-clicked.
func consoleAlone() bool { return false }
