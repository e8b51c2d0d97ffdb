package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/kfsidebar/kfsidebar/push"
	"github.com/kfsidebar/kfsidebar/push/feed"
	"github.com/kfsidebar/kfsidebar/push/statuspage"
	"github.com/kfsidebar/kfsidebar/push/store"
	"github.com/kfsidebar/kfsidebar/sidebar/shop/shopsql"
)

// gatewayServer is one running gateway: store, push server, feed and
// status page on one listener.
type gatewayServer struct {
	cfg   GatewayConfig
	setup *gatewaySetup
	log   *slog.Logger
	store *store.Store
	push  *push.Server
	feed  *feed.Feed // nil without workstations
	http  *http.Server
	ln    net.Listener
	addr  string // the address really listened on
	url   string // http(s)://addr
	// endRequests cancels every request's context: the feed's long polls
	// and websockets end at once on shutdown. A push being answered does
	// not: the library finishes its commit without the request's context.
	endRequests context.CancelFunc
}

// Timeouts of the gateway's listener. WeChat's requests are small and sent
// at once, so a client that sends slowly is cut off rather than allowed to
// hold a connection (and the push handler's reply budget is spent on the
// work, not on waiting for a body). The write timeout leaves room for the
// feed's long poll; a websocket clears it when it takes the connection.
const (
	gatewayReadHeaderTimeout = 5 * time.Second
	gatewayReadTimeout       = 10 * time.Second
	gatewayWriteTimeout      = feed.DefaultLongPoll + 15*time.Second
	gatewayIdleTimeout       = 2 * time.Minute
	gatewayShutdownTimeout   = 10 * time.Second
)

// startGateway opens the store, builds the server and listens. It
// serves nothing until serve.
func startGateway(ctx context.Context, cfg GatewayConfig, setup *gatewaySetup, log *slog.Logger) (g *gatewayServer, err error) {
	g = &gatewayServer{cfg: cfg, setup: setup, log: log}
	opened := g
	defer func() {
		if err != nil {
			opened.close()
		}
	}()
	if g.store, err = openGatewayStore(ctx, setup.store, setup.push.Targets); err != nil {
		return nil, err
	}
	pc := setup.push
	pc.Logger = log
	if len(setup.feedTokens) > 0 {
		g.feed, err = feed.New(feed.Config{Tokens: setup.feedTokens, Source: g.store, TTL: pc.FeedTTL, Logger: log})
		if err != nil {
			return nil, err
		}
		pc.OnFeed = g.feed.Wake
	}
	if g.push, err = push.New(pc, g.store); err != nil {
		return nil, err
	}
	if g.ln, err = net.Listen("tcp", cfg.Listen); err != nil {
		return nil, fmt.Errorf("listen on %s: %w (is a gateway already running? choose another address with --listen)", cfg.Listen, err)
	}
	g.addr = g.ln.Addr().String()
	scheme := "http"
	var tlsConfig *tls.Config
	if cfg.TLSCert != "" {
		scheme = "https"
		certs := &certFiles{cert: cfg.TLSCert, key: cfg.TLSKey, log: log}
		if _, err := certs.get(nil); err != nil {
			return nil, err
		}
		tlsConfig = &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: certs.get}
	}
	g.url = scheme + "://" + g.addr
	mux := http.NewServeMux()
	mux.Handle(cfg.Path, g.push)
	var subscribers func() int
	feedPath := ""
	if g.feed != nil {
		mux.Handle(gatewayFeedPath, g.feed)
		subscribers, feedPath = g.feed.Subscribers, gatewayFeedPath
	}
	if cfg.StatusPage {
		mux.Handle("/", statuspage.New(statuspage.Options{
			Addr: g.addr, Version: versionString(), Store: setup.store.String(),
			PushPath: cfg.Path, FeedPath: feedPath,
			Status: g.push.Status, Subscribers: subscribers, Started: time.Now(),
		}))
	}
	base, endRequests := context.WithCancel(context.WithoutCancel(ctx))
	g.endRequests = endRequests
	g.http = &http.Server{
		Handler:           mux,
		TLSConfig:         tlsConfig,
		ReadHeaderTimeout: gatewayReadHeaderTimeout,
		ReadTimeout:       gatewayReadTimeout,
		WriteTimeout:      gatewayWriteTimeout,
		IdleTimeout:       gatewayIdleTimeout,
		MaxHeaderBytes:    64 << 10,
		BaseContext:       func(net.Listener) context.Context { return base },
		// Scanners' broken handshakes and requests are noise at Info.
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelDebug),
	}
	return g, nil
}

