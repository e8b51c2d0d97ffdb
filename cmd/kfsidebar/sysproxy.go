package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/kfsidebar/kfsidebar/internal/atomicfile"
	"github.com/kfsidebar/kfsidebar/proxy"
)

// proxySetting is the operating system's proxy configuration, as far as
// kfsidebar needs it: whether an automatic configuration URL is in force,
// the manual proxy kfsidebar may have to chain to, and the platform's own
// values so that `proxy off` restores exactly what was there.
type proxySetting struct {
	// PACURL is the automatic configuration URL in force; "" for none.
	PACURL string `json:"pac_url,omitempty"`
	// Proxy is the manual proxy for HTTPS as "host:port"; "" for none.
	Proxy string `json:"proxy,omitempty"`
	// Bypass are the hosts that skip Proxy, as the system writes them.
	Bypass []string `json:"bypass,omitempty"`
	// Saved holds the platform's values kfsidebar changes, to restore.
	Saved map[string]string `json:"saved,omitempty"`
}

// describe says what the setting is, for a person.
func (p proxySetting) describe() string {
	switch {
	case p.PACURL != "":
		return "automatic configuration " + p.PACURL
	case p.Proxy != "":
		return "manual proxy " + p.Proxy
	}
	return "no proxy"
}

// systemProxy reads and changes one platform's proxy settings.
type systemProxy interface {
	// name says which settings: "GNOME proxy settings".
	name() string
	get(ctx context.Context) (proxySetting, error)
	// setPAC makes pacURL the automatic configuration in force.
	setPAC(ctx context.Context, pacURL string) error
	// restore puts back what get returned before setPAC.
	restore(ctx context.Context, prev proxySetting) error
}

// errNoSystemProxy means kfsidebar does not know this system's proxy
// settings; the message says what to do by hand.
var errNoSystemProxy = errors.New("cannot change the proxy settings of this system")

// proxyStateFile remembers, in the data directory, what `proxy on`
// replaced, for `proxy off` and for `run` (which chains to the proxy that
// was there before).
const proxyStateFile = "system-proxy.json"

type proxyState struct {
	System   string       `json:"system"`
	PACURL   string       `json:"pac_url"`
	Previous proxySetting `json:"previous"`
	SetAt    time.Time    `json:"set_at"`
}

func readProxyState(dataDir string) (*proxyState, error) {
	b, err := os.ReadFile(filepath.Join(dataDir, proxyStateFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read proxy state: %w", err)
	}
	var st proxyState
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("read proxy state %s: %w (delete the file if the proxy settings are as you want them)", filepath.Join(dataDir, proxyStateFile), err)
	}
	return &st, nil
}

func writeProxyState(dataDir string, st proxyState) error {
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return fmt.Errorf("write proxy state: %w", err)
	}
	return atomicfile.Write(filepath.Join(dataDir, proxyStateFile), append(b, '\n'), 0o600)
}

// pacURL is the PAC address for the listen address: a wildcard listen
// address is reached on loopback.
func pacURL(listen string) string {
	return "http://" + localAddr(listen) + "/proxy.pac"
}

// localAddr turns a listen address into one this machine can connect to.
func localAddr(listen string) string {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return listen
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}

// isSelf reports whether the proxy address hp ("host:port") is kfsidebar
// itself at addr: chaining to ourselves would loop forever.
func isSelf(hp, addr string) bool {
	h1, p1, err1 := net.SplitHostPort(hp)
	h2, p2, err2 := net.SplitHostPort(localAddr(addr))
	if err1 != nil || err2 != nil || p1 != p2 {
		return false
	}
	if strings.EqualFold(h1, h2) {
		return true
	}
	ip := net.ParseIP(strings.Trim(h1, "[]"))
	local := strings.EqualFold(h1, "localhost") || (ip != nil && (ip.IsLoopback() || ip.IsUnspecified()))
	ip2 := net.ParseIP(h2)
	return local && ip2 != nil && ip2.IsLoopback()
}

// upstreamChoice is the upstream proxy `run` chains to and the hosts the
// PAC keeps DIRECT.
type upstreamChoice struct {
	url    *url.URL
	bypass []string
	from   string // "--upstream-proxy" or the state file
}

