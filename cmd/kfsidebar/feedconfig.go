package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/kfsidebar/kfsidebar/push"
	"github.com/kfsidebar/kfsidebar/sidebar"
	"github.com/kfsidebar/kfsidebar/sidebar/gatewayfeed"
)

// FeedConfig is the [gateway] table of a workstation's kfsidebar.toml:
// the shop's push gateway to subscribe to (来源, live tracking, queued
// messages). It is not gateway.toml's [gateway], which configures the
// gateway itself. Without a url nothing subscribes, and nothing changes.
type FeedConfig struct {
	// URL is the gateway's feed, e.g. "https://kf.shop.example/feed".
	URL string `toml:"url"`
	// Token or TokenEnv (an environment variable holding it): this
	// workstation's token, exactly one.
	Token    string `toml:"token"`
	TokenEnv string `toml:"token_env"`
	// CAFile holds extra PEM roots for a gateway with its own CA; the
	// system's are always trusted.
	CAFile string `toml:"ca_file"`
	// FeedTTL is how long the gateway keeps feed items: its own feed_ttl.
	FeedTTL duration `toml:"feed_ttl"`
	// Sources are the shop's 来源 patterns, the first match winning.
	Sources []SourceConfig `toml:"sources"`
}

// SourceConfig is one [[gateway.sources]]: see sidebar.SourcePattern.
type SourceConfig struct {
	Pattern string `toml:"pattern"`
	Label   string `toml:"label"`
}

// demoSources are the demo shop's 来源 patterns: its contact buttons say
// order:<order number> on an order page and goods:<sku> on a product's.
var demoSources = []SourceConfig{{"order:{order_no}", "从订单进入"}, {"goods:{sku}", "从商品页进入"}}

// DefaultFeedConfig subscribes to nothing.
func DefaultFeedConfig() FeedConfig {
	return FeedConfig{FeedTTL: duration{push.DefaultFeedTTL}}
}

// minGatewayToken is the gateway's own minimum (push/feed).
const minGatewayToken = 16

// bindGatewayFlags registers run's flags for [gateway]. The token itself
// has no flag: every user of the machine can read a process's arguments.
func (g *FeedConfig) bindGatewayFlags(fs *flag.FlagSet) {
	fs.StringVar(&g.URL, "gateway-url", g.URL, "subscribe to the shop's push gateway at this feed `URL` (来源, live tracking), e.g. https://kf.shop.example/feed")
	fs.StringVar(&g.TokenEnv, "gateway-token-env", g.TokenEnv, "the environment variable `NAME` holding this workstation's gateway token")
	fs.StringVar(&g.CAFile, "gateway-ca", g.CAFile, "PEM `file` of extra roots trusted for the gateway")
}

// enabled reports whether a gateway is configured.
func (g *FeedConfig) enabled() bool { return g.URL != "" }

// token is this workstation's token, from the file or the environment.
func (g *FeedConfig) token() string {
	if g.TokenEnv != "" {
		return os.Getenv(g.TokenEnv)
	}
	return g.Token
}

// patterns are the [[gateway.sources]] as the sidebar takes them.
func (g *FeedConfig) patterns() []sidebar.SourcePattern {
	out := make([]sidebar.SourcePattern, len(g.Sources))
	for i, s := range g.Sources {
		out[i] = sidebar.SourcePattern{Pattern: s.Pattern, Label: s.Label}
	}
	return out
}

// problems checks [gateway] without reaching the gateway.
func (g *FeedConfig) problems() []problem {
	var ps []problem
	add := func(key, format string, args ...any) { ps = append(ps, problem{key, fmt.Sprintf(format, args...)}) }
	if _, err := sidebar.NewSources(g.patterns()); err != nil {
		add("gateway.sources", "%v", err)
	}
	if g.FeedTTL.Duration <= 0 {
		add("gateway.feed_ttl", `must be positive, e.g. "10m" (the gateway's own feed_ttl)`)
	}
	if !g.enabled() {
		if g.Token != "" || g.TokenEnv != "" || g.CAFile != "" || len(g.Sources) > 0 {
			add("gateway.url", `required to subscribe to the gateway, e.g. "https://kf.shop.example/feed"`)
		}
		return ps
	}
	if _, err := gatewayfeed.New(gatewayfeed.Config{URL: g.URL, Token: "-", Handle: func(gatewayfeed.Batch) {}}); err != nil {
		add("gateway.url", "%s", strings.TrimPrefix(err.Error(), gatewayfeed.ErrConfig.Error()+": "))
	}
	switch {
	case (g.Token == "") == (g.TokenEnv == ""):
		add("gateway.token_env", "set exactly one of token and token_env (the name of an environment variable holding this workstation's token)")
	case g.TokenEnv != "" && os.Getenv(g.TokenEnv) == "":
		add("gateway.token_env", "the environment variable %s is not set", g.TokenEnv)
	case len(g.token()) < minGatewayToken:
		add("gateway.token", "must be %d characters or more, as the gateway's workstation tokens are", minGatewayToken)
	}
	if g.CAFile != "" {
		if _, err := os.Stat(g.CAFile); err != nil {
			add("gateway.ca_file", "%v", err)
		}
	}
	return ps
}

// checkGateway is check's part for [gateway], after the flags: the
// errors name the file's key and the flag that sets it.
func (c *Config) checkGateway() error {
	flags := map[string]string{"gateway.url": "--gateway-url", "gateway.token_env": "--gateway-token-env", "gateway.ca_file": "--gateway-ca"}
	var errs []error
	for _, p := range c.Gateway.problems() {
		key := "[gateway] " + strings.TrimPrefix(p.key, "gateway.")
		if f := flags[p.key]; f != "" {
			key = f + " / " + key
		}
		errs = append(errs, fmt.Errorf("%s: %s", key, p.reason))
	}
	return errors.Join(errs...)
}