// serve answers WeChat and dispatches the outbox until ctx ends; then it
// stops taking requests, lets the pushes being answered finish, waits for
// the deliveries under way (push.Server.Run) and closes the store.
func (g *gatewayServer) serve(ctx context.Context) error {
	runCtx, stopRun := context.WithCancel(ctx)
	defer stopRun()
	ran := make(chan struct{})
	go func() {
		defer close(ran)
		if err := g.push.Run(runCtx); err != nil {
			g.log.Error("gateway dispatcher stopped", "err", err)
		}
	}()
	served := make(chan error, 1)
	go func() {
		if g.http.TLSConfig != nil {
			served <- g.http.ServeTLS(g.ln, "", "")
		} else {
			served <- g.http.Serve(g.ln)
		}
	}()
	var err error
	select {
	case err = <-served:
	case <-ctx.Done():
	}
	g.endRequests()
	sctx, cancel := context.WithTimeout(context.Background(), gatewayShutdownTimeout)
	if serr := g.http.Shutdown(sctx); serr != nil {
		g.http.Close()
	}
	cancel()
	stopRun()
	<-ran
	g.ln = nil // closed by Shutdown
	g.close()
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// close releases what startGateway opened, for a start that failed
// half-way and after serve.
func (g *gatewayServer) close() {
	if g.endRequests != nil {
		g.endRequests()
	}
	if g.ln != nil {
		g.ln.Close()
	}
	if g.store != nil {
		if err := g.store.Close(); err != nil {
			g.log.Warn("close gateway store", "err", err)
		}
	}
}

// openGatewayStore opens the store spec names. PostgreSQL goes through
// shopsql.Open, the module's one home of the pgx driver, with a pool
// sized so that the replies never wait behind the deliverers.
func openGatewayStore(ctx context.Context, spec storeSpec, targets []push.Target) (*store.Store, error) {
	if !spec.postgres {
		st, err := store.OpenSQLite(ctx, spec.path)
		if err != nil {
			return nil, fmt.Errorf("gateway store %s: %w", spec, err)
		}
		return st, nil
	}
	db, err := shopsql.Open(shopsql.DriverPostgres, spec.dsn, "")
	if err != nil {
		return nil, fmt.Errorf("gateway store: %w", err)
	}
	conns := 8 // the replies, the feed, the status page, pruning
	for _, t := range targets {
		conns += max(t.Concurrency, push.DefaultConcurrency) + 1 // its deliverers and its dispatcher
	}
	db.SetMaxOpenConns(conns)
	db.SetMaxIdleConns(8)
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := db.PingContext(pctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("gateway store %s: cannot connect (%w); check store's host, user and password, and that PostgreSQL is up", spec, err)
	}
	st, err := store.Open(pctx, db, store.Postgres)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("gateway store %s: %w (the user needs the right to create tables in its schema)", spec, err)
	}
	return st, nil
}

// certFiles serves the certificate in the two files, reading them again
// when the certificate file changes, so a renewal (certbot, acme.sh) is
// picked up without a restart.
type certFiles struct {
	cert, key string
	log       *slog.Logger

	mu      sync.Mutex
	current *tls.Certificate
	modTime time.Time
	checked time.Time
}

// certCheckEvery bounds how often the files are looked at.
const certCheckEvery = time.Minute

func (c *certFiles) get(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now()
	if c.current != nil && now.Sub(c.checked) < certCheckEvery {
		return c.current, nil
	}
	c.checked = now
	fi, err := os.Stat(c.cert)
	if err == nil && c.current != nil && fi.ModTime().Equal(c.modTime) {
		return c.current, nil
	}
	pair, lerr := tls.LoadX509KeyPair(c.cert, c.key)
	switch {
	case lerr == nil:
		c.current = &pair
		if err == nil {
			c.modTime = fi.ModTime()
		}
	case c.current != nil:
		c.log.Warn("could not reload the TLS certificate; keeping the one loaded", "cert", c.cert, "err", lerr)
	default:
		return nil, fmt.Errorf("tls_cert %s, tls_key %s: %w", c.cert, c.key, lerr)
	}
	return c.current, nil
}
