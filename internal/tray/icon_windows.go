package tray

import (
	"crypto/md5"
	"encoding/hex"
	"os"
	"path/filepath"
)

// icon is the state's .ico.
func icon(s State) []byte { return icoIcon(s) }

// cleanup removes the icon files the tray library wrote to %TEMP%
// (systray_temp_icon_<md5>): kfsidebar leaves nothing behind.
func cleanup() {
	for s := range Colors {
		sum := md5.Sum(icoIcon(s))
		os.Remove(filepath.Join(os.TempDir(), "systray_temp_icon_"+hex.EncodeToString(sum[:])))
	}
}
