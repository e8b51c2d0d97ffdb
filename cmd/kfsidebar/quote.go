package main

import (
	"path/filepath"
	"runtime"
	"strings"
)

// shellQuote quotes s for the command line printed to the user.
func shellQuote(s string) string {
	if s != "" && !strings.ContainsAny(s, " \t'\"$&;|<>()*?![]{}`\\#~") {
		return s
	}
	if runtime.GOOS == "windows" {
		return `"` + strings.ReplaceAll(s, `"`, `\"`) + `"`
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// setupCommand is a setup command (`proxy on`, `ca install`, `open`,
// `doctor`) as the user must type it to reach the kfsidebar that listens
// on listen with its data in dataDir (setupFlags).
func setupCommand(sub, listen, dataDir string) string {
	return "kfsidebar " + sub + setupFlags(listen, dataDir)
}

// setupFlags are " --data-dir DIR" and " --listen ADDR" when they differ
// from the defaults, which the setup commands assume (they read no config
// file); listen "" leaves --listen out (ca install takes none).
func setupFlags(listen, dataDir string) string {
	def := DefaultConfig()
	var flags string
	if dataDir != "" && filepath.Clean(dataDir) != filepath.Clean(def.DataDir) {
		flags += " --data-dir " + shellQuote(dataDir)
	}
	if listen != "" && localAddr(listen) != localAddr(def.Listen) {
		flags += " --listen " + localAddr(listen)
	}
	return flags
}
