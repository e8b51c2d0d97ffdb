package proxy

import (
	"errors"
	"slices"
	"syscall"
)

// A blind tunnel holds tunnelDescriptors descriptors: the browser's socket
// and the upstream's. The copy between them never uses splice pipes (see
// tunnel.pipe), which would add four more, kept after the tunnel closes.
const tunnelDescriptors = 2

// reservedDescriptors are kept out of the tunnels' share besides the
// quarter left for the console and the sidebar: what every kfsidebar holds
// open whatever the traffic (listeners, the database with its journal and
// shared memory, the log file, the poller, the runtime's own).
const reservedDescriptors = 64

// maxTunnelsCeiling bounds the cap where the descriptor limit is huge (a
// million on many Linux desktops): each tunnel also costs two goroutines
// and a few kilobytes of buffers, and no browser opens anywhere near this
// many connections (Chromium at most 256 at once, Firefox 900 by default).
const maxTunnelsCeiling = 4096

// defaultMaxTunnels is the cap on concurrent blind tunnels for a process
// allowed limit descriptors: the tunnels may use three quarters of them,
// less the reserve, so that a quarter always stays free for the console,
// the sidebar and the status page.
func defaultMaxTunnels(limit int) int {
	n := (limit - limit/4 - reservedDescriptors) / tunnelDescriptors
	return min(max(n, 1), maxTunnelsCeiling)
}

// isDescriptorShortage reports whether err says the process or the system
// has no descriptor (socket handle) left.
func isDescriptorShortage(err error) bool {
	return err != nil && slices.ContainsFunc(shortageErrnos, func(e syscall.Errno) bool { return errors.Is(err, e) })
}
