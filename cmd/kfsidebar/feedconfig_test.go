package main

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/kfsidebar/kfsidebar/push"
)

func TestGatewayConfig(t *testing.T) {
	t.Setenv("KF_TEST_GATEWAY_TOKEN", "workstation-token-0001")
	dir := t.TempDir()
	writeConfig(t, dir, `
[gateway]
url = "https://kf.shop.example/feed"
token_env = "KF_TEST_GATEWAY_TOKEN"
feed_ttl = "15m"

[[gateway.sources]]
pattern = "order:{order_no}"
label = "从订单进入"

[[gateway.sources]]
pattern = "goods:{sku}"
label = "从商品页进入"
`)
	cfg, err := parseRunConfig(t, "--data-dir", dir)
	if err != nil {
		t.Fatal(err)
	}
	g := cfg.Gateway
	if !g.enabled() || g.URL != "https://kf.shop.example/feed" || g.token() != "workstation-token-0001" || g.FeedTTL.Duration != 15*time.Minute ||
		!reflect.DeepEqual(g.Sources, []SourceConfig{{"order:{order_no}", "从订单进入"}, {"goods:{sku}", "从商品页进入"}}) {
		t.Errorf("gateway config %+v", g)
	}
	if err := cfg.check(); err != nil {
		t.Errorf("check: %v", err)
	}

	// Flags alone, and over the file.
	other := t.TempDir()
	cfg, err = parseRunConfig(t, "--data-dir", other, "--gateway-url", "https://gw.example/feed", "--gateway-token-env", "KF_TEST_GATEWAY_TOKEN",
		"--gateway-ca", filepath.Join(dir, configFileName))
	if err != nil || cfg.check() != nil {
		t.Fatalf("flags: %v %v", err, cfg.check())
	}
	if g := cfg.Gateway; g.URL != "https://gw.example/feed" || g.token() != "workstation-token-0001" || g.FeedTTL.Duration != push.DefaultFeedTTL {
		t.Errorf("gateway from flags %+v", g)
	}
	cfg, _ = parseRunConfig(t, "--data-dir", dir, "--gateway-url", "https://other.example/feed")
	if cfg.Gateway.URL != "https://other.example/feed" || len(cfg.Gateway.Sources) != 2 {
		t.Errorf("flag over the file: %+v", cfg.Gateway)
	}

	// No [gateway]: nothing subscribes.
	cfg, _ = parseRunConfig(t, "--data-dir", t.TempDir())
	if cfg.Gateway.enabled() || cfg.check() != nil {
		t.Errorf("default gateway config %+v, %v", cfg.Gateway, cfg.check())
	}
	if err := runWithFlag(t, "--gateway-url", "http://kf.shop.example/feed", "--gateway-token-env", "KF_TEST_GATEWAY_TOKEN"); err == nil ||
		!strings.Contains(err.Error(), "--gateway-url / [gateway] url") || !strings.Contains(err.Error(), "use https") {
		t.Errorf("plain http to another machine by flag: %v", err)
	}
}

// runWithFlag parses and checks args as run does.
func runWithFlag(t *testing.T, args ...string) error {
	t.Helper()
	cfg, err := parseRunConfig(t, append([]string{"--data-dir", t.TempDir()}, args...)...)
	if err != nil {
		return err
	}
	return cfg.check()
}

func TestGatewayConfigErrors(t *testing.T) {
	t.Setenv("KF_TEST_UNSET", "")
	t.Setenv("KF_TEST_SHORT", "short")
	// The system's own words for a missing file (Windows has its own).
	_, missingCA := os.Stat("/nonexistent/ca.pem")
	tests := []struct {
		name, text string
		want       []string
	}{
		{"token without url", "[gateway]\ntoken = \"workstation-token-0001\"\n", []string{`gateway.url: required to subscribe`}},
		{"both tokens", "[gateway]\nurl = \"https://kf.shop.example/feed\"\ntoken = \"workstation-token-0001\"\ntoken_env = \"X\"\n",
			[]string{`4: gateway.token_env: set exactly one of token and token_env`}},
		{"no token", "[gateway]\nurl = \"https://kf.shop.example/feed\"\n", []string{`gateway.token_env: set exactly one of token and token_env`}},
		{"env not set", "[gateway]\nurl = \"https://kf.shop.example/feed\"\ntoken_env = \"KF_TEST_UNSET\"\n",
			[]string{`3: gateway.token_env: the environment variable KF_TEST_UNSET is not set`}},
		{"short token", "[gateway]\nurl = \"https://kf.shop.example/feed\"\ntoken_env = \"KF_TEST_SHORT\"\n",
			[]string{`gateway.token: must be 16 characters or more`}},
		{"plain http", "[gateway]\nurl = \"http://kf.shop.example/feed\"\ntoken = \"workstation-token-0001\"\n",
			[]string{`2: gateway.url: url "http://kf.shop.example/feed": use https (plain http only to a gateway on this machine)`}},
		{"missing ca", "[gateway]\nurl = \"https://kf.shop.example/feed\"\ntoken = \"workstation-token-0001\"\nca_file = \"/nonexistent/ca.pem\"\n",
			[]string{`4: gateway.ca_file: ` + missingCA.Error()}},
		{"bad pattern", "[gateway]\nurl = \"https://kf.shop.example/feed\"\ntoken = \"workstation-token-0001\"\n[[gateway.sources]]\npattern = \"order:{order no}\"\nlabel = \"从订单进入\"\n",
			[]string{`gateway.sources: pattern 1 "order:{order no}": {order no}: a placeholder is a name like {order_no} or {sku}`}},
		{"pattern without label", "[[gateway.sources]]\npattern = \"order:{order_no}\"\n", []string{
			`gateway.sources: pattern 1 "order:{order_no}": no label`, `gateway.url: required to subscribe`}},
		{"unknown key", "[gateway]\nurl = \"https://kf.shop.example/feed\"\ntokn = \"x\"\n", []string{`3:1: gateway.tokn: unknown key; did you mean "token"?`}},
		{"bad feed_ttl", "[gateway]\nfeed_ttl = \"0s\"\n", []string{`2: gateway.feed_ttl: must be positive`}},
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
