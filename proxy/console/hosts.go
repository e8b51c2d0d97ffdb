package console

import (
	"maps"
	"slices"

	"github.com/kfsidebar/kfsidebar/internal/hostport"
)

// DefaultConsoleHost is the WeChat mini-program customer-service web console.
// It is the only host kfsidebar decrypts unless configured otherwise.
const DefaultConsoleHost = "mpkf.weixin.qq.com"

// ReservedPrefix is the path prefix on the console origin that kfsidebar
// answers itself (sidebar.js, the websocket, …). Requests under it are never
// forwarded upstream.
const ReservedPrefix = "/__kfsidebar/"

// HostSet is a set of host names matched case-insensitively, with or without
// a port.
type HostSet map[string]struct{}

// NewHostSet builds a HostSet from host names (ports are ignored).
func NewHostSet(hosts ...string) HostSet {
	s := make(HostSet, len(hosts))
	for _, h := range hosts {
		if h = hostport.Host(h); h != "" {
			s[h] = struct{}{}
		}
	}
	return s
}

// Contains reports whether hp ("host" or "host:port") names a host in the set.
func (s HostSet) Contains(hp string) bool {
	_, ok := s[hostport.Host(hp)]
	return ok
}

// Sorted returns the hosts in order, for pages and logs that list them.
func (s HostSet) Sorted() []string { return slices.Sorted(maps.Keys(s)) }

// PACProbeHost is a name that exists only inside kfsidebar's PAC file: the
// PAC sends it to the proxy, which answers it itself, and without the PAC
// it does not resolve at all (.invalid never does). The status page loads
// it to learn whether this browser really uses the PAC.
const PACProbeHost = "pac-probe.kfsidebar.invalid"
