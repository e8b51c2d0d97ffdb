package tomlconfig

import (
	"strings"
	"testing"
)

// named is a file with a table of named tables, the way the gateway's
// targets are written ([gateway.targets.erp]).
type named struct {
	Gateway struct {
		Targets map[string]struct {
			URL     string `toml:"url"`
			Secret  string `toml:"secret"`
			Timeout int    `toml:"timeout"`
		} `toml:"targets"`
	} `toml:"gateway"`
}

// TestNamedTables: a mistake inside a named table is reported with the
// keys that table takes and a "did you mean", and a wrong type with the
// type wanted, as for any other table.
func TestNamedTables(t *testing.T) {
	for _, tt := range []struct {
		name, file string
		want       []string
	}{
		{"unknown key", "[gateway.targets.erp]\nurl = \"https://erp.example\"\nsecert = \"x\"\n",
			[]string{`f.toml:3:1: gateway.targets.erp.secert: unknown key; did you mean "secret"?`, "(this table takes secret, timeout, url)"}},
		{"wrong type", "[gateway.targets.erp]\ntimeout = \"10\"\n",
			[]string{"gateway.targets.erp.timeout: must be a whole number (got a string)"}},
		{"not a table", "[gateway]\ntargets = \"erp\"\n",
			[]string{"gateway.targets: must be a table of named tables, like [gateway.targets.NAME]"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var v named
			err := Decode("f.toml", []byte(tt.file), &v)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error\n%v\nlacks %s", err, w)
				}
			}
		})
	}
}

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
