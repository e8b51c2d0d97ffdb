package proxy

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/elazarl/goproxy"

	"github.com/kfsidebar/kfsidebar/certs"
	"github.com/kfsidebar/kfsidebar/internal/hostport"
	"github.com/kfsidebar/kfsidebar/proxy/console"
)

// Sink receives the chat users scanned from console traffic
// (*chats.Sessions implements it).
type Sink interface {
	// Add is called after the browser has the response, from several
	// goroutines at once (one per scan, at most GOMAXPROCS). It must not
	// block on storage (chats.Sessions only updates memory): while it runs, one
	// of the scan slots is taken, and when all are taken the console's
	// responses wait for them.
	Add(ctx context.Context, recs []console.Record) error
}

// Config configures a Proxy. Zero values give the documented defaults.
type Config struct {
	// ConsoleHosts are the hosts whose CONNECTs are decrypted. Every other
	// CONNECT is tunnelled blind. Default: [console.DefaultConsoleHost].
	ConsoleHosts []string
	// Leaves mints the certificates shown to the browser for console hosts.
	// Required.
	Leaves *certs.Leaves
	// UpstreamRoots verify the real console's certificate. Default: the
	// system roots.
	UpstreamRoots *x509.CertPool
	// DialOverrides maps "host:port" to the "addr:port" really dialed,
	// keeping SNI and Host (see ParseDialOverride).
	DialOverrides map[string]string
	// UpstreamProxy chains everything the proxy sends out (console
	// traffic, plain HTTP, blind tunnels) through this HTTP proxy, for
	// offices that reach the internet only through one (see
	// ParseUpstreamProxy). Default: nil, direct connections.
	UpstreamProxy *url.URL
	// Local answers requests under console.ReservedPrefix on the console origin
	// (the sidebar's script and websocket). Required.
	Local http.Handler
	// Admin answers requests made to the proxy's own address rather than
	// through it (PAC file, CA download, status page). Default: 404.
	Admin http.Handler
	// Sink receives scanned records. Required.
	Sink Sink
	// ScriptSrc is the src of the one <script> injected into console pages,
	// e.g. "/__kfsidebar/sidebar.js?t=TOKEN". Required.
	ScriptSrc string
	// Paused reports whether the agent paused kfsidebar: while it returns
	// true, console pages pass through without the sidebar's script (the
	// PAC sends the console DIRECT then, but a browser may still hold the
	// old PAC for a moment). Default nil: never paused.
	Paused func() bool
	// ScanTargetsOnly limits scanning to the three accept endpoints. By
	// default every JSON response of the console host is scanned.
	ScanTargetsOnly bool
	// FastReplies receives the console's own quick replies, scanned from
	// its settings response (kfsettings?action=getsettings, scanned even
	// with ScanTargetsOnly; see scan.FastReplies): the full list each time,
	// empty when the console has none. It is called as the scan ends, like
	// Sink.Add, and must return at once. Default nil: settings are not
	// scanned.
	FastReplies func(replies []string)
	// WaitingList receives the queued users' latest messages, scanned
	// from the console's waiting list (kfunaccepted?action=getmsglist,
	// scanned even with ScanTargetsOnly; see scan.WaitingList), for the
	// resolver to match with the push gateway's (chats.Sessions.AddWaiting).
	// It is called as the scan ends, like Sink.Add, and must return at
	// once. Default nil: the waiting list is not scanned.
	WaitingList func(msgs []console.WaitingMessage)
	// UpstreamHTTP2 offers HTTP/2 to the console as well as HTTP/1.1, and
	// the console's server picks. Default false: HTTP/1.1 only, which
	// costs less per request (docs/benchmarks.md) but takes a connection
	// per request in flight; HTTP/2 carries every tab's long poll on one.
	UpstreamHTTP2 bool
	// MaxBodyBytes caps how much of one response (decoded) is held to
	// inject or scan; above it the response passes through unscanned.
	// Default 8 MiB.
	MaxBodyBytes int64
	// TunnelIdleTimeout closes a blind tunnel (a CONNECT to any host that
	// is not decrypted) when no byte has moved in either direction for
	// this long. Default DefaultTunnelIdleTimeout (15 minutes).
	TunnelIdleTimeout time.Duration
	// MaxTunnels caps the blind tunnels open at once; a CONNECT beyond it
	// gets 503. Default: derived from the process's descriptor limit so
	// that a quarter of it always stays free for the console and the
	// sidebar (352 tunnels for 1,024 descriptors), at most 4,096.
	MaxTunnels int
	// Logger receives operational logs; customer data only at Debug.
	// Default: discard.
	Logger *slog.Logger
}

