package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/kfsidebar/kfsidebar/push"
)

const gatewayHelp = `在店铺的服务器上运行推送网关，也就是小程序消息推送的 URL。它让用户的消息继续进入网页客服工具
（transfer_customer_service），把每条推送分发给店铺的系统，并告诉各工作站的侧边栏每位客户的来源。
配置文件的 [gateway] 表见 docs/config.md，从零到可用的推送 URL 见 docs/gateway-setup.md。

Run the push gateway on the shop's server: the URL of the mini program's
message push (消息推送). It keeps users' messages reaching the web console
(transfer_customer_service), fans every push out to the shop's systems, and
tells the workstations' sidebars where each customer came from (来源).

The config file's [gateway] table is described in docs/config.md, the setup
from nothing to a working push URL in docs/gateway-setup.md.

  kfsidebar gateway --config gateway.toml    运行（参数优先于文件） / serve (flags override the file)
  kfsidebar gateway replay --config FILE     列出或重发死信 / list dead letters, or send them again
  kfsidebar gateway doctor --config FILE     检查配置、数据库和目标 / check the config, the store and the targets`

func runGateway(ctx context.Context, args []string, out, errOut io.Writer) error {
	if len(args) > 0 {
		switch args[0] {
		case "replay":
			return runGatewayReplay(ctx, args[1:], out, errOut)
		case "doctor":
			return runGatewayDoctor(ctx, args[1:], out, errOut)
		}
	}
	cfg := DefaultGatewayConfig()
	var gf gatewayFlags
	fs := newFlagSet("gateway", "gateway [--config FILE] [flags] | gateway replay … | gateway doctor …", gatewayHelp, errOut)
	cfg.bindFlags(fs, &gf)
	setup, err := loadGateway(&cfg, fs, &gf, args)
	if err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return usageError{fmt.Sprintf("gateway: unknown command %q (want replay or doctor)", fs.Arg(0))}
	}
	log := newLogger(errOut, cfg.LogLevel)
	for _, w := range setup.warnings() {
		log.Warn("gateway config", "key", w.Key, "problem", w.Message)
	}
	g, err := startGateway(ctx, cfg, setup, log)
	if err != nil {
		return err
	}
	log.Info("gateway started", "version", versionString(), "addr", g.addr, "path", cfg.Path, "store", setup.store.String(),
		"targets", len(setup.push.Targets), "workstations", len(setup.feedTokens))
	printGatewayBanner(out, g, gf.config)
	if err := writeReady(gf.readyFile, g.addr); err != nil {
		g.close()
		return err
	}
	err = g.serve(ctx)
	log.Info("gateway stopped")
	return err
}

// loadGateway reads the file under the flags and checks it: every
// problem of the file at once, by line and key. Warnings are left in the
// setup for the caller to show.
func loadGateway(cfg *GatewayConfig, fs *flag.FlagSet, gf *gatewayFlags, args []string) (*gatewaySetup, error) {
	path, data, err := cfg.load(fs, gf, args)
	if err != nil {
		return nil, err
	}
	setup := cfg.setup(os.Getenv)
	if err := fileErrors(path, data, setup.problems); err != nil {
		return nil, err
	}
	return setup, nil
}

// printGatewayBanner says where the gateway serves and what to enter in
// WeChat's admin.
func printGatewayBanner(w io.Writer, g *gatewayServer, configPath string) {
	s, cfg := g.setup, g.cfg
	fmt.Fprintf(w, "kfsidebar gateway %s serving on %s\n", versionString(), g.url)
	fmt.Fprintf(w, "  push path:    %s%s  (WeChat's admin: https://YOUR-DOMAIN%s through the HTTPS front)\n", g.url, cfg.Path, cfg.Path)
	mode := "plain mode only (no encoding_aes_key)"
	if s.push.EncodingAESKey != "" {
		mode = "plain, compatible and safe mode"
		if s.push.RequireEncrypted {
			mode = "compatible and safe mode (plain refused)"
		}
	}
	fmt.Fprintf(w, "  accepts:      %s, XML and JSON\n", mode)
	fmt.Fprintf(w, "  policy:       %s\n", describePolicy(cfg))
	fmt.Fprintf(w, "  store:        %s\n", s.store)
	if len(s.push.Targets) == 0 {
		fmt.Fprint(w, "  targets:      none ([gateway.targets.NAME] sends pushes to the shop's systems)\n")
	}
	for i, t := range s.push.Targets {
		label := "  targets:     "
		if i > 0 {
			label = "               "
		}
		fmt.Fprintf(w, "%s %s → %s (%s)\n", label, t.Name, t.URL, describeMatch(t.Match))
	}
	if g.feed != nil {
		fmt.Fprintf(w, "  feed:         %s%s for %d workstation(s)\n", g.url, gatewayFeedPath, len(s.feedTokens))
	}
	if cfg.StatusPage {
		fmt.Fprintf(w, "  status page:  %s/  (on this machine only)\n", g.url)
	}
	fmt.Fprintf(w, "  config:       %s\n", configPath)
	fmt.Fprintf(w, "\n在微信后台「开发 → 开发管理 → 消息推送」填写 URL https://你的域名%s、Token 和 EncodingAESKey。\n", cfg.Path)
	fmt.Fprintf(w, "Check the setup with: kfsidebar gateway doctor --config %s\nPress Ctrl+C to stop.\n", shellQuote(configPath))
}

// describePolicy says in words when messages go to the console.
func describePolicy(cfg GatewayConfig) string {
	if cfg.Policy != policyBusinessHours {
		return "always transfer users' messages to the console"
	}
	zone := cfg.TimeZone
	if zone == "" {
		zone = "China time"
	}
	return fmt.Sprintf("transfer during business hours (%s, %s); outside them answer success", cfg.BusinessHours, zone)
}

// describeMatch lists a target's patterns.
func describeMatch(ps []push.Pattern) string {
	if len(ps) == 0 {
		return "every push"
	}
	out := make([]string, 0, len(ps))
	for _, p := range ps {
		s := p.MsgType
		if p.Event != "" {
			s += ":" + p.Event
		}
		out = append(out, s)
	}
	return strings.Join(out, ", ")
}
