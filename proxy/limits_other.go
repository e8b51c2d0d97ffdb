//go:build !(darwin || dragonfly || freebsd || linux || netbsd || openbsd)

package proxy

import "syscall"

// descriptorLimit stands in for RLIMIT_NOFILE where there is none
// (Windows): sockets are handles, limited by memory, and what runs out
// first is the dynamic port range, 16,384 ports by default (49152–65535),
// one per upstream connection. ok is false: the figure is a budget, not
// the system's limit.
func descriptorLimit() (n int, ok bool) { return fallbackDescriptorLimit, false }

const fallbackDescriptorLimit = 16384

// shortageErrnos are Winsock's "too many open sockets" (WSAEMFILE) and "no
// buffer space" (WSAENOBUFS, what running out of ports or socket memory
// gives), besides the POSIX values.
var shortageErrnos = []syscall.Errno{syscall.EMFILE, syscall.ENFILE, syscall.Errno(10024), syscall.Errno(10055)}
