package main

import (
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func writeConfig(t *testing.T, dir, text string) string {
	t.Helper()
	path := filepath.Join(dir, configFileName)
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// parseRunConfig parses args the way `kfsidebar run` does.
func parseRunConfig(t *testing.T, args ...string) (Config, error) {
	t.Helper()
	cfg := DefaultConfig()
	fs := newFlagSet("run", "run", "", io.Discard)
	cfg.bindFlags(fs)
	err := cfg.parse(fs, args)
	return cfg, err
}

func TestConfigFileUnderFlags(t *testing.T) {
	dir := t.TempDir()
	other := t.TempDir()
	writeConfig(t, dir, `
listen = "127.0.0.1:9000"
console_hosts = ["mpkf.weixin.qq.com", "mpkf-staging.example"]
upstream_proxy = "http://10.0.0.1:3128"
session_ttl = "48h"
tunnel_idle_timeout = "5m"
log_level = "debug"

[orders]
cache_ttl = "1m"
`)
	tests := []struct {
		name string
		args []string
		want func(Config) []any
		vals []any
	}{
		{"file in the data directory", []string{"--data-dir", dir},
			func(c Config) []any {
				return []any{c.Listen, strings.Join(c.ConsoleHosts, ","), c.UpstreamProxy, c.SessionTTL, c.TunnelIdleTimeout, c.LogLevel, c.Orders.CacheTTL.Duration, c.Orders.Backend, c.Orders.FailureThreshold}
			},
			[]any{"127.0.0.1:9000", "mpkf.weixin.qq.com,mpkf-staging.example", "http://10.0.0.1:3128", 48 * time.Hour, 5 * time.Minute, slog.LevelDebug, time.Minute, "sqlite", 5}},
		{"flags override the file", []string{"--data-dir=" + dir, "--listen", "127.0.0.1:0", "--console-host", "a.example", "--log-level=warn", "--scan-targets-only", "--tunnel-idle-timeout=90s"},
			func(c Config) []any {
				return []any{c.Listen, strings.Join(c.ConsoleHosts, ","), c.LogLevel, c.ScanTargetsOnly, c.SessionTTL, c.TunnelIdleTimeout}
			},
			[]any{"127.0.0.1:0", "a.example", slog.LevelWarn, true, 48 * time.Hour, 90 * time.Second}},
		{"--config names another file", []string{"--data-dir", other, "--config", filepath.Join(dir, configFileName)},
			func(c Config) []any { return []any{c.Listen, c.DataDir, c.ConfigFile} },
			[]any{"127.0.0.1:9000", other, filepath.Join(dir, configFileName)}},
		{"no file: defaults", []string{"--data-dir", other},
			func(c Config) []any { return []any{c.Listen, c.ConfigFile, c.Orders.Backend, c.TunnelIdleTimeout} },
			[]any{"127.0.0.1:8787", "", "sqlite", 15 * time.Minute}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := parseRunConfig(t, tt.args...)
			if err != nil {
				t.Fatal(err)
			}
			if got := tt.want(cfg); !reflect.DeepEqual(got, tt.vals) {
				t.Errorf("got  %v\nwant %v", got, tt.vals)
			}
		})
	}
	if _, err := parseRunConfig(t, "--config", filepath.Join(other, "missing.toml")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a missing --config file: err = %v", err)
	}
}

func TestConfigFileErrors(t *testing.T) {
	t.Setenv("KF_TEST_UNSET", "")
	tests := []struct {
		name, text string
		want       []string // each error line, after "FILE:"
	}{
		{"unknown keys with did you mean", `
listen = "127.0.0.1:8787"
lissen = "x"
[orders]
backnd = "http"
[orders.http]
secert = "x"
`, []string{
			`3:1: lissen: unknown key; did you mean "listen"? (this table takes console_hosts, data_dir, dial, gateway, listen, log_level, orders, scan_targets_only, session_ttl, tunnel_idle_timeout, upstream_ca, upstream_proxy)`,
			`5:1: orders.backnd: unknown key; did you mean "backend"?`,
			`7:1: orders.http.secert: unknown key; did you mean "secret"?`,
		}},
		{"unknown table", "[order]\nbackend = \"sql\"\n", []string{`1:2: order: unknown key; did you mean "orders"?`}},
		{"a number for a string", `listen = 8787`, []string{`1:10: listen: must be a string in quotes (got a integer)`}},
		{"a bad duration", `session_ttl = "3 days"`, []string{`1:15: session_ttl: want a duration in quotes, like "30s", "2m" or "72h" (got 3 days)`}},
		{"a duration without quotes", "[orders]\ncache_ttl = 30\n", []string{`2:1: orders.cache_ttl: want a duration in quotes, like "30s", "2m" or "72h" (got 30)`}},
		{"a bad log level", `log_level = "loud"`, []string{`1:13: log_level: `}},
		{"syntax", "listen = \"127.0.0.1:8787\nx", []string{`1:`}},
		{"unknown backend", "[orders]\nbackend = \"mongo\"\n", []string{`2: orders.backend: must be "sqlite", "http" or "sql" (got "mongo")`}},
		{"http without url and secret", "[orders]\nbackend = \"http\"\n", []string{
			`orders.http.lookup_url: required with backend = "http"`,
			`orders.http.secret_env: set exactly one of secret and secret_env`}},
		{"secret env not set", "[orders]\nbackend = \"http\"\n[orders.http]\nlookup_url = \"https://s.example/{openid}\"\nsecret_env = \"KF_TEST_UNSET\"\n",
			[]string{`5: orders.http.secret_env: the environment variable KF_TEST_UNSET is not set`}},
		{"sql without driver and dsn", "[orders]\nbackend = \"sql\"\n[orders.sql]\ntime_zone = \"Mars/Olympus\"\n", []string{
			`orders.sql.driver: required with backend = "sql": "postgres" or "mysql" (also for MariaDB)`,
			`orders.sql.dsn: set exactly one of dsn and dsn_env`,
			`4: orders.sql.time_zone: must be "Local", "UTC" or an IANA name like "Asia/Shanghai" (got "Mars/Olympus")`}},
		{"bad dial", `dial = ["nonsense"]`, []string{`1: dial: `}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeConfig(t, t.TempDir(), tt.text)
			cfg := DefaultConfig()
			err := readConfigFile(path, true, &cfg)
			if err == nil {
				t.Fatal("no error")
			}
			lines := strings.Split(err.Error(), "\n")
			if len(lines) != len(tt.want) {
				t.Fatalf("%d errors, want %d:\n%v", len(lines), len(tt.want), err)
			}
			for i, w := range tt.want {
				if !strings.HasPrefix(lines[i], path+":"+w) && !strings.HasPrefix(lines[i], path+": "+w) {
					t.Errorf("error %d\ngot  %s\nwant %s:%s…", i, lines[i], path, w)
				}
			}
		})
	}
}

