package main

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/kfsidebar/kfsidebar/internal/textfile"
	"github.com/kfsidebar/kfsidebar/internal/tomlconfig"
	"github.com/kfsidebar/kfsidebar/proxy"
	"github.com/kfsidebar/kfsidebar/sidebar/shop"
	"github.com/kfsidebar/kfsidebar/sidebar/shop/shophttp"
	"github.com/kfsidebar/kfsidebar/sidebar/shop/shopsql"
)

// configFileName is the config file kfsidebar reads from the data
// directory when --config does not name another.
const configFileName = "kfsidebar.toml"

// Order backends, the values of [orders] backend.
const (
	backendSQLite = "sqlite"
	backendHTTP   = "http"
	backendSQL    = "sql"
)

// OrdersConfig is the [orders] table: where customers and orders come
// from, and how answers are cached. Only the config file sets it.
type OrdersConfig struct {
	// Backend is "sqlite" (the embedded database, default), "http" or
	// "sql".
	Backend string `toml:"backend"`
	// RecentOrders is how many of a customer's orders are shown; default 20.
	RecentOrders int `toml:"recent_orders"`
	// CacheTTL is how long an answer is reused; default 30s.
	CacheTTL duration `toml:"cache_ttl"`
	// FailureThreshold failures in a row pause the backend for OpenFor;
	// defaults 5 and 30s.
	FailureThreshold int        `toml:"failure_threshold"`
	OpenFor          duration   `toml:"open_for"`
	HTTP             HTTPConfig `toml:"http"`
	SQL              SQLConfig  `toml:"sql"`
}

// HTTPConfig is [orders.http], the shop's API (see shophttp.Options).
type HTTPConfig struct {
	LookupURL   string            `toml:"lookup_url"`
	CustomerURL string            `toml:"customer_url"`
	SearchURL   string            `toml:"search_url"`
	Method      string            `toml:"method"`
	Headers     map[string]string `toml:"headers"`
	// Secret or SecretEnv (the name of an environment variable holding
	// it): exactly one.
	Secret          string   `toml:"secret"`
	SecretEnv       string   `toml:"secret_env"`
	Timeout         duration `toml:"timeout"`
	MaxResponseSize int64    `toml:"max_response_size"`
	// CAFile holds extra PEM roots for a shop API with its own CA.
	CAFile string `toml:"ca_file"`
}

// SQLConfig is [orders.sql], the shop's database (see shopsql.Options).
type SQLConfig struct {
	Driver string `toml:"driver"`
	// DSN or DSNEnv (an environment variable holding it): exactly one.
	DSN    string `toml:"dsn"`
	DSNEnv string `toml:"dsn_env"`
	// PasswordEnv names an environment variable whose value replaces the
	// DSN's password.
	PasswordEnv      string   `toml:"password_env"`
	StatementTimeout duration `toml:"statement_timeout"`
	TimeZone         string   `toml:"time_zone"`
	CustomerByOpenID string   `toml:"customer_by_openid"`
	CustomerByID     string   `toml:"customer_by_id"`
	Orders           string   `toml:"orders"`
	OrderItems       string   `toml:"order_items"`
	SearchByPhone    string   `toml:"search_by_phone"`
	SearchByOrderNo  string   `toml:"search_by_order_no"`
	SearchByName     string   `toml:"search_by_name"`
}

// DefaultOrdersConfig is the embedded database with the cache defaults.
func DefaultOrdersConfig() OrdersConfig {
	return OrdersConfig{
		Backend:          backendSQLite,
		RecentOrders:     shop.DefaultRecentOrders,
		CacheTTL:         duration{shop.DefaultCacheTTL},
		FailureThreshold: shop.DefaultFailureThreshold,
		OpenFor:          duration{shop.DefaultOpenFor},
		HTTP: HTTPConfig{
			Method:          "GET",
			Timeout:         duration{shophttp.DefaultTimeout},
			MaxResponseSize: shophttp.DefaultMaxResponseSize,
		},
		SQL: SQLConfig{
			StatementTimeout: duration{shopsql.DefaultStatementTimeout},
			TimeZone:         "Local",
		},
	}
}

// duration is a time.Duration written as text ("30s") in the file. It is
// a struct so that a bare number (30: nanoseconds?) is an error, not a
// surprise.
type duration struct{ time.Duration }

