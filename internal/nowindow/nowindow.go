// Package nowindow starts kfsidebar's child processes (the proxy under the
// tray, certutil, gsettings, the browser, the opener of the status page)
// without a console window: on Windows a console program started by a
// program that has no console of its own (the tray, kfsidebarw.exe) gets a
// new console window that flashes up, unless it is created with
// CREATE_NO_WINDOW. Elsewhere there is nothing to hide.
package nowindow

import "os/exec"

// Apply makes cmd start without a console window. It keeps whatever else
// cmd.SysProcAttr asks for (a process group, a session), so call it after
// setting those. It never hides a program's own windows: a browser
// started this way shows its window as usual.
func Apply(cmd *exec.Cmd) { apply(cmd) }
