//go:build !unix && !windows

package main

import "os/exec"

// detach has nothing to do where there are no sessions or process groups.
func detach(*exec.Cmd) {}