// UnmarshalText reads "30s", "2m", "72h".
func (d *duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil || v < 0 {
		return fmt.Errorf("want a duration in quotes, like \"30s\", \"2m\" or \"72h\" (got %s)", b)
	}
	d.Duration = v
	return nil
}

// TOMLHint says how a duration is written, for config errors.
func (duration) TOMLHint() string { return `a duration in quotes, like "30s"` }

// MarshalText writes the duration as UnmarshalText reads it.
func (d duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// fileConfig is the whole file. The proxy's settings are pointers so that
// what the file leaves out keeps its default.
type fileConfig struct {
	DataDir           *string       `toml:"data_dir"`
	Listen            *string       `toml:"listen"`
	ConsoleHosts      []string      `toml:"console_hosts"`
	UpstreamCA        *string       `toml:"upstream_ca"`
	UpstreamProxy     *string       `toml:"upstream_proxy"`
	Dial              []string      `toml:"dial"`
	SessionTTL        *duration     `toml:"session_ttl"`
	TunnelIdleTimeout *duration     `toml:"tunnel_idle_timeout"`
	ScanTargetsOnly   *bool         `toml:"scan_targets_only"`
	LogLevel          *slog.Level   `toml:"log_level"`
	Orders            *OrdersConfig `toml:"orders"`
	Gateway           *FeedConfig   `toml:"gateway"`
}

// readConfigFile applies the file at path to c. A missing file is fine
// unless the user named it (required). The errors are *tomlconfig.Error, all
// of the unknown keys at once.
func readConfigFile(path string, required bool, c *Config) error {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) && !required {
		return nil
	}
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	// As Notepad saves it: with a BOM, or in GBK ("ANSI").
	if data, _, err = textfile.Decode(data, textfile.Auto); err != nil {
		return fmt.Errorf("config: %s: %w", path, err)
	}
	f := fileConfig{Orders: &c.Orders, Gateway: &c.Gateway}
	// Every problem at once: the decoder's (wrong types, unknown keys),
	// then the checks of the values that did decode.
	var errs []error
	bad := map[string]bool{} // keys the decoder already named
	if err := tomlconfig.Decode(path, data, &f); err != nil {
		for _, e := range joined(err) {
			var te *tomlconfig.Error
			if !errors.As(e, &te) || te.Key == "" {
				return err // a syntax error: the values after it were not read
			}
			bad[te.Key] = true
		}
		errs = append(errs, err)
	}
	// A value the decoder refused is left at what it was.
	ok := func(key string) bool { return !bad[key] }
	if ok("data_dir") {
		setIf(&c.DataDir, f.DataDir)
	}
	if ok("listen") {
		setIf(&c.Listen, f.Listen)
	}
	if ok("upstream_ca") {
		setIf(&c.UpstreamCA, f.UpstreamCA)
	}
	if ok("upstream_proxy") {
		setIf(&c.UpstreamProxy, f.UpstreamProxy)
	}
	if ok("scan_targets_only") {
		setIf(&c.ScanTargetsOnly, f.ScanTargetsOnly)
	}
	if ok("log_level") {
		setIf(&c.LogLevel, f.LogLevel)
	}
	if f.SessionTTL != nil && ok("session_ttl") {
		c.SessionTTL = f.SessionTTL.Duration
	}
	if f.TunnelIdleTimeout != nil && ok("tunnel_idle_timeout") {
		c.TunnelIdleTimeout = f.TunnelIdleTimeout.Duration
	}
	if f.ConsoleHosts != nil && ok("console_hosts") {
		c.ConsoleHosts = f.ConsoleHosts
	}
	if f.Dial != nil && ok("dial") {
		c.Dial = f.Dial
	}
	c.ConfigFile = path
	lines := tomlconfig.KeyLines(data)
	for _, p := range append(c.Orders.problems(), c.Gateway.problems()...) {
		if followsFrom(p.key, bad) {
			continue
		}
		errs = append(errs, &tomlconfig.Error{File: path, Line: lines[p.key], Key: p.key, Reason: p.reason})
	}
	for _, d := range c.Dial {
		if _, _, err := proxy.ParseDialOverride(d); err != nil {
			errs = append(errs, &tomlconfig.Error{File: path, Line: lines["dial"], Key: "dial", Reason: err.Error()})
		}
	}
	return errors.Join(errs...)
}

