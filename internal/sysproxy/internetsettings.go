package sysproxy

import (
	"context"
	"strings"
)

// registryValues are the values of one registry key, as the Windows proxy
// settings need them. The real key is in sysproxy_windows.go; tests use a
// map, so the logic below is tested on every platform.
type registryValues interface {
	str(name string) (v string, ok bool, err error)
	dword(name string) (v uint32, ok bool, err error)
	setStr(name, v string) error
	del(name string) error
}

// windowsProxy is the per-user Internet Settings (HKCU\Software\Microsoft\
// Windows\CurrentVersion\Internet Settings): what Settings → Network →
// Proxy shows and what WinINet, Chrome and Edge use. Only AutoConfigURL is
// changed; a manual proxy (ProxyEnable, ProxyServer) is read, for chaining,
// and never touched.
type windowsProxy struct {
	open func() (registryValues, func(), error)
	// notify tells running programs that the settings changed (WinINet's
	// INTERNET_OPTION_SETTINGS_CHANGED and REFRESH).
	notify func()
}

const autoConfigURL = "AutoConfigURL"

func (w *windowsProxy) Name() string { return "Windows proxy settings" }

func (w *windowsProxy) Get(context.Context) (Setting, error) {
	k, done, err := w.open()
	if err != nil {
		return Setting{}, err
	}
	defer done()
	p := Setting{Saved: map[string]string{}}
	u, ok, err := k.str(autoConfigURL)
	if err != nil {
		return Setting{}, err
	}
	if ok {
		p.PACURL = u
		p.Saved[autoConfigURL] = u
	}
	enabled, _, err := k.dword("ProxyEnable")
	if err != nil {
		return Setting{}, err
	}
	if enabled == 1 {
		server, _, err := k.str("ProxyServer")
		if err != nil {
			return Setting{}, err
		}
		p.Proxy = parseWindowsProxyServer(server)
		override, _, err := k.str("ProxyOverride")
		if err != nil {
			return Setting{}, err
		}
		for _, b := range strings.Split(override, ";") {
			if b = strings.TrimSpace(b); b != "" {
				p.Bypass = append(p.Bypass, b)
			}
		}
	}
	return p, nil
}

func (w *windowsProxy) SetPAC(_ context.Context, pacURL string) error {
	k, done, err := w.open()
	if err != nil {
		return err
	}
	defer done()
	if err := k.setStr(autoConfigURL, pacURL); err != nil {
		return err
	}
	w.notify()
	return nil
}

func (w *windowsProxy) Restore(_ context.Context, prev Setting) error {
	k, done, err := w.open()
	if err != nil {
		return err
	}
	defer done()
	if u, ok := prev.Saved[autoConfigURL]; ok {
		err = k.setStr(autoConfigURL, u)
	} else {
		err = k.del(autoConfigURL)
	}
	if err != nil {
		return err
	}
	w.notify()
	return nil
}
