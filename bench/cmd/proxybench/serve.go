//go:build linux

package main

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime/pprof"
	"time"

	"github.com/elazarl/goproxy"

	"github.com/kfsidebar/kfsidebar/certs"
	"github.com/kfsidebar/kfsidebar/internal/sqlitedb"
	"github.com/kfsidebar/kfsidebar/proxy"
	"github.com/kfsidebar/kfsidebar/proxy/admin"
	"github.com/kfsidebar/kfsidebar/proxy/chats"
	"github.com/kfsidebar/kfsidebar/proxy/console"
	"github.com/kfsidebar/kfsidebar/sidebar"
	"github.com/kfsidebar/kfsidebar/sidebar/shop/embedded"
)

// The in-process proxies run in child processes of the harness (it
// re-executes itself with "serve NAME"), so that their CPU time and peak RSS
// are read from /proc exactly as mitmproxy's and whistle's are, and the
// load generator and the upstream do not count against them.

// serveFlags are what a serve child needs to know.
type serveFlags struct {
	upstream   string // the upstream's address, dialed for consoleHost:443
	upstreamCA string // PEM file of the upstream's CA
	dir        string // data directory (kfsidebar) or where the CA goes (goproxy)
	cpuProfile string // file to write a CPU profile to, for -profile
	http2      bool   // kfsidebar offers HTTP/2 to the upstream (proxy.Config.UpstreamHTTP2)
}

// statsPath is where a serve child reports its counters, on the proxy's
// own address (not through it).
const statsPath = "/bench/stats"

// serveStats are a serve child's counters: how many leaf certificates it
// signed, (kfsidebar) how many chats it has learned, and its runtime's
// allocation and GC counters so far (see memStats).
type serveStats struct {
	Minted     int64  `json:"minted"`
	Chats      int    `json:"chats"`
	AllocBytes uint64 `json:"alloc_bytes"`
	Mallocs    uint64 `json:"mallocs"`
	GCs        uint32 `json:"gcs"`
}