// Proxy is kfsidebar's HTTP proxy. Serve it on a loopback listener.
type Proxy struct {
	cfg      Config
	log      *slog.Logger
	hosts    console.HostSet
	dial     *dialer
	front    *http.Server // the proxy port: CONNECT, plain HTTP, admin
	mitm     *http.Server // decrypted console connections
	mitmLn   *connListener
	console  *httputil.ReverseProxy
	upstream *http.Transport
	targets  sync.Map // *tls.Conn → CONNECT target "host:port"
	mitmDone chan struct{}

	scanSlots chan struct{}  // one token per scan running off the response path
	scanning  sync.WaitGroup // those scans

	tunnels      *tunnelSet
	tunnelDial   func(ctx context.Context, network, addr string) (net.Conn, error)
	fdLimit      int  // the descriptor limit the tunnel cap was derived from
	fdLimitKnown bool // false where there is no such limit (Windows): fdLimit is a budget
	warn         *warnings
	shortage     atomic.Int64 // unix ns of the last descriptor shortage; 0 if none
	refusedAt    atomic.Int64 // unix ns of the last tunnel refused at the cap; 0 if none
}

// New checks cfg and builds a Proxy.
func New(cfg Config) (*Proxy, error) {
	if len(cfg.ConsoleHosts) == 0 {
		cfg.ConsoleHosts = []string{console.DefaultConsoleHost}
	}
	switch {
	case cfg.Leaves == nil:
		return nil, fmt.Errorf("%w: Leaves is required", ErrConfig)
	case cfg.Local == nil:
		return nil, fmt.Errorf("%w: Local is required", ErrConfig)
	case cfg.Sink == nil:
		return nil, fmt.Errorf("%w: Sink is required", ErrConfig)
	case cfg.ScriptSrc == "":
		return nil, fmt.Errorf("%w: ScriptSrc is required", ErrConfig)
	}
	if cfg.Admin == nil {
		cfg.Admin = http.NotFoundHandler()
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = 8 << 20
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.TunnelIdleTimeout <= 0 {
		cfg.TunnelIdleTimeout = DefaultTunnelIdleTimeout
	}
	fdLimit, fdLimitKnown := descriptorLimit()
	if cfg.MaxTunnels <= 0 {
		cfg.MaxTunnels = defaultMaxTunnels(fdLimit)
	}
	p := &Proxy{
		cfg:      cfg,
		log:      cfg.Logger,
		hosts:    console.NewHostSet(cfg.ConsoleHosts...),
		dial:     newDialer(cfg.DialOverrides),
		mitmDone: make(chan struct{}),
		// A scan is CPU work: more at once than there are CPUs would
		// only hold more response copies in memory.
		scanSlots:    make(chan struct{}, runtime.GOMAXPROCS(0)),
		tunnels:      newTunnelSet(cfg.MaxTunnels),
		fdLimit:      fdLimit,
		fdLimitKnown: fdLimitKnown,
		warn:         newWarnings(cfg.Logger, warnPeriod),
	}
	p.tunnelDial = p.dial.DialContext
	if u := cfg.UpstreamProxy; u != nil {
		p.tunnelDial = (&upstreamDialer{proxy: u, dial: p.dial.DialContext}).DialContext
	}
	p.upstream = &http.Transport{
		DialContext:     p.dial.DialContext,
		TLSClientConfig: &tls.Config{RootCAs: cfg.UpstreamRoots, MinVersion: tls.VersionTLS12},
		// Pass Accept-Encoding through and never decode on the way: the
		// browser must get the bytes the console sent.
		Proxy:                 p.upstreamProxy(),
		DisableCompression:    true,
		ForceAttemptHTTP2:     cfg.UpstreamHTTP2,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
		IdleConnTimeout:       90 * time.Second,
		MaxIdleConnsPerHost:   32,
		// No ResponseHeaderTimeout: the console long-polls, and cutting a
		// poll short would break it. The browser's own cancel ends a request.
	}
	p.console = p.newConsoleProxy()
	p.mitmLn = newConnListener(&net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	p.mitm = &http.Server{
		Handler:           http.HandlerFunc(p.serveConsole),
		ReadHeaderTimeout: 30 * time.Second, // also bounds the TLS handshake
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(cfg.Logger.Handler(), slog.LevelDebug),
		ConnContext:       p.connContext,
		ConnState: func(c net.Conn, s http.ConnState) {
			if s == http.StateClosed || s == http.StateHijacked {
				p.targets.Delete(c)
			}
		},
	}
	go func() {
		defer close(p.mitmDone)
		// Shutdown closes mitmLn before the server, so Serve may see the
		// listener closed rather than ErrServerClosed: both are a stop.
		if err := p.mitm.Serve(p.mitmLn); err != nil && !errors.Is(err, http.ErrServerClosed) && !errors.Is(err, net.ErrClosed) {
			p.log.Error("console server stopped", "err", err)
		}
	}()
	p.front = &http.Server{
		Handler:           p.newFront(),
		ReadHeaderTimeout: 30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(cfg.Logger.Handler(), slog.LevelDebug),
	}
	return p, nil
}

// newFront is the proxy port: goproxy dispatches CONNECTs (console hosts are
// hijacked into our own TLS server, everything else is tunnelled blind),
// forwards plain-HTTP proxy requests untouched, and hands requests for the
// proxy's own address to Admin.
func (p *Proxy) newFront() http.Handler {
	gp := goproxy.NewProxyHttpServer()
	gp.Logger = slog.NewLogLogger(p.log.Handler(), slog.LevelDebug)
	gp.NonproxyHandler = p.cfg.Admin
	gp.KeepAcceptEncoding = true
	gp.Tr = &http.Transport{
		DialContext:           p.dial.DialContext,
		TLSClientConfig:       &tls.Config{RootCAs: p.cfg.UpstreamRoots, MinVersion: tls.VersionTLS12},
		Proxy:                 p.upstreamProxy(),
		DisableCompression:    true,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
		IdleConnTimeout:       90 * time.Second,
	}
	gp.OnRequest(goproxy.ReqConditionFunc(func(r *http.Request, _ *goproxy.ProxyCtx) bool { return isPACProbe(r) })).DoFunc(func(r *http.Request, _ *goproxy.ProxyCtx) (*http.Request, *http.Response) {
		return r, pacProbeResponse(r)
	})
	tunnel := &goproxy.ConnectAction{Action: goproxy.ConnectHijack, Hijack: p.serveTunnel}
	hijack := &goproxy.ConnectAction{Action: goproxy.ConnectHijack, Hijack: p.hijack}
	gp.OnRequest().HandleConnectFunc(func(host string, _ *goproxy.ProxyCtx) (*goproxy.ConnectAction, string) {
		if p.hosts.Contains(host) {
			return hijack, host
		}
		return tunnel, host
	})
	gp.OnResponse().DoFunc(func(resp *http.Response, ctx *goproxy.ProxyCtx) *http.Response {
		if resp == nil && ctx.Error != nil {
			p.log.Debug("plain http upstream failed", "host", ctx.Req.URL.Host, "err", ctx.Error)
			return goproxy.NewResponse(ctx.Req, goproxy.ContentTypeText, http.StatusBadGateway, badGatewayText)
		}
		return resp
	})
	return recoverHandler(p.log, gp)
}

// upstreamProxy is the transports' Proxy function: the upstream proxy for
// every request, or nil (direct) when none is configured.
func (p *Proxy) upstreamProxy() func(*http.Request) (*url.URL, error) {
	if p.cfg.UpstreamProxy == nil {
		return nil
	}
	return http.ProxyURL(p.cfg.UpstreamProxy)
}

// badGatewayText is all the browser learns when an upstream fails: the
// details go to the log, not to the page.
const badGatewayText = "kfsidebar: the server could not be reached\n"

// hijack takes over a CONNECT to a console host: it confirms the tunnel,
// and hands the connection, wrapped in TLS with our leaf certificate, to the
// console server.
func (p *Proxy) hijack(req *http.Request, client net.Conn, _ *goproxy.ProxyCtx) {
	defer func() {
		if r := recover(); r != nil {
			p.log.Error("panic in console hijack", "panic", r)
			client.Close()
		}
	}()
	if _, err := client.Write([]byte("HTTP/1.1 200 Connection established\r\n\r\n")); err != nil {
		client.Close()
		return
	}
	target := req.URL.Host
	if _, _, err := net.SplitHostPort(target); err != nil {
		target = net.JoinHostPort(target, "443")
	}
	conf := p.cfg.Leaves.ServerTLSConfig().Clone()
	conf.GetCertificate = func(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
		name := hello.ServerName
		if name == "" {
			name = hostport.Host(target) // clients that send no SNI still get the console's certificate
		}
		if !p.hosts.Contains(name) {
			// No certificate and no error: crypto/tls then answers with
			// the unrecognized_name alert (112), which says what is wrong,
			// rather than internal_error (80).
			p.log.Debug("tls: not a console host", "sni", name, "connect", target)
			return nil, nil
		}
		return p.cfg.Leaves.Get(name)
	}
	tc := tls.Server(client, conf)
	p.targets.Store(tc, target)
	p.mitmLn.push(tc)
}

type targetKey struct{}

func (p *Proxy) connContext(ctx context.Context, c net.Conn) context.Context {
	if t, ok := p.targets.Load(c); ok {
		return context.WithValue(ctx, targetKey{}, t.(string))
	}
	return ctx
}

// Serve accepts proxy clients on ln until Shutdown.
func (p *Proxy) Serve(ln net.Listener) error {
	err := p.front.Serve(&watchedListener{Listener: ln, p: p})
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// Shutdown stops accepting, closes idle connections and waits for active
// requests until ctx ends; then it closes whatever is left (long polls,
// websockets) so that no goroutine outlives the Proxy.
func (p *Proxy) Shutdown(ctx context.Context) error {
	p.mitmLn.Close()
	p.tunnels.closeAll() // hijacked: the servers do not know them
	errFront := p.front.Shutdown(ctx)
	errMitm := p.mitm.Shutdown(ctx)
	if errFront != nil || errMitm != nil {
		p.front.Close()
		p.mitm.Close()
	}
	<-p.mitmDone
	p.upstream.CloseIdleConnections()
	p.scanning.Wait() // every response's chats reach the Sink before Shutdown returns
	errTunnels := p.tunnels.wait(ctx)
	p.warn.stop()
	return errors.Join(errFront, errMitm, errTunnels)
}

// recoverHandler turns a panic in h into a log line and, when nothing was
// written yet, a 502; net/http would otherwise drop the connection silently.
func recoverHandler(log *slog.Logger, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				log.Error("panic in proxy handler", "panic", v, "host", r.Host, "path", r.URL.Path)
				http.Error(w, badGatewayText, http.StatusBadGateway)
			}
		}()
		h.ServeHTTP(w, r)
	})
}
