package browsertest

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// recorder is a testing.TB that keeps what RequireCJKFont says.
type recorder struct {
	testing.TB
	fatal, logged string
}

func (r *recorder) Helper()                    {}
func (r *recorder) Fatal(args ...any)          { r.fatal = fmt.Sprint(args...) }
func (r *recorder) Logf(f string, args ...any) { r.logged = fmt.Sprintf(f, args...) }

// TestRequireCJKFont: fontconfig listing no Chinese font stops the
// screenshots with the package to install; one font lets them go on.
func TestRequireCJKFont(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("fontconfig is checked on Linux only")
	}
	for _, tt := range []struct {
		name, listed string
		stops        bool
	}{
		{"none", "", true},
		{"one", "WenQuanYi Micro Hei,文泉驿微米黑\n", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			script := "#!/bin/sh\nprintf '%s' '" + tt.listed + "'\n"
			if err := os.WriteFile(filepath.Join(dir, "fc-list"), []byte(script), 0o755); err != nil {
				t.Fatal(err)
			}
			t.Setenv("PATH", dir)
			r := &recorder{TB: t}
			RequireCJKFont(r)
			if got := r.fatal != ""; got != tt.stops {
				t.Fatalf("stopped: %v (%q), want %v", got, r.fatal, tt.stops)
			}
			if tt.stops && !strings.Contains(r.fatal, "fonts-wqy-microhei") {
				t.Errorf("no package named: %q", r.fatal)
			}
		})
	}
	t.Run("no fontconfig", func(t *testing.T) {
		t.Setenv("PATH", t.TempDir())
		r := &recorder{TB: t}
		RequireCJKFont(r)
		if r.fatal != "" || !strings.Contains(r.logged, "cannot check") {
			t.Errorf("fatal %q, logged %q", r.fatal, r.logged)
		}
	})
}
