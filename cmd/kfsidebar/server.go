package main

import (
	"context"
	"crypto/x509"
	"database/sql"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/kfsidebar/kfsidebar/certs"
	"github.com/kfsidebar/kfsidebar/internal/hostport"
	"github.com/kfsidebar/kfsidebar/proxy"
	"github.com/kfsidebar/kfsidebar/proxy/admin"
	"github.com/kfsidebar/kfsidebar/proxy/chats"
	"github.com/kfsidebar/kfsidebar/proxy/console"
	"github.com/kfsidebar/kfsidebar/sidebar"
	"github.com/kfsidebar/kfsidebar/sidebar/quickreply"
	"github.com/kfsidebar/kfsidebar/sidebar/shop/embedded"
)

// The chat map is what the sidebar resolves chats with.
var _ sidebar.Resolver = (*chats.Sessions)(nil)

// server is one running kfsidebar: CA, database, session map, order
// backend, websocket hub and proxy, listening.
type server struct {
	cfg       Config
	log       *slog.Logger
	addr      string // the address the proxy really listens on
	ca        *certs.CA
	caCreated bool
	db        *sql.DB
	sessions  *chats.Sessions
	backend   *embedded.Backend // the embedded database: the demo and orders import fill it
	orders    orderBackend      // the configured order backend, cached: what the sidebar asks
	quick     *quickreply.Store
	hub       *sidebar.Hub
	proxy     *proxy.Proxy
	scans     *scanClock    // the session map, noting the last scan for the status page
	feed      *subscription // the push gateway's feed, nil without [gateway]
	upstream  *url.URL      // the office proxy chained to, or nil
	pause     *admin.Switch
	ln        net.Listener
}

// startServer opens everything cfg names and starts listening. extraRoots
// are trusted for the console besides the system roots and --upstream-ca
// (the demo's simulated console).
func startServer(ctx context.Context, cfg Config, extraRoots []*x509.Certificate, log *slog.Logger) (s *server, err error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	s = &server{cfg: cfg, log: log}
	opened := s // the error returns below set s to nil
	defer func() {
		if err != nil {
			opened.close()
		}
	}()
	s.ca, s.caCreated, err = certs.LoadOrCreate(cfg.DataDir, certs.Options{Hosts: cfg.ConsoleHosts})
	if err != nil {
		return nil, err
	}
	roots, err := upstreamRoots(cfg.UpstreamCA, extraRoots)
	if err != nil {
		return nil, err
	}
	if s.db, err = openDB(ctx, cfg.DataDir); err != nil {
		return nil, err
	}
	s.sessions, err = chats.Open(ctx, s.db, chats.Options{TTL: cfg.SessionTTL, Logger: log})
	if err != nil {
		return nil, fmt.Errorf("open session map: %w", err)
	}
	if s.backend, err = embedded.New(ctx, s.db); err != nil {
		return nil, fmt.Errorf("open order database: %w", err)
	}
	if s.orders.Backend, s.orders.close, err = newBackend(ctx, cfg, s.db, log); err != nil {
		return nil, err
	}
	if s.quick, err = quickreply.Open(ctx, s.db, log); err != nil {
		return nil, err
	}
	token, err := loadOrCreateToken(cfg.DataDir)
	if err != nil {
		return nil, err
	}
	origins := make([]string, 0, len(cfg.ConsoleHosts))
	for _, h := range cfg.ConsoleHosts {
		origins = append(origins, "https://"+hostport.Host(h))
	}
	bindings, err := sidebar.OpenBindings(ctx, s.db)
	if err != nil {
		return nil, err
	}
	reveals, err := sidebar.OpenRevealLog(ctx, s.db, nil)
	if err != nil {
		return nil, err
	}
	sources, err := sidebar.NewSources(cfg.Gateway.patterns())
	if err != nil {
		return nil, fmt.Errorf("[gateway] sources: %w", err)
	}
	s.hub, err = sidebar.NewHub(sidebar.HubOptions{
		Resolver:       s.sessions,
		Backend:        s.orders.Backend,
		Token:          token,
		AllowedOrigins: origins,
		QuickReplies:   s.quick,
		Bindings:       bindings,
		Reveals:        reveals,
		Sources:        sources,
		Logger:         log,
	})
	if err != nil {
		return nil, err
	}
	if s.ln, err = net.Listen("tcp", cfg.Listen); err != nil {
		return nil, fmt.Errorf("listen on %s: %w (is kfsidebar already running? choose another address with --listen)", cfg.Listen, err)
	}
	s.addr = s.ln.Addr().String()
	up, err := chooseUpstream(cfg, s.addr, log)
	if err != nil {
		return nil, err
	}
	s.upstream = up.url
	if s.feed, err = newFeed(cfg.Gateway, up.url, s.sessions, s.hub, log); err != nil {
		return nil, err
	}
	s.scans = &scanClock{Sink: s.sessions}
	s.pause = &admin.Switch{}
	s.pause.OnChange(s.hub.SetPaused)
	s.pause.OnChange(func(paused bool) { log.Info("kfsidebar paused by the agent", "paused", paused) })
	s.pause.Set(cfg.Paused)
	s.proxy, err = proxy.New(proxy.Config{
		ConsoleHosts:  cfg.ConsoleHosts,
		Leaves:        certs.NewLeaves(s.ca, certs.LeafOptions{}),
		UpstreamRoots: roots,
		DialOverrides: cfg.dialOverrides(),
		Local:         s.hub,
		Admin: admin.New(admin.Options{
			Addr:         s.addr,
			ConsoleHosts: cfg.ConsoleHosts,
			CAPEM:        s.ca.CertPEM,
			Version:      versionString(),
			Chats:        s.sessions.Len,
			Counts:       s.sessions.Counts,
			LastScan:     s.scans.Last,
			Backend:      backendHealth(s.orders.Backend),
			Storage:      storageHealth(s.sessions),
			Proxy:        func() admin.ProxyHealth { return proxyHealth(s.proxy.Health()) },
			Gateway:      s.feed.health(),
			Upstream:     up.url,
			Bypass:       up.bypass,
			Pages:        map[string]http.Handler{quickreply.PagePath: s.quick.Handler()},
			Pause:        s.pause,
			PID:          os.Getpid(),
			SetupFlags:   setupFlags(s.addr, cfg.DataDir),
			CAFlags:      setupFlags("", cfg.DataDir),
		}),
		Paused:          s.pause.On,
		Sink:            s.scans,
		UpstreamProxy:   up.url,
		ScriptSrc:       console.ReservedPrefix + "sidebar.js?" + url.Values{"v": {versionString()}, "t": {token}}.Encode(),
		ScanTargetsOnly: cfg.ScanTargetsOnly,
		FastReplies:     s.quick.SetConsoleReplies,
		WaitingList:     s.feed.waitingList(s.sessions),
		Logger:          log,
		// The cap on blind tunnels comes from the descriptor limit.
		TunnelIdleTimeout: cfg.TunnelIdleTimeout,
	})
	if err != nil {
		return nil, err
	}
	return s, nil
}

