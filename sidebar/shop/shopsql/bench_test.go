package shopsql_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	shopapi "github.com/kfsidebar/kfsidebar/examples/shopapi/shop"
	"github.com/kfsidebar/kfsidebar/proxy/mpkftest"
	"github.com/kfsidebar/kfsidebar/sidebar/shop"
	"github.com/kfsidebar/kfsidebar/sidebar/shop/shophttp"
	"github.com/kfsidebar/kfsidebar/sidebar/shop/shoptest"
)

// BenchmarkBackendLookup measures one uncached Lookup of a demo customer
// (profile, orders, items) on every backend, in one run so the figures
// compare:
//
//	eval "$(.ci/run databases)"
//	go test ./sidebar/shop/shopsql -run x -bench BackendLookup -benchtime 2000x
//
// Besides ns/op it reports the p50 and p95 latency of the lookups. The
// http backend talks to the example shop API (signatures checked) over
// loopback HTTP; postgres and mariadb are the sample shop on local
// servers, so the figures are kfsidebar's own cost plus a loopback round
// trip per statement, not a LAN's.
func BenchmarkBackendLookup(b *testing.B) {
	const secret = "kfsidebar-example-secret-0123456789"
	openids := shoptest.OpenIDs(b, mpkftest.DemoOrdersJSON)
	backends := []struct {
		name string
		open func(b *testing.B) shop.Backend
	}{
		{"sqlite", func(b *testing.B) shop.Backend { return shoptest.Embedded(b, mpkftest.DemoOrdersJSON) }},
		{"http", func(b *testing.B) shop.Backend {
			data, err := shopapi.Load(mpkftest.DemoOrdersJSON)
			if err != nil {
				b.Fatal(err)
			}
			v := &shopapi.Verifier{Secret: []byte(secret)}
			srv := httptest.NewServer(v.Require(data.Handler()))
			b.Cleanup(srv.Close)
			hb, err := shophttp.New(shophttp.Options{
				LookupURL: srv.URL + "/kfsidebar/customers/by-openid/{openid}",
				Secret:    []byte(secret),
				Client:    &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}},
			})
			if err != nil {
				b.Fatal(err)
			}
			return hb
		}},
		{"postgres", func(b *testing.B) shop.Backend {
			_, opts, open := sampleSQL(b, "postgres.toml", "KFSIDEBAR_TEST_POSTGRES_DSN")
			return open(opts)
		}},
		{"mariadb", func(b *testing.B) shop.Backend {
			_, opts, open := sampleSQL(b, "mysql.toml", "KFSIDEBAR_TEST_MYSQL_DSN")
			return open(opts)
		}},
	}
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			backend := be.open(b)
			ctx := context.Background()
			for _, id := range openids { // warm up connections and caches
				if _, err := backend.Lookup(ctx, id); err != nil {
					b.Fatal(err)
				}
			}
			lat := make([]time.Duration, 0, b.N)
			i := 0
			for b.Loop() {
				start := time.Now()
				if _, err := backend.Lookup(ctx, openids[i%len(openids)]); err != nil {
					b.Fatal(err)
				}
				lat = append(lat, time.Since(start))
				i++
			}
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
			b.ReportMetric(float64(lat[len(lat)*95/100].Microseconds()), "p95-µs")
		})
	}
}
