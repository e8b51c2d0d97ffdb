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

	"github.com/kfsidebar/kfsidebar/internal/msg"
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
	p := msg.NewPrinter(msg.Detect())
	p.Printf(out, msg.ProxyStatus, sp.Name(), describeProxy(p, cur))
	if sysproxy.SamePAC(cur.PACURL, pacURL(cfg.Listen)) {
		p.Printf(out, msg.ProxyOurs)
	}
	fmt.Fprintln(out)
	return nil
}

// proxyByHand is proxy on, off and status where kfsidebar cannot change
// the proxy settings (a desktop other than GNOME): it says why, and the
// PAC URL to enter by hand.
func proxyByHand(ctx context.Context, sub string, cfg Config, why error, out io.Writer) error {
	p := msg.NewPrinter(msg.Detect())
	pac := pacURL(cfg.Listen)
	running := p.Sprintf(msg.ProxyRunning)
	if !proxyRunning(ctx, cfg.Listen) {
		running = p.Sprintf(msg.ProxyNotRunning)
	}
	switch sub {
	case "on":
		return p.Errorf(msg.ProxyByHandOn, sayErr(p, why), pac, running)
	case "off":
		p.Printf(out, msg.ProxyByHandOff, pac)
		return nil
	}
	p.Printf(out, msg.ProxyByHandStatus, sayErr(p, why), pac, running)
	return nil
}

// proxyOn points the system at the PAC (sysproxy.On) and says what it did
// and what comes next.
func proxyOn(ctx context.Context, sp sysproxy.System, cfg Config, out io.Writer) error {
	p := msg.NewPrinter(msg.Detect())
	want := pacURL(cfg.Listen)
	res, err := sysproxy.On(ctx, sp, cfg.DataDir, want)
	var other *sysproxy.OtherPACError
	switch {
	case errors.As(err, &other):
		return p.Errorf(msg.ProxyOtherPAC, err, hostsOf(cfg)[0], localAddr(cfg.Listen))
	case err != nil:
		return err
	case res.Already:
		p.Printf(out, msg.ProxyAlready, sp.Name(), want)
		return nil
	}
	cur := res.Previous
	p.Printf(out, msg.ProxyOn, sp.Name(), want, describeProxy(p, cur))
	if cur.Proxy != "" && !isSelf(cur.Proxy, cfg.Listen) {
		p.Printf(out, msg.ProxyChained, cur.Proxy)
	}
	if !proxyRunning(ctx, cfg.Listen) {
		p.Printf(out, msg.ProxyNotYet, localAddr(cfg.Listen))
	}
	p.Printf(out, msg.ProxyNext, setupCommand("proxy off", cfg.Listen, cfg.DataDir))
	return nil
}

// proxyOff restores what proxy on replaced (sysproxy.Off) and says so.
func proxyOff(ctx context.Context, sp sysproxy.System, cfg Config, out io.Writer) error {
	p := msg.NewPrinter(msg.Detect())
	res, err := sysproxy.Off(ctx, sp, cfg.DataDir, pacURL(cfg.Listen))
	if err != nil {
		return err
	}
	switch res.Outcome {
	case sysproxy.RemovedUnrecorded:
		p.Printf(out, msg.ProxyRemovedUnrecorded, sp.Name(), res.Current.PACURL)
	case sysproxy.NothingToUndo:
		p.Printf(out, msg.ProxyNothingToUndo, sp.Name(), describeProxy(p, res.Current))
	case sysproxy.ChangedSince:
		p.Printf(out, msg.ProxyChangedSince, sp.Name(), describeProxy(p, res.Current))
	default:
		p.Printf(out, msg.ProxyRestored, sp.Name(), describeProxy(p, res.Restored))
	}
	return nil
}

// describeProxy is sysproxy.Setting.Describe in the user's language.
func describeProxy(p msg.Printer, s sysproxy.Setting) string {
	switch {
	case s.PACURL != "":
		return p.Sprintf(msg.ProxyAuto, s.PACURL)
	case s.Proxy != "":
		return p.Sprintf(msg.ProxyManual, s.Proxy)
	}
	return p.Sprintf(msg.ProxyNone)
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
