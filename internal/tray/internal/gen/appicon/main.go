// Command appicon writes kfsidebar's application icon, the tray's Working
// icon, for the installers: kfsidebar.ico (16 to 256 pixels: the Windows
// installer, the programs and their shortcut), kfsidebar.png (64 pixels:
// the Linux menu entry) and kfsidebar.rc (the Windows resource script that
// puts the icon into the .exe files). `make dist` runs it:
//
//	go run ./internal/tray/internal/gen/appicon DIR
package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/kfsidebar/kfsidebar/internal/tray"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: appicon DIR")
		os.Exit(2)
	}
	dir := os.Args[1]
	files := map[string][]byte{
		"kfsidebar.ico": tray.IconICO(tray.Working, 16, 24, 32, 48, 64, 256),
		"kfsidebar.png": tray.IconPNG(tray.Working, 64),
		// The icon as the first (application) icon resource, by a path
		// relative to the .rc file.
		"kfsidebar.rc": []byte("1 ICON \"kfsidebar.ico\"\n"),
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, "appicon:", err)
		os.Exit(1)
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "appicon:", err)
			os.Exit(1)
		}
	}
}
