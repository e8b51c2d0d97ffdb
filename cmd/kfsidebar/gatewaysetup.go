package main

import (
	"crypto/tls"
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"slices"
	"time"

	"github.com/kfsidebar/kfsidebar/push"
)

// gatewaySetup is a GatewayConfig checked and resolved: secrets read
// from the environment, the policy and patterns parsed, the library's
// config filled in. Only the runtime parts (logger, clock, feed wake-up)
// are left for startGateway.
type gatewaySetup struct {
	push       push.Config
	feedTokens map[string]string // token → workstation name
	store      storeSpec
	// problems holds every finding, warnings included: the command
	// refuses to start on any error, doctor prints them all.
	problems []push.Problem
}

// ok reports whether no problem is an error.
func (s *gatewaySetup) ok() bool {
	for _, p := range s.problems {
		if !p.Warning {
			return false
		}
	}
	return true
}

// warnings are the problems the gateway runs with.
func (s *gatewaySetup) warnings() []push.Problem {
	var ws []push.Problem
	for _, p := range s.problems {
		if p.Warning {
			ws = append(ws, p)
		}
	}
	return ws
}

// setup checks c without reaching any network or file but the TLS pair,
// and lists every problem at once, in Chinese and then English, by the
// key to change: this file's own checks, then push.Check's (the token,
// key, ids and targets as WeChat and the library want them).
func (c *GatewayConfig) setup(getenv func(string) string) *gatewaySetup {
	var l problemList
	s := &gatewaySetup{feedTokens: map[string]string{}}
	pc := push.Config{
		AppID:            c.AppID,
		OriginalID:       c.OriginalID,
		RequireEncrypted: c.RequireEncrypted,
		MaxBodySize:      c.MaxBodySize,
		TimestampWindow:  c.TimestampWindow.Duration,
		ReplyBudget:      c.ReplyBudget.Duration,
		DedupeTTL:        c.DedupeTTL.Duration,
		FeedTTL:          c.FeedTTL.Duration,
		Retry:            push.Retry{Base: c.Retry.Base.Duration, Max: c.Retry.Max.Duration, MaxAttempts: c.Retry.MaxAttempts},
	}
	pc.Token = l.secret(getenv, "token", c.Token, c.TokenEnv, true)
	pc.EncodingAESKey = l.secret(getenv, "encoding_aes_key", c.EncodingAESKey, c.EncodingAESKeyEnv, false)
	pc.PreviousToken = l.secret(getenv, "previous_token", c.PreviousToken, c.PreviousTokenEnv, false)
	pc.PreviousEncodingAESKey = l.secret(getenv, "previous_encoding_aes_key", c.PreviousEncodingAESKey, c.PreviousEncodingAESKeyEnv, false)

	c.checkServing(&l)
	pc.Policy = c.policy(&l)
	c.checkLimits(&l)
	s.store = c.storeSpec(getenv, &l)

	for _, name := range sortedKeys(c.Targets) {
		t := c.Targets[name]
		key := "targets." + name
		if !nameRE.MatchString(name) {
			l.add(key, false, "名字只能用英文字母、数字、_ . -（最长 64 个字符）", "a target's name is letters, digits, _ . - (up to 64 characters)")
		}
		pt := push.Target{Name: name, URL: t.URL, Timeout: t.Timeout.Duration, Concurrency: t.Concurrency}
		pt.Secret = []byte(l.secret(getenv, key+".secret", t.Secret, t.SecretEnv, true))
		for _, m := range t.Match {
			p, err := push.ParsePattern(m)
			if err != nil {
				l.add(key+".match", false, fmt.Sprintf("无法识别 %q：写 MsgType 或 MsgType:Event，例如 \"text\"、\"event:add_express_path\"、\"event:trade_manage_*\"", m),
					fmt.Sprintf("%q: want MsgType or MsgType:Event, e.g. \"text\", \"event:add_express_path\", \"event:trade_manage_*\"", m))
				continue
			}
			pt.Match = append(pt.Match, p)
		}
		if t.Concurrency < 0 {
			l.add(key+".concurrency", false, "不能为负数（0 表示默认 4）", "must not be negative (0 means the default, 4)")
		}
		pc.Targets = append(pc.Targets, pt)
	}
	c.workstations(getenv, &l, s.feedTokens)

	for _, p := range push.Check(pc) {
		if !l.seen[p.Key] {
			l.ps = append(l.ps, p)
		}
	}
	s.push, s.problems = pc, l.ps
	return s
}

