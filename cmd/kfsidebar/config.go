package main

import (
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/kfsidebar/kfsidebar/internal/hostport"
	"github.com/kfsidebar/kfsidebar/proxy"
	"github.com/kfsidebar/kfsidebar/proxy/chats"
	"github.com/kfsidebar/kfsidebar/proxy/console"
)

// Config is everything the proxy needs to run. DefaultConfig holds the
// defaults; flags override them.
type Config struct {
	// DataDir holds the CA, the SQLite database and (later) the config file.
	DataDir string
	// Listen is the proxy's address; loopback unless the user insists.
	Listen string
	// ConsoleHosts are decrypted; everything else is tunnelled blind.
	ConsoleHosts []string
	// UpstreamCA is a PEM file of extra roots trusted for the console
	// (staging setups); the system roots are always trusted.
	UpstreamCA string
	// Dial holds HOST:PORT=ADDR:PORT overrides.
	Dial []string
	// UpstreamProxy is an HTTP proxy URL (http://HOST:PORT) that console
	// and tunnel traffic is chained through, for offices that reach the
	// internet only through one. Empty means direct.
	UpstreamProxy string
	// SessionTTL is how long a learned chat user is remembered.
	SessionTTL time.Duration
	// ScanTargetsOnly limits scanning to the three accept endpoints.
	ScanTargetsOnly bool
	// TunnelIdleTimeout closes a blind tunnel (any site but the console)
	// that carried nothing either way for this long.
	TunnelIdleTimeout time.Duration
	// LogLevel is debug, info, warn or error.
	LogLevel slog.Level
	// ConfigFile is the TOML file applied under the flags (--config);
	// "" means kfsidebar.toml in DataDir, when there is one.
	ConfigFile string
	// Orders is where customers and orders come from; only the config
	// file sets it.
	Orders OrdersConfig
	// Gateway is the shop's push gateway to subscribe to ([gateway], or
	// the --gateway-* flags); none by default.
	Gateway FeedConfig
	// ReadyFile, when set, receives the address kfsidebar listens on once
	// it serves: how whatever starts kfsidebar (the tray, a test) learns
	// that it is up and where, without reading its output.
	ReadyFile string
	// Paused starts kfsidebar paused (the tray's 暂停): the PAC sends the
	// console DIRECT and no sidebar is shown until it is resumed.
	Paused bool
	// Supervised makes run end cleanly when its standard input closes:
	// how the tray stops the proxy it started on every platform (Windows
	// has no signal for a process without a console), and why the proxy
	// never outlives a tray that was killed.
	Supervised bool
}

// DefaultConfig returns the defaults: data in the user's config directory
// (or $KFSIDEBAR_DATA_DIR), proxy on 127.0.0.1:8787, the real console host,
// chats remembered 72 h (the reply window is 48 h), idle tunnels to other
// sites closed after 15 minutes.
func DefaultConfig() Config {
	return Config{
		DataDir:           defaultDataDir(),
		Listen:            "127.0.0.1:8787",
		ConsoleHosts:      []string{console.DefaultConsoleHost},
		SessionTTL:        chats.DefaultTTL,
		TunnelIdleTimeout: proxy.DefaultTunnelIdleTimeout,
		LogLevel:          slog.LevelInfo,
		Orders:            DefaultOrdersConfig(),
		Gateway:           DefaultFeedConfig(),
	}
}

func defaultDataDir() string {
	if d := os.Getenv("KFSIDEBAR_DATA_DIR"); d != "" {
		return d
	}
	if d, err := os.UserConfigDir(); err == nil {
		return filepath.Join(d, "kfsidebar")
	}
	return ".kfsidebar"
}

