//go:build linux

package certs

import (
	"os"
	"os/exec"
	"path/filepath"
)

// Chrome and Chromium on Linux read their own NSS database, not the system
// bundle.
const chromeUsesNSS = true

// firefoxProfileRoots are where Firefox keeps profiles on Linux: the
// distribution package, the Snap and the Flatpak.
func firefoxProfileRoots(home string) []string {
	return []string{
		filepath.Join(home, ".mozilla", "firefox"),
		filepath.Join(home, "snap", "firefox", "common", ".mozilla", "firefox"),
		filepath.Join(home, ".var", "app", "org.mozilla.firefox", ".mozilla", "firefox"),
	}
}

// linuxAnchorLayouts are the system stores kfsidebar knows, most common
// first: the anchors directory, its update tool, and the bundle it builds.
var linuxAnchorLayouts = []anchorStore{
	{ // Debian, Ubuntu and their derivatives
		dir: "/usr/local/share/ca-certificates", ext: ".crt",
		update:  []string{"update-ca-certificates"},
		bundles: []string{"/etc/ssl/certs/ca-certificates.crt"},
	},
	{ // Fedora, RHEL, CentOS
		dir: "/etc/pki/ca-trust/source/anchors", ext: ".pem",
		update:  []string{"update-ca-trust", "extract"},
		bundles: []string{"/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem", "/etc/pki/tls/certs/ca-bundle.crt"},
	},
	{ // Arch
		dir: "/etc/ca-certificates/trust-source/anchors", ext: ".crt",
		update:  []string{"trust", "extract-compat"},
		bundles: []string{"/etc/ssl/certs/ca-certificates.crt"},
	},
	{ // openSUSE
		dir: "/usr/share/pki/trust/anchors", ext: ".pem",
		update:  []string{"update-ca-certificates"},
		bundles: []string{"/var/lib/ca-certificates/ca-bundle.pem"},
	},
}

// sbinDirs are where the update tools live. A normal user's PATH often
// lacks them (Debian puts sbin on root's PATH only), and a store that is
// there but needs root must say "needs root", not "not supported".
var sbinDirs = []string{"/usr/local/sbin", "/usr/sbin", "/sbin"}

// findTool finds an update tool on PATH or in sbinDirs.
func findTool(name string) (string, bool) {
	if p, err := exec.LookPath(name); err == nil {
		return p, true
	}
	for _, d := range sbinDirs {
		p := filepath.Join(d, name)
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return p, true
		}
	}
	return "", false
}

// systemStore picks the first layout whose update tool is installed and
// whose anchors directory (or its parent) exists.
func systemStore() TrustStore {
	for _, l := range linuxAnchorLayouts {
		tool, ok := findTool(l.update[0])
		if !ok {
			continue
		}
		if _, err := os.Stat(filepath.Dir(l.dir)); err != nil {
			continue
		}
		s := l
		s.update = append([]string{tool}, l.update[1:]...)
		s.run = runCommand
		return &s
	}
	return unsupportedStore{
		name: "Linux system store (not found: no update-ca-certificates, update-ca-trust or trust)",
		how:  AddToDistribution,
	}
}
