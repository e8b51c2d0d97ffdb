package autostart

import (
	"errors"

	"golang.org/x/sys/windows/registry"
)

// userRunKey opens the current user's Run and StartupApproved keys; both
// are the user's own, no administrator rights needed. base replaces
// runKeyPath and approvedKeyPath's parents in tests (a scratch key).
func userRunKey(runPath, approvedPath string) (runKey, func(), error) {
	run, _, err := registry.CreateKey(registry.CURRENT_USER, runPath, registry.QUERY_VALUE|registry.SET_VALUE)
	if err != nil {
		return runKey{}, nil, err
	}
	approved, _, err := registry.CreateKey(registry.CURRENT_USER, approvedPath, registry.QUERY_VALUE|registry.SET_VALUE)
	if err != nil {
		run.Close()
		return runKey{}, nil, err
	}
	return runKey{run: regKey{run}, approved: regKey{approved}, where: `HKCU\` + runPath},
		func() { run.Close(); approved.Close() }, nil
}

// keyPaths are the keys used; tests point them at a scratch key.
var keyPaths = [2]string{runKeyPath, approvedKeyPath}

func enable(e Entry, _ Options) (Status, error) {
	k, done, err := userRunKey(keyPaths[0], keyPaths[1])
	if err != nil {
		return Status{}, err
	}
	defer done()
	return k.enable(e)
}

func disable(name string, _ Options) ([]string, error) {
	k, done, err := userRunKey(keyPaths[0], keyPaths[1])
	if err != nil {
		return nil, err
	}
	defer done()
	return k.disable(name)
}

func check(name string, _ Options) ([]Status, error) {
	k, done, err := userRunKey(keyPaths[0], keyPaths[1])
	if err != nil {
		return nil, err
	}
	defer done()
	return k.check(name)
}

type regKey struct{ k registry.Key }

func (r regKey) getString(name string) (string, bool, error) {
	v, _, err := r.k.GetStringValue(name)
	if errors.Is(err, registry.ErrNotExist) {
		return "", false, nil
	}
	return v, err == nil, err
}

func (r regKey) setString(name, v string) error { return r.k.SetStringValue(name, v) }

func (r regKey) getBinary(name string) ([]byte, bool, error) {
	v, _, err := r.k.GetBinaryValue(name)
	if errors.Is(err, registry.ErrNotExist) {
		return nil, false, nil
	}
	return v, err == nil, err
}

func (r regKey) setBinary(name string, v []byte) error { return r.k.SetBinaryValue(name, v) }

func (r regKey) deleteValue(name string) (bool, error) {
	err := r.k.DeleteValue(name)
	if errors.Is(err, registry.ErrNotExist) {
		return false, nil
	}
	return err == nil, err
}
