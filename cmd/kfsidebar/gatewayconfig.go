package main

import (
	"cmp"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"log/slog"
	"math"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/kfsidebar/kfsidebar/internal/tomlconfig"
	"github.com/kfsidebar/kfsidebar/push"
)

// The gateway's files and fixed paths.
const (
	// gatewayConfigName is the file `kfsidebar gateway` reads from the
	// data directory when --config does not name another. It is not
	// kfsidebar.toml: the workstation's [gateway] table (which gateway to
	// subscribe to) and the shop server's (the gateway itself) share a
	// name and a few keys, so one file holding both would be ambiguous.
	gatewayConfigName = "gateway.toml"
	// gatewayDBFile is the default store: SQLite in the data directory.
	gatewayDBFile = "gateway.db"
	// gatewayFeedPath is where workstations subscribe (push/feed).
	gatewayFeedPath = "/feed"
	// gatewayStatusJSON is the status page's machine-readable twin.
	gatewayStatusJSON = "/status.json"
)

// Policies, the values of [gateway] policy.
const (
	policyAlways        = "always"
	policyBusinessHours = "business_hours"
)

// GatewayConfig is the [gateway] table of gateway.toml, which flags
// override. The names are a contract quoted by shops' own docs
// (docs/config.md lists every key); secrets come from the file or, by
// the *_env keys, from the environment, and are never logged.
type GatewayConfig struct {
	// DataDir holds the default store (gateway.db) and the default config
	// file.
	DataDir string `toml:"data_dir"`
	// Listen is where the gateway serves: the push path, the feed and the
	// status page. Loopback behind the shop's HTTPS front, by default.
	Listen string `toml:"listen"`
	// Path is the URL path entered in WeChat's admin (消息推送 URL).
	Path string `toml:"path"`

	Token                     string `toml:"token"`
	TokenEnv                  string `toml:"token_env"`
	EncodingAESKey            string `toml:"encoding_aes_key"`
	EncodingAESKeyEnv         string `toml:"encoding_aes_key_env"`
	AppID                     string `toml:"appid"`
	OriginalID                string `toml:"original_id"`
	PreviousToken             string `toml:"previous_token"`
	PreviousTokenEnv          string `toml:"previous_token_env"`
	PreviousEncodingAESKey    string `toml:"previous_encoding_aes_key"`
	PreviousEncodingAESKeyEnv string `toml:"previous_encoding_aes_key_env"`
	RequireEncrypted          bool   `toml:"require_encrypted"`

	// Policy is "always" or "business_hours" (with BusinessHours, in
	// TimeZone; "" is China time, UTC+8).
	Policy        string `toml:"policy"`
	BusinessHours string `toml:"business_hours"`
	TimeZone      string `toml:"time_zone"`

	TimestampWindow duration     `toml:"timestamp_window"`
	ReplyBudget     duration     `toml:"reply_budget"`
	MaxBodySize     int64        `toml:"max_body_size"`
	DedupeTTL       duration     `toml:"dedupe_ttl"`
	FeedTTL         duration     `toml:"feed_ttl"`
	Retry           gatewayRetry `toml:"retry"`

	// Store is a SQLite file or a postgres:// URL; StoreEnv names an
	// environment variable holding either. Neither: gateway.db in DataDir.
	Store    string `toml:"store"`
	StoreEnv string `toml:"store_env"`

	// TLSCert and TLSKey make the gateway serve HTTPS itself.
	TLSCert string `toml:"tls_cert"`
	TLSKey  string `toml:"tls_key"`
	// StatusPage serves / and /status.json on Listen (Host-checked).
	StatusPage bool       `toml:"status_page"`
	LogLevel   slog.Level `toml:"log_level"`

	Targets      map[string]gatewayTarget      `toml:"targets"`
	Workstations map[string]gatewayWorkstation `toml:"workstations"`
}

// gatewayRetry is [gateway.retry], the outbox's schedule (push.Retry).
type gatewayRetry struct {
	Base        duration `toml:"base"`
	Max         duration `toml:"max"`
	MaxAttempts int      `toml:"max_attempts"`
}

// gatewayTarget is [gateway.targets.NAME]: one of the shop's systems.
// Zero Timeout and Concurrency take push's defaults (10 s, 4).
type gatewayTarget struct {
	URL         string   `toml:"url"`
	Secret      string   `toml:"secret"`
	SecretEnv   string   `toml:"secret_env"`
	Match       []string `toml:"match"`
	Timeout     duration `toml:"timeout"`
	Concurrency int      `toml:"concurrency"`
}

