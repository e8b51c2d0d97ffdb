//go:build windows

package browser

import (
	"errors"
	"os"
	"os/exec"
	"syscall"
	"unsafe"

	"golang.org/x/sys/windows"
)

// detach starts the browser in a process group of its own, so Ctrl+C in
// the console window `kfsidebar open` ran in does not reach it.
func detach(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{CreationFlags: syscall.CREATE_NEW_PROCESS_GROUP}
}

var procPostMessage = windows.NewLazySystemDLL("user32.dll").NewProc("PostMessageW")

// askToQuit closes the browser's windows, as clicking their X would: on
// Windows a program gets no Ctrl+C from another (Process.Signal with
// os.Interrupt is unsupported), and a GUI program none at all. It fails
// when the process has no window to close.
func askToQuit(p *os.Process) error {
	const wmClose = 0x0010
	posted := 0
	cb := syscall.NewCallback(func(hwnd windows.HWND, _ uintptr) uintptr {
		var pid uint32
		if _, err := windows.GetWindowThreadProcessId(hwnd, &pid); err == nil && int(pid) == p.Pid {
			if r, _, _ := procPostMessage.Call(uintptr(hwnd), wmClose, 0, 0); r != 0 {
				posted++
			}
		}
		return 1 // go on
	})
	if err := windows.EnumWindows(cb, unsafe.Pointer(nil)); err != nil {
		return err
	}
	if posted == 0 {
		return errors.New("no window to close")
	}
	return nil
}
