//go:build windows

package sysproxy

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"testing"

	"golang.org/x/sys/windows/registry"

	"github.com/kfsidebar/kfsidebar/internal/kftest"
)

// scratchKey makes a registry key of the test's own under HKCU\Software,
// holding values, and deletes it when the test ends: the registry code
// runs for real without touching the user's Internet Settings.
func scratchKey(t *testing.T, strs map[string]string, dwords map[string]uint32) string {
	t.Helper()
	b := make([]byte, 8)
	rand.Read(b)
	parent := `Software\kfsidebar-test`
	path := parent + `\` + hex.EncodeToString(b)
	k, _, err := registry.CreateKey(registry.CURRENT_USER, path, registry.ALL_ACCESS)
	if err != nil {
		t.Fatal(err)
	}
	for n, v := range strs {
		if err := k.SetStringValue(n, v); err != nil {
			t.Fatal(err)
		}
	}
	for n, v := range dwords {
		if err := k.SetDWordValue(n, v); err != nil {
			t.Fatal(err)
		}
	}
	k.Close()
	t.Cleanup(func() {
		registry.DeleteKey(registry.CURRENT_USER, path)
		registry.DeleteKey(registry.CURRENT_USER, parent) // fails while another test's key is there
	})
	return path
}

// values reads back every value of the key, to compare before and after.
func values(t *testing.T, path string) map[string]string {
	t.Helper()
	k, err := registry.OpenKey(registry.CURRENT_USER, path, registry.QUERY_VALUE)
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	names, err := k.ReadValueNames(-1)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, n := range names {
		if s, _, err := k.GetStringValue(n); err == nil {
			out[n] = "sz:" + s
			continue
		}
		if d, _, err := k.GetIntegerValue(n); err == nil {
			out[n] = fmt.Sprintf("dword:%d", d)
			continue
		}
		out[n] = "?"
	}
	return out
}

// TestWindowsRegistryOnOff runs On and Off through the real registry
// code, on a scratch key: AutoConfigURL is set, the office proxy is read
// for chaining and left alone, and Off leaves the key exactly as it was.
func TestWindowsRegistryOnOff(t *testing.T) {
	for _, tt := range []struct {
		name      string
		strs      map[string]string
		dwords    map[string]uint32
		wantChain string
	}{
		{name: "empty key"},
		{name: "office proxy", strs: map[string]string{"ProxyServer": "corp:3128", "ProxyOverride": "<local>"}, dwords: map[string]uint32{"ProxyEnable": 1}, wantChain: "corp:3128"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			path := scratchKey(t, tt.strs, tt.dwords)
			before := values(t, path)
			w := &windowsProxy{open: openKey(path), notify: notifyInternetSettings}
			dir := t.TempDir()
			res, err := On(context.Background(), w, dir, testPAC)
			if err != nil {
				t.Fatal(err)
			}
			if res.Previous.Proxy != tt.wantChain {
				t.Errorf("chains to %q, want %q", res.Previous.Proxy, tt.wantChain)
			}
			if got := values(t, path)[autoConfigURL]; got != "sz:"+testPAC {
				t.Fatalf("AutoConfigURL after on = %q", got)
			}
			if _, err := Off(context.Background(), w, dir, testPAC); err != nil {
				t.Fatal(err)
			}
			after := values(t, path)
			if len(after) != len(before) {
				t.Fatalf("after off: %v, want %v", after, before)
			}
			for k, v := range before {
				if after[k] != v {
					t.Fatalf("after off: %v, want %v", after, before)
				}
			}
		})
	}
}

// TestWindowsInternetSettings runs On and Off on the user's real Internet
// Settings: only in .ci/wine's throw-away prefix. What was there before is
// put back exactly, AutoConfigURL included.
func TestWindowsInternetSettings(t *testing.T) {
	kftest.RealWindowsSettings(t)
	sys, err := New()
	if err != nil {
		t.Fatal(err)
	}
	k, _, err := registry.CreateKey(registry.CURRENT_USER, internetSettingsKey, registry.QUERY_VALUE)
	if err != nil {
		t.Fatal(err)
	}
	k.Close()
	before := values(t, internetSettingsKey)
	dir := t.TempDir()
	if _, err := On(context.Background(), sys, dir, testPAC); err != nil {
		t.Fatal(err)
	}
	cur, err := sys.Get(context.Background())
	if err != nil || cur.PACURL != testPAC {
		t.Fatalf("after on: %+v, %v", cur, err)
	}
	if _, err := Off(context.Background(), sys, dir, testPAC); err != nil {
		t.Fatal(err)
	}
	after := values(t, internetSettingsKey)
	if len(after) != len(before) || after[autoConfigURL] != before[autoConfigURL] {
		t.Fatalf("after off: %v, want %v", after, before)
	}
	if st, err := ReadState(dir); st != nil || err != nil {
		t.Fatalf("state left after off: %+v, %v", st, err)
	}
}