// gatewayWorkstation is [gateway.workstations.NAME]: a workstation's
// token for the feed.
type gatewayWorkstation struct {
	Token    string `toml:"token"`
	TokenEnv string `toml:"token_env"`
}

// gatewayFile is the whole gateway.toml: the [gateway] table only.
type gatewayFile struct {
	Gateway *GatewayConfig `toml:"gateway"`
}

// DefaultGatewayConfig holds the defaults the file and flags override.
func DefaultGatewayConfig() GatewayConfig {
	return GatewayConfig{
		DataDir:         defaultDataDir(),
		Listen:          "127.0.0.1:8788",
		Path:            "/wechat",
		Policy:          policyAlways,
		TimestampWindow: duration{push.DefaultTimestampWindow},
		ReplyBudget:     duration{push.DefaultReplyBudget},
		MaxBodySize:     push.DefaultMaxBodySize,
		DedupeTTL:       duration{push.DefaultDedupeTTL},
		FeedTTL:         duration{push.DefaultFeedTTL},
		Retry: gatewayRetry{
			Base:        duration{push.DefaultRetryBase},
			Max:         duration{push.DefaultRetryMax},
			MaxAttempts: push.DefaultMaxAttempts,
		},
		StatusPage: true,
		LogLevel:   slog.LevelInfo,
	}
}

// gatewayFlags are the command's own flags beside c's.
type gatewayFlags struct {
	config    string // --config
	readyFile string // --ready-file
}

// bindFlags registers the flags that override the file. Secrets have no
// flags: a command line is visible to every user of the machine.
func (c *GatewayConfig) bindFlags(fs *flag.FlagSet, gf *gatewayFlags) {
	fs.StringVar(&gf.config, "config", "", "the gateway's TOML config `file` (default: "+gatewayConfigName+" in the data directory); flags override it")
	fs.StringVar(&c.DataDir, "data-dir", c.DataDir, "directory of the default config file and store (env KFSIDEBAR_DATA_DIR)")
	fs.StringVar(&c.Listen, "listen", c.Listen, "address to serve on (loopback behind the shop's HTTPS front)")
	fs.StringVar(&c.Store, "store", c.Store, "SQLite `file` or postgres:// URL (default: "+gatewayDBFile+" in the data directory)")
	fs.StringVar(&c.TLSCert, "tls-cert", c.TLSCert, "serve HTTPS with this PEM certificate `file` (and --tls-key)")
	fs.StringVar(&c.TLSKey, "tls-key", c.TLSKey, "the PEM private key `file` of --tls-cert")
	fs.TextVar(&c.LogLevel, "log-level", c.LogLevel, "debug, info, warn or error (openids and message text are logged only at debug)")
	fs.StringVar(&gf.readyFile, "ready-file", "", "write the address the gateway listens on to this `file` once it serves (for whatever starts it)")
}

// load reads the config file under the flags in args: --config, else
// gateway.toml in the data directory. There must be one: the token and
// the mini program's ids have no flags. It returns the file's path and
// contents, for problems reported later by line; gf.config is the path,
// also when the file cannot be read, for doctor's header.
func (c *GatewayConfig) load(flags *flag.FlagSet, gf *gatewayFlags, args []string) (path string, data []byte, err error) {
	path, dataDir, err := fileFlags(flags, args)
	if err != nil {
		return "", nil, parseFlags(flags, args) // let the flag package report it
	}
	named := path != ""
	if !named {
		if dataDir == "" {
			dataDir = c.DataDir
		}
		path = filepath.Join(dataDir, gatewayConfigName)
	}
	gf.config = path
	data, err = os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist) && !named:
		return "", nil, errors.New(zhEn(fmt.Sprintf("没有网关配置文件：%s 不存在；请写一个（docs/gateway-setup.md），然后运行 kfsidebar gateway --config FILE", path),
			fmt.Sprintf("no gateway config: %s does not exist; write one (docs/gateway-setup.md) and run kfsidebar gateway --config FILE", path)))
	case err != nil:
		return "", nil, fmt.Errorf("config: %w", err)
	}
	if err := tomlconfig.Decode(path, data, &gatewayFile{Gateway: c}); err != nil {
		return "", nil, err
	}
	if err := parseFlags(flags, args); err != nil {
		return "", nil, err
	}
	gf.config = path
	return path, data, nil
}

