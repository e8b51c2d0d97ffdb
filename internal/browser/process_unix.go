//go:build unix

package browser

import (
	"os"
	"os/exec"
	"syscall"
)

// detach starts the browser in a session of its own, so closing the
// terminal `kfsidebar open` ran in does not close the agent's browser.
func detach(cmd *exec.Cmd) { cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true} }

// askToQuit asks the browser to quit as Ctrl+C would.
func askToQuit(p *os.Process) error { return p.Signal(os.Interrupt) }
