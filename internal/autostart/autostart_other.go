//go:build !unix && !windows

package autostart

func enable(Entry, Options) (Status, error)     { return Status{}, ErrUnsupported }
func disable(string, Options) ([]string, error) { return nil, nil }
func check(string, Options) ([]Status, error)   { return nil, nil }
