package browser

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestProfileKeepsItsCache: Chromium on Linux would otherwise keep the
// profile's cache in ~/.cache/<the profile's path>, which outlives the
// data directory (issue 13: "uninstall leaves ~/.cache/kfsidebar*").
func TestProfileKeepsItsCache(t *testing.T) {
	profile := filepath.Join(t.TempDir(), "browser-profile")
	for name, args := range map[string][]string{
		"open": OpenArgs(profile, "http://127.0.0.1:8787/proxy.pac", nil, "https://mpkf.weixin.qq.com/"),
		"demo": DemoArgs(profile, "127.0.0.1:8787", []string{"pin"}, "https://mpkf.weixin.qq.com/"),
	} {
		i := slices.IndexFunc(args, func(a string) bool { return strings.HasPrefix(a, "--disk-cache-dir=") })
		if i < 0 {
			t.Fatalf("%s: no --disk-cache-dir in %q", name, args)
		}
		dir := strings.TrimPrefix(args[i], "--disk-cache-dir=")
		if rel, err := filepath.Rel(profile, dir); err != nil || strings.HasPrefix(rel, "..") {
			t.Errorf("%s: cache %s is outside the profile %s", name, dir, profile)
		}
	}
}
