// Package hostport normalizes host names the one way every kfsidebar
// package compares them: the proxy's console-host check, the CA's name
// constraints and the leaf cache must never disagree on what a host is.
package hostport

import (
	"net"
	"strings"
)

// Host returns hostport without a port, lower-cased and without a trailing
// dot, so "MPKF.weixin.qq.com.:443" and "mpkf.weixin.qq.com" compare equal.
// IPv6 literals lose their brackets.
func Host(hostport string) string {
	h := hostport
	if host, _, err := net.SplitHostPort(hostport); err == nil {
		h = host
	}
	return strings.TrimSuffix(strings.ToLower(strings.Trim(h, "[]")), ".")
}
