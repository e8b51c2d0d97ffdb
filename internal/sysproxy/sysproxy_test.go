package sysproxy

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// testPAC is kfsidebar's PAC at its default address.
const testPAC = "http://127.0.0.1:8787/proxy.pac"

func TestParseWindowsProxyServer(t *testing.T) {
	tests := []struct{ in, want string }{
		{"corp:3128", "corp:3128"},
		{"http=corp:80;https=secure:8443;ftp=f:21", "secure:8443"},
		{"http=corp:80;socks=s:1080", "corp:80"},
		{"socks=s:1080", ""},
		{"https=http://p:1", "p:1"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := parseWindowsProxyServer(tt.in); got != tt.want {
			t.Errorf("parseWindowsProxyServer(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestGVariant(t *testing.T) {
	if got := gvariantString(`'it\'s'`); got != "it's" {
		t.Errorf("gvariantString = %q", got)
	}
	if got := gvariantQuote(`it's \ ok`); got != `'it\'s \\ ok'` {
		t.Errorf("gvariantQuote = %q", got)
	}
	if got := gvariantStrings("['localhost', '127.0.0.0/8', '::1']"); !slices.Equal(got, []string{"localhost", "127.0.0.0/8", "::1"}) {
		t.Errorf("gvariantStrings = %q", got)
	}
	if got := gvariantStrings("@as []"); len(got) != 0 {
		t.Errorf("gvariantStrings(empty) = %q", got)
	}
}

// fakeRegistry stands in for HKCU\...\Internet Settings.
type fakeRegistry struct {
	strs   map[string]string
	dwords map[string]uint32
}

func (f *fakeRegistry) str(n string) (string, bool, error) { v, ok := f.strs[n]; return v, ok, nil }

func (f *fakeRegistry) dword(n string) (uint32, bool, error) {
	v, ok := f.dwords[n]
	return v, ok, nil
}

func (f *fakeRegistry) setStr(n, v string) error { f.strs[n] = v; return nil }

func (f *fakeRegistry) del(n string) error { delete(f.strs, n); return nil }

// TestWindowsProxySettings runs proxy on and off against a stand-in for
// the registry key: only AutoConfigURL changes, the office proxy is read
// for chaining, and a value that was absent is deleted again.
// TestUnsupportedDesktop: on a desktop that does not read GNOME's
// settings, or with none, New's error is ErrUnsupported with the desktop as
// a fact, and says in English what to do by hand.
func TestUnsupportedDesktop(t *testing.T) {
	for desktop, want := range map[string]string{
		"":    "cannot change the proxy settings of this system (no desktop session (XDG_CURRENT_DESKTOP is empty)): set the automatic proxy configuration URL in your desktop's or browser's network settings by hand",
		"KDE": "cannot change the proxy settings of this system (KDE): set the automatic proxy configuration URL",
	} {
		_, err := newGnomeProxy(desktop)
		var u *UnsupportedError
		if !errors.Is(err, ErrUnsupported) || !errors.As(err, &u) || u.Why != NotGNOME || u.Desktop != desktop || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("%q: %#v (%v)", desktop, err, err)
		}
	}
}

func TestWindowsProxySettings(t *testing.T) {
	for _, tt := range []struct {
		name       string
		strs       map[string]string
		enable     uint32
		wantChain  string
		wantBypass []string
	}{
		{name: "no proxy", strs: map[string]string{}},
		{name: "office proxy", strs: map[string]string{"ProxyServer": "http=corp:80;https=corp:8443", "ProxyOverride": "<local>;*.corp.example"}, enable: 1,
			wantChain: "corp:8443", wantBypass: []string{"<local>", "*.corp.example"}},
		{name: "office proxy switched off", strs: map[string]string{"ProxyServer": "corp:80"}, enable: 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			reg := &fakeRegistry{strs: tt.strs, dwords: map[string]uint32{"ProxyEnable": tt.enable}}
			before := fmt.Sprint(reg.strs)
			notified := 0
			w := &windowsProxy{open: func() (registryValues, func(), error) { return reg, func() {}, nil }, notify: func() { notified++ }}
			dir := t.TempDir()
			if _, err := On(context.Background(), w, dir, testPAC); err != nil {
				t.Fatal(err)
			}
			if got := reg.strs[autoConfigURL]; got != "http://127.0.0.1:8787/proxy.pac" {
				t.Fatalf("AutoConfigURL = %q", got)
			}
			st, err := ReadState(dir)
			if err != nil || st.Previous.Proxy != tt.wantChain || !slices.Equal(st.Previous.Bypass, tt.wantBypass) {
				t.Fatalf("state %+v, %v", st, err)
			}
			if _, err := Off(context.Background(), w, dir, testPAC); err != nil {
				t.Fatal(err)
			}
			if got := fmt.Sprint(reg.strs); got != before || notified != 2 {
				t.Fatalf("after off: %s (notified %d), want %s", got, notified, before)
			}
		})
	}
}

// fakeMac answers networksetup like a Mac with Wi-Fi, a disabled
// Bluetooth PAN and Ethernet, and an office proxy on Wi-Fi.
type fakeMac struct {
	calls []string
	auto  map[string][2]string // service → URL, Enabled
}

func (f *fakeMac) run(_ context.Context, name string, args ...string) ([]byte, error) {
	f.calls = append(f.calls, name+" "+strings.Join(args, " "))
	switch args[0] {
	case "-listallnetworkservices":
		return []byte("An asterisk (*) denotes that a network service is disabled.\nWi-Fi\n*Bluetooth PAN\nEthernet\n"), nil
	case "-getautoproxyurl":
		a := f.auto[args[1]]
		return []byte("URL: " + a[0] + "\nEnabled: " + a[1] + "\n"), nil
	case "-getsecurewebproxy":
		if args[1] == "Wi-Fi" {
			return []byte("Enabled: Yes\nServer: corp\nPort: 3128\nAuthenticated Proxy Enabled: 0\n"), nil
		}
		return []byte("Enabled: No\nServer: \nPort: 0\nAuthenticated Proxy Enabled: 0\n"), nil
	case "-getproxybypassdomains":
		return []byte("*.local\n169.254/16\n"), nil
	case "-setautoproxyurl":
		f.auto[args[1]] = [2]string{args[2], "Yes"}
	case "-setautoproxystate":
		a := f.auto[args[1]]
		a[1] = map[string]string{"on": "Yes", "off": "No"}[args[2]]
		f.auto[args[1]] = a
	}
	return nil, nil
}

func TestMacProxyCommands(t *testing.T) {
	f := &fakeMac{auto: map[string][2]string{"Wi-Fi": {"(null)", "No"}, "Ethernet": {"http://old/pac", "No"}}}
	m := &macProxy{run: f.run}
	dir := t.TempDir()
	if _, err := On(context.Background(), m, dir, testPAC); err != nil {
		t.Fatal(err)
	}
	st, err := ReadState(dir)
	if err != nil || st.Previous.Proxy != "corp:3128" || !slices.Equal(st.Previous.Bypass, []string{"*.local", "169.254/16"}) {
		t.Fatalf("state %+v %v", st, err)
	}
	if _, err := Off(context.Background(), m, dir, testPAC); err != nil {
		t.Fatal(err)
	}
	var changes []string
	for _, c := range f.calls {
		if strings.Contains(c, " -set") {
			changes = append(changes, c)
		}
	}
	want := []string{
		"networksetup -setautoproxyurl Wi-Fi http://127.0.0.1:8787/proxy.pac",
		"networksetup -setautoproxyurl Ethernet http://127.0.0.1:8787/proxy.pac",
		"networksetup -setautoproxystate Wi-Fi off",
		"networksetup -setautoproxyurl Ethernet http://old/pac",
		"networksetup -setautoproxystate Ethernet off",
	}
	if !slices.Equal(changes, want) {
		t.Fatalf("commands:\n%s\nwant:\n%s", strings.Join(changes, "\n"), strings.Join(want, "\n"))
	}
	for _, c := range f.calls {
		if strings.Contains(c, "Bluetooth") {
			t.Errorf("a disabled service was touched: %s", c)
		}
	}
}
