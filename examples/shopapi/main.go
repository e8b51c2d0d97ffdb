// Command shopapi is an example shop API for kfsidebar's HTTP order
// backend: it serves the demo shop's customers and orders and refuses any
// request without a valid signature (wrong secret, a timestamp more than 5
// minutes off, a replayed nonce).
//
//	SHOP_SECRET=$(openssl rand -hex 32) go run ./examples/shopapi
//
// then point kfsidebar at it with the configuration it prints.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"time"

	"github.com/kfsidebar/kfsidebar/examples/shopapi/shop"
	"github.com/kfsidebar/kfsidebar/proxy/mpkftest"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:8090", "address to serve the API on")
	flag.Parse()
	secret := os.Getenv("SHOP_SECRET")
	if len(secret) < 16 {
		log.Fatal("set SHOP_SECRET to the secret shared with kfsidebar (16 characters or more), e.g. SHOP_SECRET=$(openssl rand -hex 32)")
	}
	s, err := shop.Load(mpkftest.DemoOrdersJSON)
	if err != nil {
		log.Fatal(err)
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		log.Fatal(err)
	}
	v := &shop.Verifier{Secret: []byte(secret)}
	srv := &http.Server{Handler: logRequests(v.Require(s.Handler())), ReadHeaderTimeout: 10 * time.Second}
	base := "http://" + ln.Addr().String()
	fmt.Printf(`example shop API on %[1]s

kfsidebar.toml:

[orders]
backend = "http"

[orders.http]
lookup_url   = "%[1]s/kfsidebar/customers/by-openid/{openid}"
customer_url = "%[1]s/kfsidebar/customers/{id}"
search_url   = "%[1]s/kfsidebar/search?q={query}&limit={limit}"
secret_env   = "SHOP_SECRET"
`, base)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	go func() {
		<-ctx.Done()
		srv.Shutdown(context.Background())
	}()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		log.Fatal(err)
	}
}

// logRequests logs each request's method, path pattern and status; never
// the openid in the path.
func logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		start := time.Now()
		next.ServeHTTP(rec, r)
		route := r.Pattern // "GET /kfsidebar/customers/by-openid/{openid}"; "" when refused
		if route == "" {
			route = r.Method + " (not routed)"
		}
		log.Printf("%s → %d in %v", route, rec.status, time.Since(start).Round(time.Microsecond))
	})
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}
