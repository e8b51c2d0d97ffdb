package main

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"time"

	"github.com/pelletier/go-toml/v2"
	"github.com/pelletier/go-toml/v2/unstable"

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

// MarshalText writes the duration as UnmarshalText reads it.
func (d duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// fileConfig is the whole file. The proxy's settings are pointers so that
// what the file leaves out keeps its default.
type fileConfig struct {
	DataDir         *string       `toml:"data_dir"`
	Listen          *string       `toml:"listen"`
	ConsoleHosts    []string      `toml:"console_hosts"`
	UpstreamCA      *string       `toml:"upstream_ca"`
	UpstreamProxy   *string       `toml:"upstream_proxy"`
	Dial            []string      `toml:"dial"`
	SessionTTL      *duration     `toml:"session_ttl"`
	ScanTargetsOnly *bool         `toml:"scan_targets_only"`
	LogLevel        *slog.Level   `toml:"log_level"`
	Orders          *OrdersConfig `toml:"orders"`
}

// ConfigError is one problem in a config file, with where it is and what
// was expected, so that the user can fix it.
type ConfigError struct {
	File      string
	Line, Col int    // 0 when unknown
	Key       string // dotted, e.g. "orders.http.secret"; "" for the file as a whole
	Reason    string
}

// Error reads like "kfsidebar.toml:7:1: orders.http.secert: unknown key; …".
func (e *ConfigError) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
		if e.Col > 0 {
			fmt.Fprintf(&b, ":%d", e.Col)
		}
	}
	b.WriteString(": ")
	if e.Key != "" {
		b.WriteString(e.Key + ": ")
	}
	b.WriteString(e.Reason)
	return b.String()
}

// readConfigFile applies the file at path to c. A missing file is fine
// unless the user named it (required). The errors are *ConfigError, all
// of the unknown keys at once.
func readConfigFile(path string, required bool, c *Config) error {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) && !required {
		return nil
	}
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	f := fileConfig{Orders: &c.Orders}
	dec := toml.NewDecoder(bytes.NewReader(data)).DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return decodeErrors(path, data, err)
	}
	setIf(&c.DataDir, f.DataDir)
	setIf(&c.Listen, f.Listen)
	setIf(&c.UpstreamCA, f.UpstreamCA)
	setIf(&c.UpstreamProxy, f.UpstreamProxy)
	setIf(&c.ScanTargetsOnly, f.ScanTargetsOnly)
	setIf(&c.LogLevel, f.LogLevel)
	if f.SessionTTL != nil {
		c.SessionTTL = f.SessionTTL.Duration
	}
	if f.ConsoleHosts != nil {
		c.ConsoleHosts = f.ConsoleHosts
	}
	if f.Dial != nil {
		c.Dial = f.Dial
	}
	c.ConfigFile = path
	var errs []error
	lines := keyLines(data)
	for _, p := range c.Orders.problems() {
		errs = append(errs, &ConfigError{File: path, Line: lines[p.key], Key: p.key, Reason: p.reason})
	}
	for _, d := range c.Dial {
		if _, _, err := proxy.ParseDialOverride(d); err != nil {
			errs = append(errs, &ConfigError{File: path, Line: lines["dial"], Key: "dial", Reason: err.Error()})
		}
	}
	return errors.Join(errs...)
}

func setIf[T any](dst *T, v *T) {
	if v != nil {
		*dst = *v
	}
}

// decodeErrors turns the decoder's errors into ConfigErrors: every
// unknown key with a "did you mean", or the one syntax or type error.
func decodeErrors(path string, data []byte, err error) error {
	var strict *toml.StrictMissingError
	if errors.As(err, &strict) {
		var errs []error
		for _, e := range strict.Errors {
			line, col := e.Position()
			key := strings.Join(e.Key(), ".")
			errs = append(errs, &ConfigError{File: path, Line: line, Col: col, Key: key, Reason: unknownKeyReason(e.Key())})
		}
		return errors.Join(errs...)
	}
	var de *toml.DecodeError
	if errors.As(err, &de) {
		line, col := de.Position()
		reason := strings.TrimPrefix(de.Error(), "toml: ")
		if strings.Contains(reason, "cannot decode TOML") {
			reason = typeReason(de.Key(), reason)
		}
		return &ConfigError{File: path, Line: line, Col: col, Key: strings.Join(de.Key(), "."), Reason: reason}
	}
	// A TextUnmarshaler's error on a bare number comes without a position:
	// find the duration that is not a string.
	cerr := &ConfigError{File: path, Reason: err.Error()}
	eachKeyValue(data, func(key []string, kv *unstable.Node, pos unstable.Position) bool {
		if keyType(key) == reflect.TypeOf(duration{}) && kv.Value().Kind != unstable.String {
			cerr.Line, cerr.Col, cerr.Key = pos.Line, pos.Column, strings.Join(key, ".")
			return false
		}
		return true
	})
	return cerr
}

