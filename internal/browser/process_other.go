//go:build !unix && !windows

package browser

import (
	"os"
	"os/exec"
)

// detach has nothing to do where there are no sessions or process groups.
func detach(*exec.Cmd) {}

// askToQuit asks the browser to quit as Ctrl+C would.
func askToQuit(p *os.Process) error { return p.Signal(os.Interrupt) }
