//go:build windows

package browser

import (
	"os/exec"
	"syscall"
)

// detach starts the browser in a process group of its own, so Ctrl+C in
// the console window `kfsidebar open` ran in does not reach it.
func detach(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{CreationFlags: syscall.CREATE_NEW_PROCESS_GROUP}
}
