//go:build !unix && !windows

package browser

import "os/exec"

// detach has nothing to do where there are no sessions or process groups.
func detach(*exec.Cmd) {}
