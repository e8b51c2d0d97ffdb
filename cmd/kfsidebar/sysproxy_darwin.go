//go:build darwin

package main

// newSystemProxy returns the macOS proxy settings of every enabled
// network service.
func newSystemProxy() (systemProxy, error) {
	return &macProxy{run: runTool}, nil
}
