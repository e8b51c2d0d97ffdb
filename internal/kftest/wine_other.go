//go:build !windows

package kftest

const isWindows = false

// IsWine is false: Wine runs Windows programs only.
func IsWine() bool { return false }
