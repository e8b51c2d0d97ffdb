package sysproxy

import (
	"context"
	"fmt"
	"net"
	"strings"
)

// macProxy is the macOS proxy settings, per network service (Wi-Fi,
// Ethernet, …), changed with networksetup. Every enabled service is set,
// so the PAC stays in force when the Mac moves from cable to Wi-Fi.
type macProxy struct {
	run func(ctx context.Context, name string, args ...string) ([]byte, error)
}

func (m *macProxy) Name() string { return "macOS proxy settings" }

func (m *macProxy) networksetup(ctx context.Context, args ...string) (string, error) {
	out, err := m.run(ctx, "networksetup", args...)
	if err != nil {
		return "", fmt.Errorf("networksetup %s: %w", strings.Join(args, " "), err)
	}
	return string(out), nil
}

// services lists the enabled network services; disabled ones are marked
// with a leading '*', after a first line explaining that.
func (m *macProxy) services(ctx context.Context) ([]string, error) {
	out, err := m.networksetup(ctx, "-listallnetworkservices")
	if err != nil {
		return nil, err
	}
	var services []string
	for i, line := range strings.Split(out, "\n") {
		line = strings.TrimSpace(line)
		if i == 0 && strings.Contains(line, "asterisk") || line == "" || strings.HasPrefix(line, "*") {
			continue
		}
		services = append(services, line)
	}
	if len(services) == 0 {
		return nil, &UnsupportedError{Why: NoNetworkService}
	}
	return services, nil
}

// fields reads networksetup's "Key: value" lines.
func fields(out string) map[string]string {
	m := map[string]string{}
	for _, line := range strings.Split(out, "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok {
			m[strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
	}
	return m
}

func (m *macProxy) Get(ctx context.Context) (Setting, error) {
	services, err := m.services(ctx)
	if err != nil {
		return Setting{}, err
	}
	p := Setting{Saved: map[string]string{}}
	for i, s := range services {
		out, err := m.networksetup(ctx, "-getautoproxyurl", s)
		if err != nil {
			return Setting{}, err
		}
		f := fields(out)
		u, on := f["URL"], f["Enabled"] == "Yes"
		if u == "(null)" {
			u = ""
		}
		p.Saved[s+"\x00url"] = u
		p.Saved[s+"\x00enabled"] = f["Enabled"]
		pac := ""
		if on {
			pac = u
		}
		// The first (primary) service speaks for the machine; a PAC on
		// another one also counts as "already set".
		if i == 0 || (p.PACURL == "" && pac != "") {
			p.PACURL = pac
		}
		if p.Proxy == "" {
			for _, get := range []string{"-getsecurewebproxy", "-getwebproxy"} {
				out, err := m.networksetup(ctx, get, s)
				if err != nil {
					return Setting{}, err
				}
				if f := fields(out); f["Enabled"] == "Yes" && f["Server"] != "" {
					p.Proxy = net.JoinHostPort(f["Server"], f["Port"])
					break
				}
			}
			if p.Proxy != "" {
				out, err := m.networksetup(ctx, "-getproxybypassdomains", s)
				if err != nil {
					return Setting{}, err
				}
				if !strings.Contains(out, "aren't any") {
					p.Bypass = strings.Fields(out)
				}
			}
		}
	}
	return p, nil
}

func (m *macProxy) SetPAC(ctx context.Context, pacURL string) error {
	services, err := m.services(ctx)
	if err != nil {
		return err
	}
	for _, s := range services {
		// -setautoproxyurl also turns automatic configuration on.
		if _, err := m.networksetup(ctx, "-setautoproxyurl", s, pacURL); err != nil {
			return err
		}
	}
	return nil
}

func (m *macProxy) Restore(ctx context.Context, prev Setting) error {
	services, err := m.services(ctx)
	if err != nil {
		return err
	}
	for _, s := range services {
		u, known := prev.Saved[s+"\x00url"]
		if known && u != "" {
			if _, err := m.networksetup(ctx, "-setautoproxyurl", s, u); err != nil {
				return err
			}
		}
		state := "off"
		if prev.Saved[s+"\x00enabled"] == "Yes" {
			state = "on"
		}
		if _, err := m.networksetup(ctx, "-setautoproxystate", s, state); err != nil {
			return err
		}
	}
	return nil
}