// followsFrom says whether a problem with key follows from a key the
// decoder already named: the same key, any [orders] key when the backend
// itself was wrong, or a key of the [gateway] table that has a misspelt or
// mistyped key (gateway.tokn leaves token unset).
func followsFrom(key string, bad map[string]bool) bool {
	if bad[key] || strings.HasPrefix(key, "orders.") && bad["orders.backend"] {
		return true
	}
	if strings.HasPrefix(key, "gateway.") {
		for b := range bad {
			if strings.HasPrefix(b, "gateway.") {
				return true
			}
		}
	}
	return false
}

// joined splits an errors.Join into its errors.
func joined(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

func setIf[T any](dst *T, v *T) {
	if v != nil {
		*dst = *v
	}
}

// problem is a bad value in [orders], by its dotted key.
type problem struct{ key, reason string }

// problems checks the [orders] table without reaching the backend: the
// backend's own constructor checks the rest (URL templates, queries).
func (o *OrdersConfig) problems() []problem {
	var ps []problem
	add := func(key, format string, args ...any) { ps = append(ps, problem{key, fmt.Sprintf(format, args...)}) }
	switch o.Backend {
	case backendSQLite:
	case backendHTTP:
		h := &o.HTTP
		if h.LookupURL == "" {
			add("orders.http.lookup_url", `required with backend = "http", e.g. "https://shop.example/kfsidebar/customers/by-openid/{openid}"`)
		}
		if (h.Secret == "") == (h.SecretEnv == "") {
			add("orders.http.secret_env", "set exactly one of secret and secret_env (the name of an environment variable holding the secret)")
		} else if h.SecretEnv != "" && os.Getenv(h.SecretEnv) == "" {
			add("orders.http.secret_env", "the environment variable %s is not set", h.SecretEnv)
		}
		if h.MaxResponseSize <= 0 {
			add("orders.http.max_response_size", "must be a positive number of bytes (got %d)", h.MaxResponseSize)
		}
		if h.Timeout.Duration <= 0 {
			add("orders.http.timeout", `must be positive, e.g. "3s"`)
		}
	case backendSQL:
		s := &o.SQL
		switch s.Driver {
		case shopsql.DriverPostgres, shopsql.DriverMySQL:
		case "":
			add("orders.sql.driver", `required with backend = "sql": "postgres" or "mysql" (also for MariaDB)`)
		default:
			add("orders.sql.driver", `must be "postgres" or "mysql" (also for MariaDB), got %q`, s.Driver)
		}
		if (s.DSN == "") == (s.DSNEnv == "") {
			add("orders.sql.dsn", "set exactly one of dsn and dsn_env (the name of an environment variable holding the DSN)")
		} else if s.DSNEnv != "" && os.Getenv(s.DSNEnv) == "" {
			add("orders.sql.dsn_env", "the environment variable %s is not set", s.DSNEnv)
		}
		if s.PasswordEnv != "" && os.Getenv(s.PasswordEnv) == "" {
			add("orders.sql.password_env", "the environment variable %s is not set", s.PasswordEnv)
		}
		if _, err := loadTimeZone(s.TimeZone); err != nil {
			add("orders.sql.time_zone", `must be "Local", "UTC" or an IANA name like "Asia/Shanghai" (got %q)`, s.TimeZone)
		}
		if s.StatementTimeout.Duration <= 0 {
			add("orders.sql.statement_timeout", `must be positive, e.g. "3s"`)
		}
	default:
		add("orders.backend", `must be "sqlite", "http" or "sql" (got %q)`, o.Backend)
	}
	if o.RecentOrders <= 0 {
		add("orders.recent_orders", "must be a positive number (got %d)", o.RecentOrders)
	}
	if o.CacheTTL.Duration <= 0 {
		add("orders.cache_ttl", `must be positive, e.g. "30s"`)
	}
	if o.FailureThreshold <= 0 {
		add("orders.failure_threshold", "must be a positive number (got %d)", o.FailureThreshold)
	}
	if o.OpenFor.Duration <= 0 {
		add("orders.open_for", `must be positive, e.g. "30s"`)
	}
	return ps
}

func loadTimeZone(name string) (*time.Location, error) {
	if name == "" || name == "Local" {
		return time.Local, nil
	}
	return time.LoadLocation(name)
}

// defaultConfigPath is where run looks for the file without --config.
func defaultConfigPath(dataDir string) string { return filepath.Join(dataDir, configFileName) }
