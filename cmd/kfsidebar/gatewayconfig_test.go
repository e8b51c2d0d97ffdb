package main

import (
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/kfsidebar/kfsidebar/push"
)

// loadTestGateway loads the file under the flags in args, as the command
// does, with env as the environment.
func loadTestGateway(t *testing.T, file string, env map[string]string, args ...string) (GatewayConfig, *gatewaySetup) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "gateway.toml")
	os.WriteFile(path, []byte(file), 0o600)
	cfg := DefaultGatewayConfig()
	var gf gatewayFlags
	fs := newFlagSet("gateway", "", "", &strings.Builder{})
	cfg.bindFlags(fs, &gf)
	if _, _, err := cfg.load(fs, &gf, append([]string{"--config", path}, args...)); err != nil {
		t.Fatal(err)
	}
	return cfg, cfg.setup(func(k string) string { return env[k] })
}

const minimalGateway = `[gateway]
token = "kfsidebarTest1"
encoding_aes_key = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
appid = "wxba5fad812f8e6fb9"
original_id = "gh_97417a04a28d"
`

// TestGatewayFlagsOverrideTheFile: as for run, a flag wins over the file,
// and what neither sets keeps its default.
func TestGatewayFlagsOverrideTheFile(t *testing.T) {
	cfg, setup := loadTestGateway(t, minimalGateway+"listen = \"127.0.0.1:9000\"\nstore = \"/srv/a.db\"\n", nil, "--listen", "127.0.0.1:9001")
	if cfg.Listen != "127.0.0.1:9001" || cfg.Path != "/wechat" || setup.store.path != "/srv/a.db" || setup.store.postgres {
		t.Errorf("listen %q, path %q, store %+v", cfg.Listen, cfg.Path, setup.store)
	}
	if _, ok := setup.push.Policy.(push.Always); !ok || setup.push.TimestampWindow != push.DefaultTimestampWindow || setup.push.Retry.MaxAttempts != push.DefaultMaxAttempts {
		t.Errorf("defaults: %+v", setup.push)
	}
}

// TestGatewaySetup: secrets from the environment, the business-hours
// policy, the patterns and the PostgreSQL store resolve into the
// library's config, and the store is never named with its password.
func TestGatewaySetup(t *testing.T) {
	file := strings.Replace(minimalGateway, `token = "kfsidebarTest1"`, `token_env = "GW_TOKEN"`, 1) + `policy = "business_hours"
business_hours = "mon-fri 09:00-18:00"
store_env = "GW_STORE"
[gateway.retry]
max_attempts = 3
[gateway.targets.erp]
url = "https://erp.shop.example/hooks"
secret_env = "ERP_SECRET"
match = ["event:add_express_path", "text"]
timeout = "3s"
[gateway.workstations.desk1]
token_env = "DESK1"
`
	env := map[string]string{"GW_TOKEN": "fromTheEnv1", "GW_STORE": "postgres://gw:s3cret-pass@db.shop.lan:5432/gateway", "ERP_SECRET": "0123456789abcdef", "DESK1": "desk1-token-0123456789"}
	_, setup := loadTestGateway(t, file, env)
	if !setup.ok() {
		t.Fatalf("problems: %v", setup.problems)
	}
	pc := setup.push
	b, ok := pc.Policy.(push.BusinessHours)
	if pc.Token != "fromTheEnv1" || !ok || b.Open != 9*time.Hour || pc.Retry.MaxAttempts != 3 {
		t.Errorf("push config: %+v", pc)
	}
	if len(pc.Targets) != 1 || string(pc.Targets[0].Secret) != "0123456789abcdef" || len(pc.Targets[0].Match) != 2 || pc.Targets[0].Timeout != 3*time.Second {
		t.Errorf("targets: %+v", pc.Targets)
	}
	if setup.feedTokens["desk1-token-0123456789"] != "desk1" {
		t.Errorf("feed tokens: %v", setup.feedTokens)
	}
	if s := setup.store.String(); !setup.store.postgres || s != "PostgreSQL db.shop.lan:5432/gateway" {
		t.Errorf("store %q", s)
	}
}

// TestGatewayDocsDocumentEveryKey keeps docs/config.md's gateway section
// complete: every key of gateway.toml, every table shown.
func TestGatewayDocsDocumentEveryKey(t *testing.T) {
	doc, err := os.ReadFile("../../docs/config.md")
	if err != nil {
		t.Fatal(err)
	}
	text := string(doc)
	start := strings.Index(text, "\n## The gateway's file")
	if start < 0 {
		t.Fatal(`docs/config.md has no "## The gateway's file" section`)
	}
	section := text[start+1:]
	if end := strings.Index(section[3:], "\n## "); end >= 0 {
		section = section[:end+3]
	}
	var walk func(table string, typ reflect.Type)
	walk = func(table string, typ reflect.Type) {
		if !strings.Contains(section, "**`["+table+"]`**") {
			t.Errorf("docs/config.md's gateway section does not show the table [%s]", table)
		}
		for i := range typ.NumField() {
			f := typ.Field(i)
			name := f.Tag.Get("toml")
			switch ft := f.Type; {
			case ft.Kind() == reflect.Struct && ft != reflect.TypeOf(duration{}):
				walk(table+"."+name, ft)
			case ft.Kind() == reflect.Map:
				walk(table+"."+name+".NAME", ft.Elem())
			case !regexp.MustCompile("`" + name + "`").MatchString(section):
				t.Errorf("docs/config.md's gateway section does not document %s.%s", table, name)
			}
		}
	}
	walk("gateway", reflect.TypeOf(GatewayConfig{}))
}

// TestGatewaySetupExampleIsValid: the gateway.toml of
// docs/gateway-setup.md is one the gateway accepts as it stands.
func TestGatewaySetupExampleIsValid(t *testing.T) {
	doc, err := os.ReadFile("../../docs/gateway-setup.md")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)```toml\n(.*?)```").FindSubmatch(doc)
	if m == nil {
		t.Fatal("docs/gateway-setup.md has no toml example")
	}
	env := map[string]string{
		"KFSIDEBAR_PUSH_TOKEN": "kfsidebarTest1", "KFSIDEBAR_PUSH_AES_KEY": strings.Repeat("A", 43),
		"ERP_PUSH_SECRET": "0123456789abcdef", "KFSIDEBAR_FEED_FRONT_DESK": "front-desk-0123456789",
	}
	_, setup := loadTestGateway(t, string(m[1]), env)
	if len(setup.problems) > 0 {
		t.Errorf("the example has problems: %v", setup.problems)
	}
}
