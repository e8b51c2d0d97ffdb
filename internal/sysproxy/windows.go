//go:build windows

package sysproxy

import (
	"errors"
	"fmt"

	"golang.org/x/sys/windows"
	"golang.org/x/sys/windows/registry"
)

const internetSettingsKey = `Software\Microsoft\Windows\CurrentVersion\Internet Settings`

// New returns the current user's Internet Settings; changing
// them needs no administrator rights.
func New() (System, error) {
	return &windowsProxy{open: openKey(internetSettingsKey), notify: notifyInternetSettings}, nil
}

// openKey opens path under HKCU: Internet Settings, or a scratch key in
// the tests.
func openKey(path string) func() (registryValues, func(), error) {
	return func() (registryValues, func(), error) {
		k, err := registry.OpenKey(registry.CURRENT_USER, path, registry.QUERY_VALUE|registry.SET_VALUE)
		if err != nil {
			return nil, nil, fmt.Errorf("open HKCU\\%s: %w", path, err)
		}
		return regKey{k}, func() { k.Close() }, nil
	}
}

type regKey struct{ k registry.Key }

func (r regKey) str(name string) (string, bool, error) {
	v, _, err := r.k.GetStringValue(name)
	if errors.Is(err, registry.ErrNotExist) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("read %s: %w", name, err)
	}
	return v, true, nil
}

func (r regKey) dword(name string) (uint32, bool, error) {
	v, _, err := r.k.GetIntegerValue(name)
	if errors.Is(err, registry.ErrNotExist) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("read %s: %w", name, err)
	}
	return uint32(v), true, nil
}

func (r regKey) setStr(name, v string) error {
	if err := r.k.SetStringValue(name, v); err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	return nil
}

func (r regKey) del(name string) error {
	if err := r.k.DeleteValue(name); err != nil && !errors.Is(err, registry.ErrNotExist) {
		return fmt.Errorf("delete %s: %w", name, err)
	}
	return nil
}

var (
	wininet               = windows.NewLazySystemDLL("wininet.dll")
	procInternetSetOption = wininet.NewProc("InternetSetOptionW")
)

// notifyInternetSettings tells running programs to read the settings
// again, as the Settings page does; errors only mean they read them later.
func notifyInternetSettings() {
	const (
		internetOptionSettingsChanged = 39
		internetOptionRefresh         = 37
	)
	if procInternetSetOption.Find() != nil {
		return
	}
	procInternetSetOption.Call(0, internetOptionSettingsChanged, 0, 0)
	procInternetSetOption.Call(0, internetOptionRefresh, 0, 0)
}