// typeReason says what type the key wants, in the file's terms.
func typeReason(key []string, msg string) string {
	t := keyType(key)
	if t == nil {
		return msg
	}
	want := ""
	switch {
	case t == reflect.TypeOf(duration{}):
		want = `a duration in quotes, like "30s"`
	case t == reflect.TypeOf(slog.Level(0)):
		want = `one of "debug", "info", "warn", "error"`
	case t.Kind() == reflect.String:
		want = "a string in quotes"
	case t.Kind() == reflect.Bool:
		want = "true or false"
	case t.Kind() == reflect.Int || t.Kind() == reflect.Int64:
		want = "a whole number"
	case t.Kind() == reflect.Slice:
		want = `a list of strings, like ["a", "b"]`
	case t.Kind() == reflect.Map:
		want = `a table of strings, like { "X-Shop" = "7" }`
	case t.Kind() == reflect.Struct:
		want = "a table"
	default:
		return msg
	}
	got := msg
	if i := strings.Index(msg, "cannot decode TOML "); i >= 0 {
		got = strings.Fields(msg[i+len("cannot decode TOML "):])[0]
	}
	return fmt.Sprintf("must be %s (got a %s)", want, got)
}

// knownKeys lists the keys of the table at prefix (nil: the top level).
func knownKeys(prefix []string) []string {
	t := tableType(prefix)
	if t == nil {
		return nil
	}
	var keys []string
	for i := range t.NumField() {
		if name, _, _ := strings.Cut(t.Field(i).Tag.Get("toml"), ","); name != "" {
			keys = append(keys, name)
		}
	}
	return keys
}

// tableType is the struct type of the table at path.
func tableType(path []string) reflect.Type {
	t := reflect.TypeOf(fileConfig{})
	for _, p := range path {
		f := fieldByTag(t, p)
		if f == nil {
			return nil
		}
		t = f.Type
		if t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct {
			return nil
		}
	}
	return t
}

func keyType(key []string) reflect.Type {
	if len(key) == 0 {
		return nil
	}
	t := tableType(key[:len(key)-1])
	if t == nil {
		return nil
	}
	f := fieldByTag(t, key[len(key)-1])
	if f == nil {
		return nil
	}
	if f.Type.Kind() == reflect.Pointer {
		return f.Type.Elem()
	}
	return f.Type
}

func fieldByTag(t reflect.Type, name string) *reflect.StructField {
	for i := range t.NumField() {
		f := t.Field(i)
		if tag, _, _ := strings.Cut(f.Tag.Get("toml"), ","); tag == name {
			return &f
		}
	}
	return nil
}

// unknownKeyReason names the keys the table does know, and the closest
// one when the key looks like a typo.
func unknownKeyReason(key []string) string {
	known := knownKeys(key[:len(key)-1])
	if len(known) == 0 {
		return "unknown key"
	}
	last := key[len(key)-1]
	best, bestDist := "", 1<<30
	for _, k := range known {
		if d := editDistance(strings.ToLower(last), k); d < bestDist {
			best, bestDist = k, d
		}
	}
	reason := "unknown key"
	if bestDist <= 2 || bestDist*3 <= len(best) {
		reason += fmt.Sprintf("; did you mean %q?", best)
	}
	sorted := append([]string(nil), known...)
	sort.Strings(sorted)
	return reason + " (this table takes " + strings.Join(sorted, ", ") + ")"
}

// editDistance is the Levenshtein distance, in bytes.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// keyLines maps each dotted key in the document to its line, for errors
// found after decoding.
func keyLines(data []byte) map[string]int {
	lines := map[string]int{}
	eachKeyValue(data, func(key []string, _ *unstable.Node, pos unstable.Position) bool {
		lines[strings.Join(key, ".")] = pos.Line
		return true
	})
	return lines
}

// eachKeyValue calls fn with the full key (table and key parts), the node
// and the position of every key/value in data, until fn returns false.
func eachKeyValue(data []byte, fn func(key []string, kv *unstable.Node, pos unstable.Position) bool) {
	var p unstable.Parser
	p.Reset(data)
	var table []string
	for p.NextExpression() {
		e := p.Expression()
		switch e.Kind {
		case unstable.Table:
			table = keyParts(e.Key())
		case unstable.KeyValue:
			key := append(append([]string(nil), table...), keyParts(e.Key())...)
			if !fn(key, e, p.Shape(e.Raw).Start) {
				return
			}
		}
	}
}

func keyParts(it unstable.Iterator) []string {
	var parts []string
	for it.Next() {
		parts = append(parts, string(it.Node().Data))
	}
	return parts
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
