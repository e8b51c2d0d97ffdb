package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
)

// findBrowser returns a Chromium-family browser (Chrome, Edge, Chromium)
// installed on this workstation, or "".
func findBrowser() string {
	if p := os.Getenv("KFSIDEBAR_CHROMIUM"); p != "" {
		return p
	}
	var candidates []string
	switch runtime.GOOS {
	case "windows":
		for _, env := range []string{"ProgramFiles", "ProgramFiles(x86)", "LocalAppData"} {
			base := os.Getenv(env)
			if base == "" {
				continue
			}
			candidates = append(candidates,
				filepath.Join(base, `Google\Chrome\Application\chrome.exe`),
				filepath.Join(base, `Microsoft\Edge\Application\msedge.exe`),
				filepath.Join(base, `Chromium\Application\chrome.exe`))
		}
	case "darwin":
		candidates = []string{
			"/Applications/Google Chrome.app/Contents/MacOS/Google Chrome",
			"/Applications/Microsoft Edge.app/Contents/MacOS/Microsoft Edge",
			"/Applications/Chromium.app/Contents/MacOS/Chromium",
		}
	default:
		for _, name := range []string{"google-chrome", "google-chrome-stable", "chromium", "chromium-browser", "microsoft-edge", "microsoft-edge-stable"} {
			if p, err := exec.LookPath(name); err == nil {
				return p
			}
		}
	}
	for _, c := range candidates {
		if _, err := os.Stat(c); err == nil {
			return c
		}
	}
	return ""
}

// browserArgs are the flags for a dedicated browser profile that uses the
// proxy and trusts the given certificate public keys (SPKI pins). The pins
// apply to that profile only and also lift the CA's name constraint there.
func browserArgs(profileDir, proxyAddr string, spki []string, url string) []string {
	args := []string{
		"--user-data-dir=" + profileDir,
		"--proxy-server=" + proxyAddr,
		"--no-first-run",
		"--no-default-browser-check",
	}
	if len(spki) > 0 {
		args = append(args, "--ignore-certificate-errors-spki-list="+strings.Join(spki, ","))
	}
	if runtime.GOOS == "linux" && os.Geteuid() == 0 {
		args = append(args, "--no-sandbox") // Chromium refuses to run as root otherwise
	}
	return append(args, url)
}

// openArgs are the flags of `kfsidebar open`'s browser: a profile of its
// own that takes its proxy from kfsidebar's PAC (so only the console goes
// through kfsidebar, as with `proxy on`), plus SPKI pins when the CA is not
// in the trust store. Nothing outside profileDir is changed.
func openArgs(profileDir, pacURL string, spki []string, url string) []string {
	args := []string{
		"--user-data-dir=" + profileDir,
		"--proxy-pac-url=" + pacURL,
		"--no-first-run",
		"--no-default-browser-check",
	}
	if len(spki) > 0 {
		args = append(args, "--ignore-certificate-errors-spki-list="+strings.Join(spki, ","))
	}
	if runtime.GOOS == "linux" && os.Geteuid() == 0 {
		args = append(args, "--no-sandbox")
	}
	return append(args, url)
}

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
