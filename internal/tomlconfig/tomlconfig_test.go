package tomlconfig

import (
	"strings"
	"testing"
)

// TestWindowsPathInDoubleQuotes: a Windows path pasted into double quotes
// is refused with how to write it, whether the decoder would have failed
// with a bare "invalid escape" or read it wrong without a word; written
// as the hint says, it reads as the path.
func TestWindowsPathInDoubleQuotes(t *testing.T) {
	type config struct {
		DataDir string `toml:"data_dir"`
		Listen  string `toml:"listen"`
	}
	for _, tt := range []struct {
		name, text string
		wantErr    []string // "" when it must decode
		want       string
	}{
		{name: "\\U: an escape error", text: `data_dir = "C:\Users\张三\kfsidebar"`,
			wantErr: []string{"k.toml:1: data_dir: a Windows path in double quotes", `single quotes, 'C:\Users\张三\kfsidebar'`, `forward slashes, "C:/Users/张三/kfsidebar"`}},
		{name: "\\n and \\t: silently wrong", text: "listen = \"127.0.0.1:8787\"\ndata_dir = \"D:\\new\\tmp\"",
			wantErr: []string{"k.toml:2: data_dir: a Windows path in double quotes"}},
		{name: "another escape error", text: `data_dir = "kf\sidebar"`, wantErr: []string{"invalid escape", "single quotes"}},
		{name: "single quotes", text: `data_dir = 'C:\Users\张三\kfsidebar'`, want: `C:\Users\张三\kfsidebar`},
		{name: "forward slashes", text: `data_dir = "C:/Users/张三/kfsidebar"`, want: `C:/Users/张三/kfsidebar`},
		{name: "escaped backslashes", text: `data_dir = "C:\\Users\\张三"`, want: `C:\Users\张三`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var c config
			err := Decode("k.toml", []byte(tt.text), &c)
			if len(tt.wantErr) == 0 {
				if err != nil || c.DataDir != tt.want {
					t.Fatalf("got %q, %v; want %q", c.DataDir, err, tt.want)
				}
				return
			}
			if err == nil {
				t.Fatalf("decoded %q, want an error", c.DataDir)
			}
			for _, want := range tt.wantErr {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q lacks %q", err, want)
				}
			}
		})
	}
}
