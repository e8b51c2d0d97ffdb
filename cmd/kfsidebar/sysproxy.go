package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/kfsidebar/kfsidebar/internal/sysproxy"
	"github.com/kfsidebar/kfsidebar/proxy"
)

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
	st, err := sysproxy.ReadState(cfg.DataDir)
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
	return upstreamChoice{url: u, bypass: st.Previous.Bypass, from: sysproxy.StateFile}, nil
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
	sp, err := sysproxy.New()
	if errors.Is(err, sysproxy.ErrUnsupported) {
		return proxyByHand(ctx, sub, cfg, err, out)
	}
	if err != nil {
		return err
	}
	switch sub {
	case "on":
		return proxyOn(ctx, sp, cfg, out)
	case "off":
		return proxyOff(ctx, sp, cfg, out)
	}
	cur, err := sp.Get(ctx)
	if err != nil {
		return err
	}
	ours := sysproxy.SamePAC(cur.PACURL, pacURL(cfg.Listen))
	fmt.Fprintf(out, "%s: %s", sp.Name(), cur.Describe())
	if ours {
		fmt.Fprint(out, " (kfsidebar)")
	}
	fmt.Fprintln(out)
	return nil
}

// proxyByHand is proxy on, off and status where kfsidebar cannot change
// the proxy settings (a desktop other than GNOME): it says why, and the
// PAC URL to enter by hand.
func proxyByHand(ctx context.Context, sub string, cfg Config, why error, out io.Writer) error {
	pac := pacURL(cfg.Listen)
	running := "kfsidebar is running there"
	if !proxyRunning(ctx, cfg.Listen) {
		running = "kfsidebar is not running there yet: start it with `kfsidebar run`"
	}
	switch sub {
	case "on":
		return fmt.Errorf("%w\n\nSet this automatic proxy configuration (PAC) URL by hand:\n\n    %s\n\n(%s.) Undo it the same way", why, pac, running)
	case "off":
		fmt.Fprintf(out, "kfsidebar cannot change this computer's proxy settings, so it changed none: nothing to undo.\n"+
			"If you entered %s by hand, remove it the same way.\n", pac)
		return nil
	}
	fmt.Fprintf(out, "System proxy: kfsidebar cannot read or change it here: %v\n\n"+
		"kfsidebar's PAC URL, to enter by hand: %s (%s)\n", why, pac, running)
	return nil
}

// proxyOn points the system at the PAC (sysproxy.On) and says what it did
// and what comes next.
func proxyOn(ctx context.Context, sp sysproxy.System, cfg Config, out io.Writer) error {
	want := pacURL(cfg.Listen)
	res, err := sysproxy.On(ctx, sp, cfg.DataDir, want)
	var other *sysproxy.OtherPACError
	switch {
	case errors.As(err, &other):
		return fmt.Errorf("%w, and kfsidebar will not replace it "+
			"(it may come from your IT department). Either ask whoever manages it to add\n"+
			"    if (host == %q) return \"PROXY %s; DIRECT\";\n"+
			"at the top of its FindProxyForURL, or use `kfsidebar open`, which changes nothing on the system",
			err, hostsOf(cfg)[0], localAddr(cfg.Listen))
	case err != nil:
		return err
	case res.Already:
		fmt.Fprintf(out, "%s already use %s; nothing changed.\n", sp.Name(), want)
		return nil
	}
	cur := res.Previous
	fmt.Fprintf(out, "%s: automatic configuration %s (was: %s)\n", sp.Name(), want, cur.Describe())
	if cur.Proxy != "" && !isSelf(cur.Proxy, cfg.Listen) {
		fmt.Fprintf(out, "kfsidebar chains the console to the proxy that was set, %s, and the PAC sends every other site there as before.\n"+
			"Restart kfsidebar run so that it picks this up.\n", cur.Proxy)
	}
	if !proxyRunning(ctx, cfg.Listen) {
		fmt.Fprintf(out, "kfsidebar is not running on %s yet: start it with `kfsidebar run`. Until then the console opens directly, without the sidebar.\n", localAddr(cfg.Listen))
	}
	fmt.Fprintf(out, "Browsers pick this up within a minute, or when restarted. Undo with `%s`.\n", setupCommand("proxy off", cfg.Listen, cfg.DataDir))
	return nil
}

// proxyOff restores what proxy on replaced (sysproxy.Off) and says so.
func proxyOff(ctx context.Context, sp sysproxy.System, cfg Config, out io.Writer) error {
	res, err := sysproxy.Off(ctx, sp, cfg.DataDir, pacURL(cfg.Listen))
	if err != nil {
		return err
	}
	switch res.Outcome {
	case sysproxy.RemovedUnrecorded:
		fmt.Fprintf(out, "%s: %s removed (kfsidebar had no record of an earlier setting, so there is now no proxy).\n", sp.Name(), res.Current.PACURL)
	case sysproxy.NothingToUndo:
		fmt.Fprintf(out, "%s: %s; kfsidebar did not change it, nothing to undo.\n", sp.Name(), res.Current.Describe())
	case sysproxy.ChangedSince:
		fmt.Fprintf(out, "%s were changed since `kfsidebar proxy on` (now: %s); left as they are.\n", sp.Name(), res.Current.Describe())
	default:
		fmt.Fprintf(out, "%s restored: %s\n", sp.Name(), res.Restored.Describe())
	}
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
