//go:build unix

package nowindow

import "syscall"

func keepMe() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }

func keptAndHidden(a *syscall.SysProcAttr) bool { return a.Setpgid }
