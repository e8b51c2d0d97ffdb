package kftest

import "golang.org/x/sys/windows"

const isWindows = true

// IsWine reports whether this Windows is Wine: its ntdll exports
// wine_get_version, which Microsoft's does not.
func IsWine() bool {
	return windows.NewLazySystemDLL("ntdll.dll").NewProc("wine_get_version").Find() == nil
}
