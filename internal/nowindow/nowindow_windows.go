package nowindow

import (
	"os/exec"
	"syscall"
)

// createNoWindow is CREATE_NO_WINDOW: the process runs without a console
// window (it still has a console: its output can be redirected).
const createNoWindow = 0x08000000

func apply(cmd *exec.Cmd) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.CreationFlags |= createNoWindow
}