func TestConfigCheckCommand(t *testing.T) {
	t.Setenv("KFSIDEBAR_TEST_POSTGRES_DSN", "postgres://kfsidebar@127.0.0.1:1/shop")
	t.Setenv("KFSIDEBAR_TEST_MYSQL_DSN", "kfsidebar@tcp(127.0.0.1:1)/shop")
	t.Setenv("SHOP_SECRET", "0123456789abcdef0123456789abcdef")
	dir := t.TempDir()
	good := writeConfig(t, dir, `
[orders]
backend = "http"
[orders.http]
lookup_url = "https://shop.example/kf/customers/by-openid/{openid}"
search_url = "https://shop.example/kf/search?q={query}"
secret_env = "SHOP_SECRET"
`)
	badTemplate := filepath.Join(dir, "bad.toml")
	os.WriteFile(badTemplate, []byte("[orders]\nbackend = \"http\"\n[orders.http]\nlookup_url = \"https://shop.example/{open_id}\"\nsecret_env = \"SHOP_SECRET\"\n"), 0o600)
	badQuery := filepath.Join(dir, "badq.toml")
	os.WriteFile(badQuery, []byte("[orders]\nbackend = \"sql\"\n[orders.sql]\ndriver = \"postgres\"\ndsn_env = \"KFSIDEBAR_TEST_POSTGRES_DSN\"\n"+
		"customer_by_openid = \"SELECT real_name AS name FROM customers WHERE wx_openid = $1\"\norders = \"SELECT 1\"\n"), 0o600)
	tests := []struct {
		name    string
		args    []string
		wantErr bool
		want    string
	}{
		{"good http", []string{"--config", good}, false, good + ": valid (order backend: http, https://shop.example/kf/customers/by-openid/{openid})"},
		{"sample postgres", []string{"--config", "../../sidebar/shop/shopsql/testdata/postgres.toml"}, false, "valid (order backend: sql, postgres)"},
		{"sample mariadb", []string{"--config", "../../sidebar/shop/shopsql/testdata/mysql.toml"}, false, "valid (order backend: sql, mysql)"},
		{"no file", []string{"--data-dir", t.TempDir()}, false, "no such file; kfsidebar runs with the defaults"},
		{"bad template", []string{"--config", badTemplate}, true, "orders.http: lookup_url: unknown placeholder {open_id}; this URL can use {openid}"},
		{"positional parameter", []string{"--config", badQuery}, true, "orders.sql: customer_by_openid: use a named parameter like :openid instead of $1"},
		{"--connect on http", []string{"--config", good, "--connect"}, true, "--connect checks an sql backend's queries"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, errOut, err := runCLI(t, append([]string{"config", "check"}, tt.args...)...)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error: %v\n%s%s", err, tt.wantErr, out, errOut)
			}
			got := out + errOut
			if err != nil {
				got += err.Error()
			}
			if !strings.Contains(got, tt.want) {
				t.Errorf("output\n%s\nlacks %s", got, tt.want)
			}
		})
	}
}

