package push

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strings"

	"github.com/kfsidebar/kfsidebar/push/wxcrypto"
)

// Problem is one finding of Check, written for the shop's staff: the key
// at fault and what to do, in Chinese and then English.
type Problem struct {
	// Key is the [gateway] config key, e.g. "encoding_aes_key" or
	// "targets.erp.url".
	Key string
	// Warning is set when the gateway still works (but should not be left
	// so); otherwise New refuses the config.
	Warning bool
	// Message says what is wrong and what to do.
	Message string
}

// String is the line `gateway doctor` prints: key, level and message.
func (p Problem) String() string {
	level := "错误 error"
	if p.Warning {
		level = "警告 warning"
	}
	return fmt.Sprintf("[gateway] %s: %s — %s", p.Key, level, p.Message)
}

var (
	tokenRE      = regexp.MustCompile(`^[A-Za-z0-9]{3,32}$`)
	aesKeyRE     = regexp.MustCompile(`^[A-Za-z0-9]{43}$`)
	appIDRE      = regexp.MustCompile(`^wx[0-9a-f]{16}$`)
	originalIDRE = regexp.MustCompile(`^gh_[0-9a-f]{12}$`)
)

// Check is `kfsidebar gateway doctor`'s look at a config: token and key
// formats, appid, original id, targets. It lists every problem, not just
// the first; New refuses a config with any non-warning problem.
func Check(c Config) []Problem {
	var ps []Problem
	add := func(key string, warning bool, zh, en string) {
		ps = append(ps, Problem{Key: key, Warning: warning, Message: zh + " / " + en})
	}
	switch {
	case c.Token == "":
		add("token", false, "未设置。请从小程序后台「开发 → 开发管理 → 消息推送配置」复制 Token（或用 token_env 指定环境变量）",
			"not set: copy the Token from the mini program admin (开发管理 → 消息推送配置), or name an environment variable with token_env")
	case !tokenRE.MatchString(c.Token):
		add("token", false, "格式不对：微信的 Token 是 3–32 位英文字母或数字，请检查是否多了空格或引号",
			"wrong format: WeChat's Token is 3 to 32 letters or digits; look for a stray space or quote")
	}
	checkKey := func(key, v string) {
		if v == "" {
			return
		}
		if _, err := wxcrypto.ParseKey(v); err != nil || !aesKeyRE.MatchString(v) {
			add(key, false, fmt.Sprintf("格式不对：应为 43 位英文字母或数字（现在是 %d 位），请从后台重新复制，不要带末尾的“=”", len(v)),
				fmt.Sprintf("wrong format: must be the 43 letters and digits from the admin (this has %d characters); copy it again, without a trailing \"=\"", len(v)))
		}
	}
	checkKey("encoding_aes_key", c.EncodingAESKey)
	checkKey("previous_encoding_aes_key", c.PreviousEncodingAESKey)
	if c.PreviousToken != "" && !tokenRE.MatchString(c.PreviousToken) {
		add("previous_token", false, "格式不对：应为 3–32 位英文字母或数字", "wrong format: 3 to 32 letters or digits")
	}
	if c.EncodingAESKey == "" {
		if c.RequireEncrypted {
			add("require_encrypted", false, "要求加密却没有设置 encoding_aes_key，所有推送都会被拒绝",
				"set, but encoding_aes_key is not: every push would be refused")
		} else {
			add("encoding_aes_key", true, "未设置：只能接收明文模式的推送；后台切到兼容或安全模式后推送会被拒绝，用户消息将进不了客服工具",
				"not set: only plain-mode pushes are accepted; if the admin switches to compatible or safe mode, pushes are refused and messages never reach the console")
		}
	}
	switch {
	case c.AppID == "" && c.EncodingAESKey != "":
		add("appid", false, "未设置。请填写小程序的 AppID（第三方平台代收时填第三方平台的 AppID），解密后的消息以它结尾",
			"not set: the mini program's AppID (a third-party platform's own AppID when it receives for the mini program); every decrypted message ends with it")
	case c.AppID != "" && !appIDRE.MatchString(c.AppID):
		add("appid", false, "格式不对：AppID 是 wx 加 16 位十六进制小写字符，例如 wxba5fad812f8e6fb9",
			"wrong format: an AppID is wx and 16 lowercase hex digits, e.g. wxba5fad812f8e6fb9")
	}
	switch {
	case c.OriginalID == "":
		add("original_id", false, "未设置。请填写小程序的原始 ID（gh_ 开头，在后台「设置 → 基本设置」中），转人工客服的回复需要它",
			"not set: the mini program's original id (starts with gh_, under 设置 → 基本设置); transfer replies are sent from it")
	case !strings.HasPrefix(c.OriginalID, "gh_"):
		add("original_id", false, "格式不对：原始 ID 以 gh_ 开头（不是 AppID）", "wrong format: the original id starts with gh_ (it is not the AppID)")
	case !originalIDRE.MatchString(c.OriginalID):
		add("original_id", true, "不像常见的原始 ID（gh_ 加 12 位十六进制），请核对", "unusual: original ids are gh_ and 12 hex digits; double-check it")
	}
	names := map[string]bool{}
	for i, t := range c.Targets {
		key := fmt.Sprintf("targets[%d]", i)
		if t.Name != "" {
			key = "targets." + t.Name
		}
		switch {
		case t.Name == "":
			add(key+".name", false, "未设置：每个目标需要一个名字（日志、状态页和 replay 用）", "not set: every target needs a name (logs, status page, replay)")
		case names[t.Name]:
			add(key+".name", false, "重复：目标名字必须唯一", "duplicate: target names must be unique")
		}
		names[t.Name] = true
		u, err := url.Parse(t.URL)
		switch {
		case t.URL == "" || err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http"):
			add(key+".url", false, "需要完整的 https:// 地址，例如 https://erp.shop.example/hooks/wechat",
				"needs a full https:// URL, e.g. https://erp.shop.example/hooks/wechat")
		case u.Scheme == "http" && !privateHost(u.Hostname()):
			add(key+".url", true, "使用明文 http 发往公网地址：推送内容（含用户 openid）会在网络上明文传输，请改用 https",
				"plain http to a public address: pushes (with users' openids) cross the network unencrypted; use https")
		}
		if len(t.Secret) < 16 {
			add(key+".secret", false, "至少 16 个字符：用于 X-Kfsidebar-Signature 签名，目标系统用它校验推送确实来自网关",
				"at least 16 characters: it signs X-Kfsidebar-Signature, so the target can tell the gateway's deliveries from anyone else's")
		}
	}
	return ps
}

// checkErr joins Check's errors (not its warnings) under ErrConfig.
func checkErr(c Config) error {
	var errs []error
	for _, p := range Check(c) {
		if !p.Warning {
			errs = append(errs, errors.New(p.String()))
		}
	}
	if len(errs) == 0 {
		return nil
	}
	return fmt.Errorf("%w: %w", ErrConfig, errors.Join(errs...))
}

// privateHost reports whether host is loopback, private or link-local:
// plain http there does not cross the internet.
func privateHost(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && (ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast())
}
