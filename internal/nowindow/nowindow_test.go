//go:build unix || windows

package nowindow

import (
	"os/exec"
	"runtime"
	"testing"
)

// TestApplyKeepsOtherAttributes: hiding the window never drops what the
// caller asked of the process (the browser's own process group, say).
func TestApplyKeepsOtherAttributes(t *testing.T) {
	cmd := exec.Command("x")
	cmd.SysProcAttr = keepMe()
	Apply(cmd)
	if !keptAndHidden(cmd.SysProcAttr) {
		t.Fatalf("SysProcAttr %+v on %s", cmd.SysProcAttr, runtime.GOOS)
	}
	bare := exec.Command("x")
	Apply(bare)
	if runtime.GOOS == "windows" && bare.SysProcAttr == nil {
		t.Fatal("no SysProcAttr on Windows")
	}
}
