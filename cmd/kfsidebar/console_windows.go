package main

import (
	"unsafe"

	"golang.org/x/sys/windows"
)

var procGetConsoleProcessList = windows.NewLazySystemDLL("kernel32.dll").NewProc("GetConsoleProcessList")

// consoleAlone reports whether this process is alone in its console
// window: Windows made the console for it, as when kfsidebar.exe is
// double-clicked in Explorer. Started from cmd.exe or PowerShell, the
// shell shares the console. Standard input must be that console too (not
// a pipe or a file), or nobody could press Enter.
func consoleAlone() bool {
	var mode uint32
	if windows.GetConsoleMode(windows.Handle(windows.Stdin), &mode) != nil {
		return false
	}
	pids := make([]uint32, 4)
	n, _, _ := procGetConsoleProcessList.Call(uintptr(unsafe.Pointer(&pids[0])), uintptr(len(pids)))
	return n == 1
}