// chooseUpstream picks the upstream proxy: --upstream-proxy if given, else
// the manual proxy `proxy on` found in the system settings. addr is where
// kfsidebar listens: an upstream that is kfsidebar itself is refused.
func chooseUpstream(cfg Config, addr string, log *slog.Logger) (upstreamChoice, error) {
	if cfg.UpstreamProxy != "" {
		u, err := proxy.ParseUpstreamProxy(cfg.UpstreamProxy)
		if err != nil {
			return upstreamChoice{}, fmt.Errorf("--upstream-proxy: %w", err)
		}
		if isSelf(u.Host, addr) {
			return upstreamChoice{}, fmt.Errorf("--upstream-proxy %s is kfsidebar itself: chaining to it would loop; give the office proxy's address", cfg.UpstreamProxy)
		}
		return upstreamChoice{url: u, from: "--upstream-proxy"}, nil
	}
	st, err := readProxyState(cfg.DataDir)
	if err != nil || st == nil || st.Previous.Proxy == "" {
		return upstreamChoice{}, err
	}
	u, err := proxy.ParseUpstreamProxy(st.Previous.Proxy)
	if err != nil {
		log.Warn("the proxy set before `kfsidebar proxy on` is not usable as upstream", "proxy", st.Previous.Proxy, "err", err)
		return upstreamChoice{}, nil
	}
	if isSelf(u.Host, addr) {
		return upstreamChoice{}, nil
	}
	return upstreamChoice{url: u, bypass: st.Previous.Bypass, from: proxyStateFile}, nil
}

// parseWindowsProxyServer reads Internet Settings' ProxyServer: one
// "host:port" for every protocol, or "http=h:p;https=h:p;socks=h:p". The
// proxy for HTTPS is what kfsidebar chains to.
func parseWindowsProxyServer(v string) string {
	v = strings.TrimSpace(v)
	if v == "" || !strings.Contains(v, "=") {
		return v
	}
	byProto := map[string]string{}
	for _, part := range strings.Split(v, ";") {
		if k, val, ok := strings.Cut(strings.TrimSpace(part), "="); ok {
			byProto[strings.ToLower(strings.TrimSpace(k))] = strings.TrimSpace(val)
		}
	}
	for _, k := range []string{"https", "http"} {
		if byProto[k] != "" {
			return strings.TrimPrefix(strings.TrimPrefix(byProto[k], "http://"), "https://")
		}
	}
	return ""
}

func runProxy(ctx context.Context, args []string, out, errOut io.Writer) error {
	const help = `Point this computer's proxy settings at kfsidebar's PAC file, and back.

Subcommands:
  on       set the system's automatic proxy configuration to kfsidebar's PAC,
           remembering what was there (a manual office proxy is kept: kfsidebar
           chains to it, and the PAC sends every other site to it as before)
  off      restore what was there before "proxy on"
  status   show the current setting`
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprintf(errOut, "%s\n\nUsage:\n  kfsidebar proxy on|off|status [flags]\n", help)
		if len(args) == 0 {
			return usageError{"proxy: missing subcommand"}
		}
		return nil
	}
	sub := args[0]
	switch sub {
	case "on", "off", "status":
	default:
		return usageError{fmt.Sprintf("proxy: unknown subcommand %q (want on, off or status)", sub)}
	}
	cfg := DefaultConfig()
	flags := newFlagSet("proxy "+sub, "proxy "+sub+" [flags]", help, errOut)
	flags.StringVar(&cfg.DataDir, "data-dir", cfg.DataDir, "directory for the CA, the database and the config (env KFSIDEBAR_DATA_DIR)")
	flags.StringVar(&cfg.Listen, "listen", cfg.Listen, "the address kfsidebar runs on (the PAC is http://ADDR/proxy.pac)")
	if err := parseFlags(flags, args[1:]); err != nil {
		return err
	}
	sp, err := newSystemProxy()
	if err != nil {
		return err
	}
	switch sub {
	case "on":
		return proxyOn(ctx, sp, cfg, out)
	case "off":
		return proxyOff(ctx, sp, cfg, out)
	}
	cur, err := sp.get(ctx)
	if err != nil {
		return err
	}
	ours := cur.PACURL == pacURL(cfg.Listen)
	fmt.Fprintf(out, "%s: %s", sp.name(), cur.describe())
	if ours {
		fmt.Fprint(out, " (kfsidebar)")
	}
	fmt.Fprintln(out)
	return nil
}

