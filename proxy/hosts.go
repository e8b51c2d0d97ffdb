package proxy

import (
	"net"
	"strings"
)

// DefaultConsoleHost is the WeChat mini-program customer-service web console.
// It is the only host kfsidebar decrypts unless configured otherwise.
const DefaultConsoleHost = "mpkf.weixin.qq.com"

// ReservedPrefix is the path prefix on the console origin that kfsidebar
// answers itself (sidebar.js, the websocket, …). Requests under it are never
// forwarded upstream.
const ReservedPrefix = "/__kfsidebar/"

// HostOnly returns host without a port, lower-cased and without a trailing
// dot, so "MPKF.weixin.qq.com.:443" and "mpkf.weixin.qq.com" compare equal.
func HostOnly(hostport string) string {
	h := hostport
	if host, _, err := net.SplitHostPort(hostport); err == nil {
		h = host
	}
	return strings.TrimSuffix(strings.ToLower(h), ".")
}

// HostSet is a set of host names matched case-insensitively, with or without
// a port.
type HostSet map[string]struct{}

// NewHostSet builds a HostSet from host names (ports are ignored).
func NewHostSet(hosts ...string) HostSet {
	s := make(HostSet, len(hosts))
	for _, h := range hosts {
		if h = HostOnly(h); h != "" {
			s[h] = struct{}{}
		}
	}
	return s
}

// Contains reports whether hostport names a host in the set.
func (s HostSet) Contains(hostport string) bool {
	_, ok := s[HostOnly(hostport)]
	return ok
}
