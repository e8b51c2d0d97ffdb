package proxy

import (
	"context"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/kfsidebar/kfsidebar/internal/hostport"
)

// ParseDialOverride parses one --dial value "HOST:PORT=ADDR:PORT": connect to
// ADDR:PORT whenever HOST:PORT is asked for, keeping SNI and Host as HOST.
// Tests, the demo and staging setups use it.
func ParseDialOverride(s string) (from, to string, err error) {
	from, to, ok := strings.Cut(s, "=")
	if !ok {
		return "", "", fmt.Errorf("dial override %q: want HOST:PORT=ADDR:PORT", s)
	}
	for _, hp := range []string{from, to} {
		host, port, err := net.SplitHostPort(hp)
		if err != nil || host == "" || port == "" {
			return "", "", fmt.Errorf("dial override %q: %q is not HOST:PORT", s, hp)
		}
	}
	return canonicalHostPort(from), to, nil
}

func canonicalHostPort(hp string) string {
	host, port, err := net.SplitHostPort(hp)
	if err != nil {
		return hostport.Host(hp)
	}
	return net.JoinHostPort(hostport.Host(host), port)
}

// dialer dials upstream connections, applying the --dial overrides. It is
// shared by decrypted console traffic, blind tunnels and plain HTTP.
type dialer struct {
	net       net.Dialer
	overrides map[string]string // canonical "host:port" → "addr:port"
}

func newDialer(overrides map[string]string) *dialer {
	d := &dialer{
		// A console that does not answer within 10 s is down; the browser
		// gets a 502 rather than a hung tab.
		net:       net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second},
		overrides: make(map[string]string, len(overrides)),
	}
	for from, to := range overrides {
		d.overrides[canonicalHostPort(from)] = to
	}
	return d
}

// target returns the address really dialed for addr.
func (d *dialer) target(addr string) string {
	if to, ok := d.overrides[canonicalHostPort(addr)]; ok {
		return to
	}
	return addr
}

func (d *dialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	return d.net.DialContext(ctx, network, d.target(addr))
}
