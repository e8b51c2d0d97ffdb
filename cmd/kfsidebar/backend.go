package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"sync"
	"time"
	_ "time/tzdata" // time_zone = "Asia/Shanghai" also where the OS has no zone files (Windows)

	"github.com/kfsidebar/kfsidebar/sidebar/shop"
	"github.com/kfsidebar/kfsidebar/sidebar/shop/embedded"
	"github.com/kfsidebar/kfsidebar/sidebar/shop/shophttp"
	"github.com/kfsidebar/kfsidebar/sidebar/shop/shopsql"
)

// startupCheckTimeout bounds the check of an sql backend's queries at
// start-up, which runs in the background: the console never waits for it.
const startupCheckTimeout = 15 * time.Second

// orderBackend is the configured order backend, as the server keeps it:
// the cached backend (a *shop.Cache, which is also a shop.Fresher
// and reports Health) and how to release it.
type orderBackend struct {
	shop.Backend
	close func() error
}

// newBackend builds the order backend cfg.Orders names, behind the cache
// and circuit breaker, so the hub gets a shop.Fresher and the status
// page the cache's Health. db is the embedded database (used by the
// sqlite backend only). Nothing is contacted here: a shop that is down
// at start-up shows as an error in the sidebar, and the console works
// anyway. An sql backend's queries are checked in the background and
// problems logged. close releases everything.
func newBackend(ctx context.Context, cfg Config, db *sql.DB, log *slog.Logger) (shop.Backend, func() error, error) {
	o := cfg.Orders
	if ps := o.problems(); len(ps) > 0 {
		return nil, nil, fmt.Errorf("%s: %s", ps[0].key, ps[0].reason)
	}
	log = log.With("component", "orders")
	var (
		inner   shop.Backend
		closers []func() error
		timeout = shop.DefaultCallTimeout
		checker interface{ Check(context.Context) error }
	)
	switch o.Backend {
	case backendSQLite:
		if db == nil {
			return nil, nil, errors.New("the sqlite order backend needs the embedded database")
		}
		b, err := embedded.New(ctx, db)
		if err != nil {
			return nil, nil, fmt.Errorf("open order database: %w", err)
		}
		b.RecentOrders = o.RecentOrders
		inner, closers = b, append(closers, b.Close)
	case backendHTTP:
		b, err := newHTTPBackend(o.HTTP, log)
		if err != nil {
			return nil, nil, fmt.Errorf("orders.http: %w", err)
		}
		inner = b
		timeout = o.HTTP.Timeout.Duration + time.Second
		log.Info("order backend: the shop's API", "lookup_url", o.HTTP.LookupURL, "timeout", o.HTTP.Timeout.Duration)
	case backendSQL:
		b, shopDB, err := newSQLBackend(o, log)
		if err != nil {
			return nil, nil, fmt.Errorf("orders.sql: %w", err)
		}
		inner, closers, checker = b, append(closers, shopDB.Close), b
		// A lookup is a few statements, each under the server's timeout.
		timeout = max(2*o.SQL.StatementTimeout.Duration+time.Second, shop.DefaultCallTimeout)
		log.Info("order backend: the shop's database", "driver", o.SQL.Driver, "statement_timeout", o.SQL.StatementTimeout.Duration)
	}
	cache := shop.NewCache(inner, shop.CacheOptions{
		TTL:              o.CacheTTL.Duration,
		FailureThreshold: o.FailureThreshold,
		OpenFor:          o.OpenFor.Duration,
		Timeout:          timeout,
		Logger:           log,
	})

	checkCtx, cancelCheck := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	if checker != nil {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(checkCtx, startupCheckTimeout)
			defer cancel()
			switch err := checker.Check(ctx); {
			case err == nil:
				log.Info("order backend: every query checked")
			case checkCtx.Err() != nil:
			case shopsql.IsQueryError(err):
				log.Error("order backend: a configured query does not work; fix it (kfsidebar config check --connect)", "err", err)
			default:
				log.Warn("order backend: cannot check the queries now; lookups will retry", "err", err)
			}
		})
	}
	closeAll := func() error {
		cancelCheck()
		wg.Wait()
		errs := []error{cache.Close()}
		for i := len(closers) - 1; i >= 0; i-- {
			errs = append(errs, closers[i]())
		}
		return errors.Join(errs...)
	}
	return cache, closeAll, nil
}

// newHTTPBackend turns [orders.http] into the backend, with the secret
// from the environment when secret_env says so.
func newHTTPBackend(h HTTPConfig, log *slog.Logger) (*shophttp.Backend, error) {
	secret := h.Secret
	if h.SecretEnv != "" {
		secret = os.Getenv(h.SecretEnv)
	}
	header := http.Header{}
	for k, v := range h.Headers {
		header.Set(k, v)
	}
	opts := shophttp.Options{
		LookupURL:       h.LookupURL,
		CustomerURL:     h.CustomerURL,
		SearchURL:       h.SearchURL,
		Method:          h.Method,
		Header:          header,
		Secret:          []byte(secret),
		Timeout:         h.Timeout.Duration,
		MaxResponseSize: h.MaxResponseSize,
		Logger:          log,
	}
	if h.CAFile != "" {
		pem, err := os.ReadFile(h.CAFile)
		if err != nil {
			return nil, fmt.Errorf("ca_file: %w", err)
		}
		pool, err := x509.SystemCertPool()
		if err != nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("ca_file %s: no PEM certificate found", h.CAFile)
		}
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
		opts.Client = &http.Client{Transport: t}
	}
	return shophttp.New(opts)
}

// newSQLBackend opens the shop's database for [orders.sql]; the DSN and
// password may come from the environment.
func newSQLBackend(o OrdersConfig, log *slog.Logger) (*shopsql.Backend, *sql.DB, error) {
	s := o.SQL
	dsn := s.DSN
	if s.DSNEnv != "" {
		dsn = os.Getenv(s.DSNEnv)
	}
	password := ""
	if s.PasswordEnv != "" {
		password = os.Getenv(s.PasswordEnv)
	}
	tz, err := loadTimeZone(s.TimeZone)
	if err != nil {
		return nil, nil, fmt.Errorf("time_zone: %w", err)
	}
	db, err := shopsql.Open(s.Driver, dsn, password)
	if err != nil {
		return nil, nil, err
	}
	b, err := shopsql.New(db, s.Driver, shopsql.Options{
		Queries: shopsql.Queries{
			CustomerByOpenID: s.CustomerByOpenID,
			CustomerByID:     s.CustomerByID,
			Orders:           s.Orders,
			OrderItems:       s.OrderItems,
			SearchByPhone:    s.SearchByPhone,
			SearchByOrderNo:  s.SearchByOrderNo,
			SearchByName:     s.SearchByName,
		},
		StatementTimeout: s.StatementTimeout.Duration,
		RecentOrders:     o.RecentOrders,
		TimeZone:         tz,
		Logger:           log,
	})
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	return b, db, nil
}
