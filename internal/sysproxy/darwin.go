//go:build darwin

package sysproxy

// New returns the macOS proxy settings of every enabled
// network service.
func New() (System, error) {
	return &macProxy{run: runTool}, nil
}