// serve runs one proxy until SIGTERM (ctx), printing "listening ADDR" once
// it accepts connections.
func serve(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return errors.New("serve: which proxy? kfsidebar or goproxy")
	}
	name := args[0]
	fs := flag.NewFlagSet("serve "+name, flag.ContinueOnError)
	var f serveFlags
	fs.StringVar(&f.upstream, "upstream", "", "upstream address for "+consoleHost+":443")
	fs.StringVar(&f.upstreamCA, "upstream-ca", "", "PEM file of the upstream's CA")
	fs.StringVar(&f.dir, "dir", "", "data directory")
	fs.StringVar(&f.cpuProfile, "cpuprofile", "", "write a CPU profile of the whole run to this file")
	fs.BoolVar(&f.http2, "upstream-http2", false, "kfsidebar: offer HTTP/2 to the upstream")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if f.upstream == "" || f.upstreamCA == "" || f.dir == "" {
		return errors.New("serve: -upstream, -upstream-ca and -dir are required")
	}
	pem, err := os.ReadFile(f.upstreamCA)
	if err != nil {
		return err
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(pem) {
		return fmt.Errorf("%s: no certificate", f.upstreamCA)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	defer ln.Close()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	if f.cpuProfile != "" {
		pf, err := os.Create(f.cpuProfile)
		if err != nil {
			return err
		}
		if err := pprof.StartCPUProfile(pf); err != nil {
			return err
		}
		defer func() {
			pprof.StopCPUProfile()
			pf.Close()
		}()
	}
	switch name {
	case "kfsidebar":
		return serveKfsidebar(ctx, f, roots, ln, log, stdout)
	case "goproxy":
		return serveGoproxy(ctx, f, roots, ln, log, stdout)
	}
	return fmt.Errorf("serve: unknown proxy %q", name)
}

// serveKfsidebar assembles kfsidebar as cmd/kfsidebar's startServer does:
// CA in the data directory, session map and order backend on a real SQLite
// file, the sidebar hub, the admin pages, scanning of every console JSON and
// injection into the page. Only the listener and --dial differ.
func serveKfsidebar(ctx context.Context, f serveFlags, roots *x509.CertPool, ln net.Listener, log *slog.Logger, stdout io.Writer) error {
	hosts := []string{consoleHost}
	ca, _, err := certs.LoadOrCreate(f.dir, certs.Options{Hosts: hosts})
	if err != nil {
		return err
	}
	db, err := sqlitedb.Open(ctx, filepath.Join(f.dir, "kfsidebar.db"))
	if err != nil {
		return err
	}
	defer db.Close()
	sessions, err := chats.Open(ctx, db, chats.Options{Logger: log})
	if err != nil {
		return err
	}
	backend, err := embedded.New(ctx, db)
	if err != nil {
		return err
	}
	token := rand.Text()
	hub, err := sidebar.NewHub(sidebar.HubOptions{
		Resolver:       sessions,
		Backend:        backend,
		Token:          token,
		AllowedOrigins: []string{"https://" + consoleHost},
		Logger:         log,
	})
	if err != nil {
		return err
	}
	defer hub.Close()
	addr := ln.Addr().String()
	leaves := certs.NewLeaves(ca, certs.LeafOptions{})
	stats := func() serveStats { return serveStats{Minted: leaves.Minted(), Chats: sessions.Len()} }
	p, err := proxy.New(proxy.Config{
		ConsoleHosts:  hosts,
		Leaves:        leaves,
		UpstreamRoots: roots,
		DialOverrides: map[string]string{consoleHost + ":443": f.upstream, tunnelHost + ":443": f.upstream},
		Local:         hub,
		Admin: admin.New(admin.Options{
			Addr:         addr,
			ConsoleHosts: hosts,
			CAPEM:        ca.CertPEM,
			Version:      "proxybench",
			Chats:        sessions.Len,
			Pages:        map[string]http.Handler{statsPath: statsHandler(stats)},
		}),
		Sink:          sessions,
		ScriptSrc:     console.ReservedPrefix + "sidebar.js?" + url.Values{"v": {"proxybench"}, "t": {token}}.Encode(),
		UpstreamHTTP2: f.http2,
		Logger:        log,
	})
	if err != nil {
		return err
	}
	return serveUntilDone(ctx, ln, stdout, p.Serve, p.Shutdown)
}

// serveGoproxy is goproxy with a bare MITM of the console host and no
// features: no scanning, no injection. It gets its own CA (not goproxy's
// built-in one) through a TLSConfig func, and caches its leaves, as a
// careful user of goproxy would.
func serveGoproxy(ctx context.Context, f serveFlags, roots *x509.CertPool, ln net.Listener, log *slog.Logger, stdout io.Writer) error {
	ca, err := certs.New(certs.Options{Hosts: []string{consoleHost}, CommonName: "proxybench goproxy CA"})
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(f.dir, certs.CertFile), ca.CertPEM, 0o600); err != nil {
		return err
	}
	leaves := certs.NewLeaves(ca, certs.LeafOptions{})
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		if addr == consoleHost+":443" || addr == tunnelHost+":443" {
			addr = f.upstream
		}
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}
	gp := goproxy.NewProxyHttpServer()
	gp.Logger = slog.NewLogLogger(log.Handler(), slog.LevelDebug)
	gp.KeepAcceptEncoding = true
	gp.Tr = &http.Transport{
		DialContext:         dial,
		TLSClientConfig:     &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12},
		DisableCompression:  true,
		TLSHandshakeTimeout: 10 * time.Second,
		IdleConnTimeout:     90 * time.Second,
		MaxIdleConnsPerHost: 32,
	}
	gp.NonproxyHandler = statsHandler(func() serveStats { return serveStats{Minted: leaves.Minted()} })
	mitm := &goproxy.ConnectAction{
		Action: goproxy.ConnectMitm,
		TLSConfig: func(host string, _ *goproxy.ProxyCtx) (*tls.Config, error) {
			leaf, err := leaves.Get(host)
			if err != nil {
				return nil, err
			}
			return &tls.Config{Certificates: []tls.Certificate{*leaf}, MinVersion: tls.VersionTLS12}, nil
		},
	}
	tunnel := &goproxy.ConnectAction{Action: goproxy.ConnectAccept}
	gp.OnRequest().HandleConnectFunc(func(host string, _ *goproxy.ProxyCtx) (*goproxy.ConnectAction, string) {
		if host != consoleHost+":443" {
			return tunnel, host // every other host: a blind tunnel, as kfsidebar does
		}
		return mitm, host
	})
	srv := &http.Server{Handler: gp, ReadHeaderTimeout: 30 * time.Second}
	serveFn := func(ln net.Listener) error {
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	}
	return serveUntilDone(ctx, ln, stdout, serveFn, srv.Shutdown)
}

func statsHandler(stats func() serveStats) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != statsPath {
			http.NotFound(w, r)
			return
		}
		st := stats()
		st.AllocBytes, st.Mallocs, st.GCs = memStats()
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(st)
	})
}

// serveUntilDone announces the address, serves, and shuts down when ctx
// ends.
func serveUntilDone(ctx context.Context, ln net.Listener, stdout io.Writer, serveFn func(net.Listener) error, shutdown func(context.Context) error) error {
	errc := make(chan error, 1)
	go func() { errc <- serveFn(ln) }()
	fmt.Fprintf(stdout, "listening %s\n", ln.Addr())
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	shutdown(sctx)
	return nil
}
