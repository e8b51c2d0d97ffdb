package certs

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/kfsidebar/kfsidebar/internal/hostport"
)

// normalizeHosts turns Options.Hosts into the permitted DNS domains of a
// name constraint: normalized, deduplicated (first occurrence wins, order
// kept) and each a plain DNS name.
func normalizeHosts(raw []string) ([]string, error) {
	if len(raw) == 0 {
		return nil, ErrNoHosts
	}
	seen := make(map[string]bool, len(raw))
	hosts := make([]string, 0, len(raw))
	for _, r := range raw {
		h := hostport.Host(r)
		if err := checkDNSName(h); err != nil {
			return nil, fmt.Errorf("host %q: %w", r, err)
		}
		if !seen[h] {
			seen[h] = true
			hosts = append(hosts, h)
		}
	}
	return hosts, nil
}

// checkDNSName accepts a normalized host that can stand in a DNS name
// constraint and a leaf's DNS SAN: ASCII letters, digits, '-' and '_' in
// non-empty labels of at most 63 characters. Internationalized names must be
// given in their xn-- form.
func checkDNSName(h string) error {
	if h == "" {
		return fmt.Errorf("%w: empty", ErrInvalidHost)
	}
	if _, err := netip.ParseAddr(strings.Trim(h, "[]")); err == nil {
		return fmt.Errorf("%w: an IP address, want a DNS name", ErrInvalidHost)
	}
	if len(h) > 253 {
		return fmt.Errorf("%w: longer than 253 characters", ErrInvalidHost)
	}
	for _, label := range strings.Split(h, ".") {
		if label == "" || len(label) > 63 {
			return fmt.Errorf("%w: not a DNS name", ErrInvalidHost)
		}
		for _, c := range label {
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return fmt.Errorf("%w: character %q in a DNS name (use the xn-- form for international names)", ErrInvalidHost, c)
			}
		}
	}
	return nil
}