// fileErrors turns the error-level problems into file errors by line,
// all of them at once; nil when there are none.
func fileErrors(path string, data []byte, problems []push.Problem) error {
	lines := tomlconfig.KeyLines(data)
	var errs []error
	for _, p := range inFileOrder(problems, lines) {
		if !p.Warning {
			errs = append(errs, &tomlconfig.Error{File: path, Line: problemLine(lines, p), Key: "gateway." + p.Key, Reason: p.Message})
		}
	}
	return errors.Join(errs...)
}

// problemLine is the line of the key at fault, or of its *_env twin; 0
// when the file does not have it.
func problemLine(lines map[string]int, p push.Problem) int {
	key := "gateway." + p.Key
	return max(lines[key], lines[key+"_env"])
}

// inFileOrder sorts problems as the file has their keys, missing keys
// last, so the person fixing them reads the file once from the top.
func inFileOrder(problems []push.Problem, lines map[string]int) []push.Problem {
	order := func(p push.Problem) int {
		if l := problemLine(lines, p); l > 0 {
			return l
		}
		return math.MaxInt
	}
	ps := slices.Clone(problems)
	slices.SortStableFunc(ps, func(a, b push.Problem) int { return cmp.Compare(order(a), order(b)) })
	return ps
}

var (
	// nameRE is what a target's or workstation's name may be: it shows in
	// logs, on the status page and on replay's command line.
	nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)
	// pathRE is a push path ServeMux takes literally (no {wildcards}).
	pathRE = regexp.MustCompile(`^(/[A-Za-z0-9._~-]+)+/?$`)
)

// problemList collects problems, one per key: push.Check does not repeat a
// key this file already found wrong.
type problemList struct {
	ps   []push.Problem
	seen map[string]bool
}

func (l *problemList) add(key string, warning bool, zh, en string) {
	if l.seen == nil {
		l.seen = map[string]bool{}
	}
	l.seen[strings.TrimSuffix(key, "_env")] = true
	l.ps = append(l.ps, push.Problem{Key: key, Warning: warning, Message: zhEn(zh, en)})
}

// secret reads a key given in the file or by an *_env key: at most one of
// the two (exactly one when required).
func (l *problemList) secret(getenv func(string) string, key, value, env string, required bool) string {
	switch {
	case value != "" && env != "":
		l.add(key+"_env", false, fmt.Sprintf("%s 和 %s_env 只能设置一个", key, key), fmt.Sprintf("set only one of %s and %s_env", key, key))
		return ""
	case env != "":
		v := getenv(env)
		if v == "" {
			l.add(key+"_env", false, "环境变量 "+env+" 未设置或为空", "the environment variable "+env+" is not set (or is empty)")
		}
		return strings.TrimSpace(v)
	case value == "" && required:
		l.add(key, false, fmt.Sprintf("未设置：在文件里写 %s，或用 %s_env 指定保存它的环境变量", key, key),
			fmt.Sprintf("not set: give %s, or name the environment variable that holds it with %s_env", key, key))
	}
	return value
}

// storeSpec is the database the gateway keeps its state in.
type storeSpec struct {
	postgres bool
	path     string // SQLite
	dsn      string // PostgreSQL; it may hold a password: never print it
}

// String names the store without credentials, for the banner, the status
// page and doctor.
func (s storeSpec) String() string {
	if !s.postgres {
		return "SQLite " + s.path
	}
	u, err := url.Parse(s.dsn)
	if err != nil {
		return "PostgreSQL"
	}
	return "PostgreSQL " + u.Host + u.Path
}

// isPostgresURL tells a PostgreSQL URL from a SQLite file name.
func isPostgresURL(s string) bool {
	return strings.HasPrefix(s, "postgres://") || strings.HasPrefix(s, "postgresql://")
}

// randomHex returns n random bytes in hex.
func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// randomAlnum returns n random letters and digits: an EncodingAESKey.
func randomAlnum(n int) string {
	const chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, n)
	rand.Read(b)
	for i := range b {
		b[i] = chars[int(b[i])%len(chars)]
	}
	return string(b)
}