// bindFlags registers the flags that override c. parse applies the
// config file under them.
func (c *Config) bindFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.ConfigFile, "config", c.ConfigFile, "TOML config `file` (default: "+configFileName+" in the data directory, if there is one); flags override it")
	fs.StringVar(&c.DataDir, "data-dir", c.DataDir, "directory for the CA, the database and the config (env KFSIDEBAR_DATA_DIR)")
	fs.StringVar(&c.Listen, "listen", c.Listen, "proxy address; anything but loopback exposes the proxy to your network")
	hostsSet := false // the first --console-host replaces the default, later ones add
	fs.Func("console-host", "a console host to decrypt (repeatable; default "+console.DefaultConsoleHost+")", func(v string) error {
		if !hostsSet {
			c.ConsoleHosts, hostsSet = nil, true
		}
		c.ConsoleHosts = append(c.ConsoleHosts, v)
		return nil
	})
	fs.StringVar(&c.UpstreamCA, "upstream-ca", c.UpstreamCA, "PEM `file` of extra roots trusted for the console (staging)")
	fs.Func("dial", "`HOST:PORT=ADDR:PORT` override: dial ADDR:PORT whenever HOST:PORT is asked for, keeping SNI and Host (repeatable; staging and tests)", func(v string) error {
		if _, _, err := proxy.ParseDialOverride(v); err != nil {
			return err
		}
		c.Dial = append(c.Dial, v)
		return nil
	})
	fs.StringVar(&c.UpstreamProxy, "upstream-proxy", c.UpstreamProxy, "chain console and tunnel traffic through this HTTP proxy `URL`, e.g. http://10.0.0.1:3128")
	fs.DurationVar(&c.SessionTTL, "session-ttl", c.SessionTTL, "how long a chat user learned from the console is remembered")
	fs.DurationVar(&c.TunnelIdleTimeout, "tunnel-idle-timeout", c.TunnelIdleTimeout, "close a tunnel to any other site after this long without a byte either way")
	fs.BoolVar(&c.ScanTargetsOnly, "scan-targets-only", c.ScanTargetsOnly, "scan only the three accept endpoints, not every console JSON response")
	fs.TextVar(&c.LogLevel, "log-level", c.LogLevel, "debug, info, warn or error (customer data is logged only at debug)")
	fs.StringVar(&c.ReadyFile, "ready-file", c.ReadyFile, "write the address kfsidebar listens on to this `file` once it serves (for whatever starts it)")
	fs.BoolVar(&c.Paused, "paused", c.Paused, "start paused: the console goes direct, without the sidebar, until resumed (the tray's 继续)")
	fs.BoolVar(&c.Supervised, "supervised", c.Supervised, "stop when standard input closes (the tray starts run this way)")
	c.Gateway.bindGatewayFlags(fs)
}

// parse applies the config file, then the flags in args over it. The file
// is --config, else kfsidebar.toml in the data directory (--data-dir,
// $KFSIDEBAR_DATA_DIR or the default), which may be missing. It must run
// on a c whose flags fs holds (bindFlags).
func (c *Config) parse(fs *flag.FlagSet, args []string) error {
	path, dataDir, err := fileFlags(fs, args)
	if err != nil {
		return parseFlags(fs, args) // let the flag package report it
	}
	required := path != ""
	if path == "" {
		if dataDir == "" {
			dataDir = c.DataDir
		}
		path = defaultConfigPath(dataDir)
	}
	if err := readConfigFile(path, required, c); err != nil {
		return err
	}
	return parseFlags(fs, args)
}

// fileFlags finds --config and --data-dir in args before they are parsed,
// the way the flag package would.
func fileFlags(fs *flag.FlagSet, args []string) (config, dataDir string, err error) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" || len(a) < 2 || a[0] != '-' {
			break
		}
		name, value, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		f := fs.Lookup(name)
		if f == nil {
			return "", "", fmt.Errorf("unknown flag %s", a)
		}
		if b, ok := f.Value.(interface{ IsBoolFlag() bool }); !hasValue && !(ok && b.IsBoolFlag()) {
			if i+1 >= len(args) {
				return "", "", fmt.Errorf("flag %s needs a value", a)
			}
			i++
			value = args[i]
		}
		switch name {
		case "config":
			config = value
		case "data-dir":
			dataDir = value
		}
	}
	return config, dataDir, nil
}

// check validates c and names the bad setting.
func (c *Config) check() error {
	var errs []error
	if c.DataDir == "" {
		errs = append(errs, errors.New("--data-dir: must not be empty"))
	}
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		errs = append(errs, fmt.Errorf("--listen %q: want HOST:PORT, e.g. 127.0.0.1:8787", c.Listen))
	}
	for _, h := range c.ConsoleHosts {
		if h = hostport.Host(h); h == "" || net.ParseIP(h) != nil || strings.ContainsAny(h, "/ ") {
			errs = append(errs, fmt.Errorf("--console-host %q: want a DNS name like %s", h, console.DefaultConsoleHost))
		}
	}
	if c.SessionTTL <= 0 {
		errs = append(errs, fmt.Errorf("--session-ttl %v: must be positive, e.g. 72h", c.SessionTTL))
	}
	if c.TunnelIdleTimeout <= 0 {
		errs = append(errs, fmt.Errorf("--tunnel-idle-timeout %v: must be positive, e.g. 15m", c.TunnelIdleTimeout))
	}
	errs = append(errs, c.checkGateway())
	return errors.Join(errs...)
}

// dialOverrides turns the --dial values into the proxy's map.
func (c *Config) dialOverrides() map[string]string {
	m := make(map[string]string, len(c.Dial))
	for _, d := range c.Dial {
		from, to, _ := proxy.ParseDialOverride(d) // validated by the flag
		m[from] = to
	}
	return m
}

// isLoopback reports whether the listen address only accepts local
// connections.
func isLoopback(listen string) bool {
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