// TestDocsConfigDocumentsEveryKey keeps the "Configuration" section of
// docs/config.md complete: every key of the file appears there.
func TestDocsConfigDocumentsEveryKey(t *testing.T) {
	doc, err := os.ReadFile("../../docs/config.md")
	if err != nil {
		t.Fatal(err)
	}
	text := string(doc)
	start := strings.Index(text, "\n## Configuration")
	if start < 0 {
		t.Fatal(`docs/config.md has no "## Configuration" section`)
	}
	section := text[start+1:]
	if end := strings.Index(section[3:], "\n## "); end >= 0 {
		section = section[:end+3]
	}
	var walk func(prefix string, typ reflect.Type)
	walk = func(prefix string, typ reflect.Type) {
		for i := range typ.NumField() {
			f := typ.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("toml"), ",")
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct && ft != reflect.TypeOf(duration{}) {
				if !strings.Contains(section, "["+prefix+name+"]") {
					t.Errorf("docs/config.md's Configuration does not show the table [%s%s]", prefix, name)
				}
				walk(prefix+name+".", ft)
				continue
			}
			if !strings.Contains(section, "`"+name+"`") {
				t.Errorf("docs/config.md's Configuration does not document %s%s", prefix, name)
			}
		}
	}
	walk("", reflect.TypeOf(fileConfig{}))
}

// TestConfigCheckConnects runs the sample configurations against the
// sample shop databases, as a shop's developer would before `run`.
func TestConfigCheckConnects(t *testing.T) {
	for _, db := range []struct{ name, file, env string }{
		{"postgres", "postgres.toml", "KFSIDEBAR_TEST_POSTGRES_DSN"},
		{"mariadb", "mysql.toml", "KFSIDEBAR_TEST_MYSQL_DSN"},
	} {
		t.Run(db.name, func(t *testing.T) {
			config := sampleDBConfig(t, db.file, db.env)
			out, errOut, err := runCLI(t, "config", "check", "--config", config, "--connect", "--lookup", "oVx3k5PtYgjmUhBel31iEl2hpChY")
			if err != nil {
				t.Fatalf("%v\n%s%s", err, out, errOut)
			}
			for _, want := range []string{"connected: every query runs", `"name": "林小满"`, `"order_no": "E202611171032150023"`, `"tracking_event": "运输中，已到达杭州转运中心"`} {
				if !strings.Contains(out, want) {
					t.Errorf("output lacks %s:\n%s", want, out)
				}
			}
		})
	}
}
