//go:build darwin && !cgo

package tray

import (
	"context"
	"errors"
)

// Without cgo there is no macOS menu bar (the tray library is Objective-C
// there): the caller's work goes on without an icon.

type menu struct{}

func (t *Tray) apply(*menu) {}

func run(ctx context.Context, t *Tray) error {
	t.opts.Logger.Warn("tray", "err", errNoCgo)
	<-ctx.Done()
	return nil
}

var errNoCgo = errors.New("this build has no menu bar icon: build kfsidebar with cgo on macOS")
