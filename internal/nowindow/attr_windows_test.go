package nowindow

import "syscall"

func keepMe() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{CreationFlags: syscall.CREATE_NEW_PROCESS_GROUP}
}

func keptAndHidden(a *syscall.SysProcAttr) bool {
	return a.CreationFlags&syscall.CREATE_NEW_PROCESS_GROUP != 0 && a.CreationFlags&createNoWindow != 0
}
