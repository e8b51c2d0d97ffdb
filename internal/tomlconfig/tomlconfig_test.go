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
