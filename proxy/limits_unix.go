//go:build darwin || dragonfly || freebsd || linux || netbsd || openbsd

package proxy

import (
	"math"
	"syscall"
)

// descriptorLimit is the process's limit on open descriptors
// (RLIMIT_NOFILE's soft limit, which Go raises to the hard limit at start).
// ok is false when the limit cannot be read; n is then a guess.
func descriptorLimit() (n int, ok bool) {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return fallbackDescriptorLimit, false
	}
	if rl.Cur > math.MaxInt32 { // RLIM_INFINITY
		return math.MaxInt32, true
	}
	return int(rl.Cur), true
}

// fallbackDescriptorLimit is the limit assumed when getrlimit fails: the
// usual soft limit of a desktop session.
const fallbackDescriptorLimit = 1024

var shortageErrnos = []syscall.Errno{syscall.EMFILE, syscall.ENFILE}
