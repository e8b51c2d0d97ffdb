package logfile

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func TestRotatingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "kfsidebar.log")
	f, err := Open(path, 100, 2)
	if err != nil {
		t.Fatal(err)
	}
	line := strings.Repeat("x", 39) + "\n" // 40 bytes: two fit in 100
	for i := 0; i < 9; i++ {
		if _, err := io.WriteString(f, fmt.Sprintf("%d", i)+line[1:]); err != nil {
			t.Fatal(err)
		}
	}
	f.Close()
	want := map[string]string{"": "8", ".1": "6", ".2": "4"} // first digit of the first line in each file
	for suffix, first := range want {
		b, err := os.ReadFile(path + suffix)
		if err != nil {
			t.Fatal(err)
		}
		if len(b) > 100 || !strings.HasPrefix(string(b), first) {
			t.Errorf("%s: %d bytes starting %q, want ≤100 starting %s", filepath.Base(path+suffix), len(b), b[:1], first)
		}
		// Windows has no Unix modes: the user profile's ACLs keep the log private.
		if fi, _ := os.Stat(path + suffix); runtime.GOOS != "windows" && fi.Mode().Perm() != 0o600 {
			t.Errorf("%s mode %o, want 600", path+suffix, fi.Mode().Perm())
		}
	}
	if _, err := os.Stat(path + ".3"); !os.IsNotExist(err) {
		t.Errorf("kept more than 2 old files: %v", err)
	}
}