// checkServing checks where and how the gateway serves.
func (c *GatewayConfig) checkServing(l *problemList) {
	if c.DataDir == "" {
		l.add("data_dir", false, "不能为空", "must not be empty")
	}
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		l.add("listen", false, fmt.Sprintf("%q 不是 主机:端口，例如 127.0.0.1:8788", c.Listen), fmt.Sprintf("%q: want HOST:PORT, e.g. 127.0.0.1:8788", c.Listen))
	}
	switch {
	case !pathRE.MatchString(c.Path):
		l.add("path", false, fmt.Sprintf("%q 不是一个路径：以 / 开头，只用英文字母、数字和 . _ ~ -，例如 \"/wechat\"", c.Path),
			fmt.Sprintf("%q: want a path like \"/wechat\" (a leading /, then letters, digits and . _ ~ -)", c.Path))
	case c.Path == gatewayFeedPath || c.Path == gatewayStatusJSON:
		l.add("path", false, c.Path+" 已被网关自己使用，请换一个，例如 \"/wechat\"", c.Path+" is the gateway's own; choose another, e.g. \"/wechat\"")
	}
	switch {
	case (c.TLSCert == "") != (c.TLSKey == ""):
		l.add("tls_cert", false, "tls_cert 和 tls_key 要一起设置（证书和它的私钥）", "set both tls_cert and tls_key (the certificate and its key), or neither")
	case c.TLSCert != "":
		if _, err := tls.LoadX509KeyPair(c.TLSCert, c.TLSKey); err != nil {
			l.add("tls_cert", false, "无法读取证书和私钥："+err.Error(), "cannot load the certificate and key: "+err.Error())
		}
	case !isLoopback(c.Listen):
		l.add("listen", true, "在非本机地址上提供明文 HTTP：请放在 HTTPS 前端（nginx、Caddy）之后并监听 127.0.0.1，或设置 tls_cert 和 tls_key",
			"plain HTTP on a non-loopback address: listen on 127.0.0.1 behind the HTTPS front (nginx, Caddy), or set tls_cert and tls_key")
	}
}

// policy returns the transfer policy the config names.
func (c *GatewayConfig) policy(l *problemList) push.Policy {
	switch c.Policy {
	case policyAlways:
		if c.BusinessHours != "" {
			l.add("business_hours", true, "policy = \"always\" 时不起作用；要按营业时间转人工，请设置 policy = \"business_hours\"",
				"ignored with policy = \"always\"; set policy = \"business_hours\" to transfer only in business hours")
		}
		return push.Always{}
	case policyBusinessHours:
	default:
		l.add("policy", false, fmt.Sprintf("只能是 \"always\"（默认，总是转人工客服）或 \"business_hours\"，现在是 %q", c.Policy),
			fmt.Sprintf("must be \"always\" (the default: transfer every message) or \"business_hours\" (got %q)", c.Policy))
		return nil
	}
	var loc *time.Location // nil: China time
	if c.TimeZone != "" {
		var err error
		if loc, err = time.LoadLocation(c.TimeZone); err != nil {
			l.add("time_zone", false, fmt.Sprintf("不认识的时区 %q，例如 \"Asia/Shanghai\"", c.TimeZone), fmt.Sprintf("unknown time zone %q: want an IANA name like \"Asia/Shanghai\"", c.TimeZone))
			return nil
		}
	}
	if c.BusinessHours == "" {
		l.add("business_hours", false, "policy = \"business_hours\" 时必须设置，例如 \"mon-fri 09:00-18:00\"",
			"required with policy = \"business_hours\", e.g. \"mon-fri 09:00-18:00\"")
		return nil
	}
	b, err := push.ParseBusinessHours(c.BusinessHours, loc)
	if err != nil {
		l.add("business_hours", false, fmt.Sprintf("无法识别 %q，例如 \"mon-fri 09:00-18:00\" 或 \"daily 09:00-21:00\"", c.BusinessHours), err.Error())
		return nil
	}
	return b
}