// serve runs until ctx ends, then shuts down gracefully.
func (s *server) serve(ctx context.Context) error {
	errc := make(chan error, 1)
	go func() { errc <- s.proxy.Serve(s.ln) }()
	s.feed.start()
	prune := time.NewTicker(10 * time.Minute)
	defer prune.Stop()
	for {
		select {
		case err := <-errc:
			s.close()
			return err
		case <-prune.C:
			if err := s.sessions.Prune(ctx); err != nil {
				s.log.Warn("could not forget expired chats", "err", err)
			}
		case <-ctx.Done():
			s.close()
			return nil
		}
	}
}

// close releases everything startServer opened, in reverse order.
func (s *server) close() {
	s.feed.stop()
	if s.hub != nil {
		s.hub.Close()
	}
	if s.proxy != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if err := s.proxy.Shutdown(ctx); err != nil {
			s.log.Debug("shutdown", "err", err)
		}
		cancel()
	} else if s.ln != nil {
		s.ln.Close()
	}
	if s.quick != nil {
		s.quick.Close() // stores the console's quick replies still being written
	}
	if s.sessions != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if err := s.sessions.Close(ctx); err != nil {
			s.log.Warn("could not store the last chats learned", "err", err)
		}
		cancel()
	}
	if s.orders.close != nil {
		if err := s.orders.close(); err != nil {
			s.log.Debug("close order backend", "err", err)
		}
	}
	if s.db != nil {
		s.db.Close()
	}
}

func (s *server) caPath() string { return filepath.Join(s.cfg.DataDir, certs.CertFile) }

// upstreamRoots returns the system roots plus the PEM file and extra pool,
// or nil (the system roots alone) when there is nothing to add.
func upstreamRoots(file string, extra []*x509.Certificate) (*x509.CertPool, error) {
	if file == "" && len(extra) == 0 {
		return nil, nil
	}
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool()
	}
	if file != "" {
		pem, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("--upstream-ca: %w", err)
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--upstream-ca %s: no PEM certificate found", file)
		}
	}
	for _, c := range extra {
		pool.AddCert(c)
	}
	return pool, nil
}