func proxyOn(ctx context.Context, sp systemProxy, cfg Config, out io.Writer) error {
	want := pacURL(cfg.Listen)
	cur, err := sp.get(ctx)
	if err != nil {
		return err
	}
	if cur.PACURL == want {
		fmt.Fprintf(out, "%s already use %s; nothing changed.\n", sp.name(), want)
		return nil
	}
	if cur.PACURL != "" {
		return fmt.Errorf("%s already use the automatic configuration %s, and kfsidebar will not replace it "+
			"(it may come from your IT department). Either ask whoever manages it to add\n"+
			"    if (host == %q) return \"PROXY %s; DIRECT\";\n"+
			"at the top of its FindProxyForURL, or use `kfsidebar open`, which changes nothing on the system",
			sp.name(), cur.PACURL, hostsOf(cfg)[0], localAddr(cfg.Listen))
	}
	// Remember first: if setting fails halfway, `proxy off` still knows
	// what to restore.
	if err := writeProxyState(cfg.DataDir, proxyState{System: sp.name(), PACURL: want, Previous: cur, SetAt: time.Now()}); err != nil {
		return err
	}
	if err := sp.setPAC(ctx, want); err != nil {
		return fmt.Errorf("set %s: %w", sp.name(), err)
	}
	after, err := sp.get(ctx)
	if err != nil {
		return err
	}
	if after.PACURL != want {
		return fmt.Errorf("set %s: the setting still reads %q; set the automatic proxy configuration to %s by hand", sp.name(), after.describe(), want)
	}
	fmt.Fprintf(out, "%s: automatic configuration %s (was: %s)\n", sp.name(), want, cur.describe())
	if cur.Proxy != "" && !isSelf(cur.Proxy, cfg.Listen) {
		fmt.Fprintf(out, "kfsidebar chains the console to the proxy that was set, %s, and the PAC sends every other site there as before.\n"+
			"Restart kfsidebar (kfsidebar run) so that it picks this up.\n", cur.Proxy)
	}
	if !proxyRunning(ctx, cfg.Listen) {
		fmt.Fprintf(out, "kfsidebar is not running on %s yet: start it with `kfsidebar run`. Until then the console opens directly, without the sidebar.\n", localAddr(cfg.Listen))
	}
	fmt.Fprintln(out, "Browsers pick this up within a minute, or when restarted. Undo with `kfsidebar proxy off`.")
	return nil
}

func proxyOff(ctx context.Context, sp systemProxy, cfg Config, out io.Writer) error {
	st, err := readProxyState(cfg.DataDir)
	if err != nil {
		return err
	}
	cur, err := sp.get(ctx)
	if err != nil {
		return err
	}
	statePath := filepath.Join(cfg.DataDir, proxyStateFile)
	if st == nil {
		if cur.PACURL == pacURL(cfg.Listen) {
			// Set by hand (or the state was lost): turning it off is
			// what the user asks for.
			if err := sp.restore(ctx, proxySetting{}); err != nil {
				return fmt.Errorf("restore %s: %w", sp.name(), err)
			}
			fmt.Fprintf(out, "%s: %s removed (kfsidebar had no record of an earlier setting, so there is now no proxy).\n", sp.name(), cur.PACURL)
			return nil
		}
		fmt.Fprintf(out, "%s: %s; kfsidebar did not change it, nothing to undo.\n", sp.name(), cur.describe())
		return nil
	}
	if cur.PACURL != st.PACURL {
		os.Remove(statePath)
		fmt.Fprintf(out, "%s were changed since `kfsidebar proxy on` (now: %s); left as they are.\n", sp.name(), cur.describe())
		return nil
	}
	if err := sp.restore(ctx, st.Previous); err != nil {
		return fmt.Errorf("restore %s: %w", sp.name(), err)
	}
	after, err := sp.get(ctx)
	if err != nil {
		return err
	}
	if after.PACURL != st.Previous.PACURL {
		return fmt.Errorf("restore %s: the setting reads %q, want %q; set it by hand", sp.name(), after.describe(), st.Previous.describe())
	}
	if err := os.Remove(statePath); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	fmt.Fprintf(out, "%s restored: %s\n", sp.name(), st.Previous.describe())
	return nil
}

// proxyRunning reports whether kfsidebar answers at listen.
func proxyRunning(ctx context.Context, listen string) bool {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, pacURL(listen), nil)
	if err != nil {
		return false
	}
	resp, err := (&http.Client{Transport: &http.Transport{Proxy: nil}}).Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}