// checkLimits checks the durations and sizes.
func (c *GatewayConfig) checkLimits(l *problemList) {
	positive := func(key string, d time.Duration, example string) {
		if d <= 0 {
			l.add(key, false, "必须大于 0，例如 \""+example+"\"", "must be positive, e.g. \""+example+"\"")
		}
	}
	positive("timestamp_window", c.TimestampWindow.Duration, "5m")
	positive("reply_budget", c.ReplyBudget.Duration, "2s")
	positive("dedupe_ttl", c.DedupeTTL.Duration, "72h")
	positive("feed_ttl", c.FeedTTL.Duration, "10m")
	positive("retry.base", c.Retry.Base.Duration, "2s")
	positive("retry.max", c.Retry.Max.Duration, "10m")
	if c.ReplyBudget.Duration >= 5*time.Second {
		l.add("reply_budget", false, "必须小于 5 秒：微信 5 秒内收不到回复就放弃，用户的消息进不了客服工具",
			"must be under 5s: WeChat gives up after 5 s, and the message never reaches the console")
	}
	if c.TimestampWindow.Duration > time.Hour {
		l.add("timestamp_window", true, "超过 1 小时：截获的推送在这段时间内都可以被重放", "over an hour: a captured push can be replayed for that long")
	}
	if c.MaxBodySize <= 0 {
		l.add("max_body_size", false, "必须是正的字节数，例如 262144", "must be a positive number of bytes, e.g. 262144")
	}
	if c.Retry.MaxAttempts <= 0 {
		l.add("retry.max_attempts", false, "必须是正整数，例如 24", "must be a positive number, e.g. 24")
	}
}

// storeSpec picks the store: store or store_env, else gateway.db in the
// data directory.
func (c *GatewayConfig) storeSpec(getenv func(string) string, l *problemList) storeSpec {
	v := l.secret(getenv, "store", c.Store, c.StoreEnv, false)
	switch {
	case v == "":
		return storeSpec{path: filepath.Join(c.DataDir, gatewayDBFile)}
	case isPostgresURL(v):
		if u, err := url.Parse(v); err != nil || u.Host == "" {
			l.add("store", false, "不是有效的 PostgreSQL 地址，例如 postgres://gateway@db.shop.lan:5432/gateway?sslmode=verify-full",
				"not a PostgreSQL URL like postgres://gateway@db.shop.lan:5432/gateway?sslmode=verify-full")
		}
		return storeSpec{postgres: true, dsn: v}
	default:
		return storeSpec{path: v}
	}
}

// workstations reads the feed's tokens into tokens.
func (c *GatewayConfig) workstations(getenv func(string) string, l *problemList, tokens map[string]string) {
	if len(c.Workstations) == 0 {
		l.add("workstations", true, "没有配置工作站：侧边栏收不到来源、物流更新和排队消息（订阅地址 "+gatewayFeedPath+"）",
			"none configured: no sidebar gets 来源, tracking updates or queued messages (the feed at "+gatewayFeedPath+")")
	}
	for _, name := range sortedKeys(c.Workstations) {
		w := c.Workstations[name]
		key := "workstations." + name
		if !nameRE.MatchString(name) {
			l.add(key, false, "名字只能用英文字母、数字、_ . -（最长 64 个字符）", "a workstation's name is letters, digits, _ . - (up to 64 characters)")
		}
		tok := l.secret(getenv, key+".token", w.Token, w.TokenEnv, true)
		switch {
		case tok == "":
		case len(tok) < 16:
			l.add(key+".token", false, "至少 16 个字符；可以用 openssl rand -hex 16 生成", "at least 16 characters; make one with openssl rand -hex 16")
		case tokens[tok] != "":
			l.add(key+".token", false, "和工作站 "+tokens[tok]+" 的相同：每台工作站要有自己的令牌", "the same as workstation "+tokens[tok]+"'s: every workstation needs its own token")
		default:
			tokens[tok] = name
		}
	}
}

// sortedKeys returns m's keys in order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
