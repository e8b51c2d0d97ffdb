package shophttp_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	shopapi "github.com/kfsidebar/kfsidebar/examples/shopapi/shop"
	"github.com/kfsidebar/kfsidebar/proxy/mpkftest"
	"github.com/kfsidebar/kfsidebar/sidebar/shop"
	"github.com/kfsidebar/kfsidebar/sidebar/shop/shophttp"
	"github.com/kfsidebar/kfsidebar/sidebar/shop/shoptest"
)

const testSecret = "kfsidebar-example-secret-0123456789"

// exampleShop runs the example shop API (examples/shopapi) over real TLS,
// behind its own signature check, and counts the requests it refused.
type exampleShop struct {
	*httptest.Server
	verifier *shopapi.Verifier
	refused  atomic.Int32
	lastErr  atomic.Value
}

func startExampleShop(t testing.TB) *exampleShop {
	t.Helper()
	data, err := shopapi.Load(mpkftest.DemoOrdersJSON)
	if err != nil {
		t.Fatal(err)
	}
	s := &exampleShop{verifier: &shopapi.Verifier{Secret: []byte(testSecret)}}
	inner := data.Handler()
	s.Server = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := s.verifier.Verify(r, body); err != nil {
			s.refused.Add(1)
			s.lastErr.Store(err)
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		inner.ServeHTTP(w, r)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *exampleShop) options() shophttp.Options {
	return shophttp.Options{
		LookupURL:   s.URL + "/kfsidebar/customers/by-openid/{openid}",
		CustomerURL: s.URL + "/kfsidebar/customers/{id}",
		SearchURL:   s.URL + "/kfsidebar/search?q={query}&limit={limit}",
		Secret:      []byte(testSecret),
		Client:      s.Client(),
		Timeout:     30 * time.Second, // the machine may be busy
	}
}

func newBackend(t testing.TB, opts shophttp.Options) *shophttp.Backend {
	t.Helper()
	b, err := shophttp.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestHTTPBackendAgainstExampleShop(t *testing.T) {
	s := startExampleShop(t)
	b := newBackend(t, s.options())
	shoptest.CheckLookups(t, b, mpkftest.DemoOrdersJSON)
	shoptest.CheckDemoCustomerAndSearch(t, b)
	if n := s.refused.Load(); n != 0 {
		t.Fatalf("the example shop refused %d signed requests: %v", n, s.lastErr.Load())
	}
}

func TestHTTPBackendSignatureRefused(t *testing.T) {
	s := startExampleShop(t)
	openid := shoptest.OpenIDs(t, mpkftest.DemoOrdersJSON)[0]
	tests := []struct {
		name    string
		tweak   func(*shophttp.Options)
		wantErr error
	}{
		{"wrong secret", func(o *shophttp.Options) { o.Secret = []byte("not-the-shops-secret-at-all") }, shopapi.ErrBadSignature},
		{"clock 10 minutes slow", func(o *shophttp.Options) { o.Now = func() time.Time { return time.Now().Add(-10 * time.Minute) } }, shopapi.ErrStale},
		{"clock 10 minutes fast", func(o *shophttp.Options) { o.Now = func() time.Time { return time.Now().Add(10 * time.Minute) } }, shopapi.ErrStale},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := s.options()
			tt.tweak(&opts)
			_, err := newBackend(t, opts).Lookup(context.Background(), openid)
			if err == nil || !strings.Contains(err.Error(), "401 Unauthorized") || !strings.Contains(err.Error(), "same secret") {
				t.Fatalf("err = %v, want a 401 that says to check the secret", err)
			}
			if got, _ := s.lastErr.Load().(error); !errors.Is(got, tt.wantErr) {
				t.Fatalf("shop refused with %v, want %v", got, tt.wantErr)
			}
			if strings.Contains(err.Error(), openid) {
				t.Errorf("error %q names the openid", err)
			}
		})
	}
}

// handlerShop serves h over TLS behind the example verifier.
func handlerShop(t *testing.T, h http.HandlerFunc) (shophttp.Options, *shopapi.Verifier) {
	t.Helper()
	v := &shopapi.Verifier{Secret: []byte(testSecret)}
	srv := httptest.NewTLSServer(v.Require(h))
	t.Cleanup(srv.Close)
	return shophttp.Options{
		LookupURL: srv.URL + "/c/{openid}",
		SearchURL: srv.URL + "/search?q={query}&n={limit}",
		Secret:    []byte(testSecret),
		Client:    srv.Client(),
		Timeout:   10 * time.Second, // the machine may be busy; TestHTTPBackendTimeout sets its own
	}, v
}

const goodCustomer = `{"openid": "oA1", "name": "林小满", "orders": [{"order_no": "E1", "created_at": "2026-11-17T10:32:15+08:00",
	"status": "已发货", "amount_fen": 100, "items": [{"title": "茶", "qty": 1, "price_fen": 100}]}]}`

func TestHTTPBackendBadAnswers(t *testing.T) {
	big := `{"openid": "oA1", "name": "` + strings.Repeat("x", 3000) + `"}`
	tests := []struct {
		name    string
		status  int
		body    string
		maxSize int64
		want    string
	}{
		{"5xx", 503, "upstream database down", 0, `GET ` + `%s/c/{openid}: the shop answered 503 Service Unavailable: "upstream database down"`},
		{"500 without body", 500, "", 0, `the shop answered 500 Internal Server Error`},
		{"malformed JSON", 200, `{"openid": "oA1", "name": `, 0, `the answer is not JSON (unexpected end of JSON input): "{\"openid\": \"oA1\", \"name\":"`},
		{"HTML", 200, `<html>login</html>`, 0, `the answer is not JSON`},
		{"oversized", 200, big, 2048, `the answer is larger than 2048 bytes; return fewer orders or raise max_response_size`},
		{"null", 200, `null`, 0, `the shop's answer: must be a JSON object (got null)`},
		{"array", 200, `[]`, 0, `the shop's answer: must be a JSON object (got array)`},
		{"missing name", 200, `{"openid": "oA1"}`, 0, `the shop's answer: name: required: the customer's name as the shop knows it`},
		{"other openid", 200, `{"openid": "oB2", "name": "x"}`, 0, `the shop's answer: openid: differs from the openid asked for`},
		{"unknown field", 200, `{"openid": "oA1", "name": "x", "nick": "y"}`, 0, `the shop's answer: nick: unknown field; expected one of openid, name, phone, level, tags, note, admin_url, id, order_count, total_spent_fen, last_order_at, extra, orders`},
		{"bad order", 200, strings.Replace(goodCustomer, `"qty": 1`, `"qty": 0`, 1), 0, `the shop's answer: orders[0].items[0].qty: must be a positive integer (got 0)`},
		{"bad status", 200, strings.Replace(goodCustomer, `已发货`, `shipping`, 1), 0, `the shop's answer: orders[0].status: must be one of pending`},
		{"amount as string", 200, strings.Replace(goodCustomer, `"amount_fen": 100`, `"amount_fen": "1.00"`, 1), 0, `the shop's answer: orders[0].amount_fen: must be a whole number of fen (1 yuan = 100 fen) (got string)`},
		{"bad tracking time", 200, strings.Replace(goodCustomer, `"status"`, `"tracking_at": "yesterday", "status"`, 1), 0, `the shop's answer: orders[0].tracking_at: must be an RFC 3339 time like "2026-11-20T10:00:00+08:00" (got "yesterday")`},
		{"bad extra href", 200, `{"openid": "oA1", "name": "x", "extra": [{"label": "a", "value": "b", "href": "javascript:alert(1)"}]}`, 0, `the shop's answer: extra[0].href: must be an absolute http(s) URL`},
		{"extra without label", 200, `{"openid": "oA1", "name": "x", "extra": [{"value": "b"}]}`, 0, `the shop's answer: extra[0].label: required`},
		{"negative summary", 200, `{"openid": "oA1", "name": "x", "total_spent_fen": -1}`, 0, `the shop's answer: total_spent_fen: must not be negative (got -1)`},
		{"redirect", 302, "", 0, `the shop redirects (302 Found) to "/login"; configure the final URL instead`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts, _ := handlerShop(t, func(w http.ResponseWriter, r *http.Request) {
				if tt.status == 302 {
					w.Header().Set("Location", "/login")
				}
				w.WriteHeader(tt.status)
				io.WriteString(w, tt.body)
			})
			opts.MaxResponseSize = tt.maxSize
			_, err := newBackend(t, opts).Lookup(context.Background(), "oA1")
			want := tt.want
			if strings.Contains(want, "%s") {
				want = fmt.Sprintf(want, strings.TrimSuffix(opts.LookupURL, "/c/{openid}"))
			}
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Fatalf("err = %v\nwant it to contain %s", err, want)
			}
			if errors.Is(err, shop.ErrNotFound) {
				t.Fatalf("err = %v is ErrNotFound", err)
			}
		})
	}
}

func TestHTTPBackendGoodAnswer(t *testing.T) {
	var gotPath atomic.Value
	opts, _ := handlerShop(t, func(w http.ResponseWriter, r *http.Request) {
		gotPath.Store(r.URL.EscapedPath())
		io.WriteString(w, strings.Replace(goodCustomer, `"oA1"`, `"o/A?1#%"`, 1))
	})
	c, err := newBackend(t, opts).Lookup(context.Background(), "o/A?1#%")
	if err != nil {
		t.Fatal(err)
	}
	if got := gotPath.Load(); got != "/c/o%2FA%3F1%23%25" {
		t.Errorf("path %v: the openid must be one escaped path segment", got)
	}
	if c.Orders[0].Status != "shipped" || c.Orders[0].OpenID != "o/A?1#%" || c.Orders[0].Refund.Status != "none" {
		t.Errorf("order = %+v, want status normalized and openid and refund filled in", c.Orders[0])
	}
}

func TestHTTPBackendNotFound(t *testing.T) {
	opts, _ := handlerShop(t, func(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) })
	if _, err := newBackend(t, opts).Lookup(context.Background(), "oA1"); !errors.Is(err, shop.ErrNotFound) {
		t.Fatalf("err = %v, want ErrNotFound", err)
	}
	if _, err := newBackend(t, opts).Search(context.Background(), "1234", 5); err == nil || !strings.Contains(err.Error(), `must answer {"customers": []}`) {
		t.Fatalf("search 404: err = %v", err)
	}
}

func TestHTTPBackendSearchAnswers(t *testing.T) {
	tests := []struct {
		body, want string
	}{
		{`{"customers": []}`, ""},
		{`{"customers": [{"openid": "oA1", "name": "a"}, {"id": "42", "name": "b"}]}`, ""},
		{`{}`, `customers: required: an array of customers`},
		{`{"customers": [{"openid": "oA1"}]}`, `customers[0].name: required`},
		{`{"customers": [{"name": "x"}]}`, `customers[0].openid: required: the user's openid in the mini-program (or the shop's own "id" for a customer without one)`},
		{`{"results": []}`, `results: unknown field; expected one of customers`},
	}
	for _, tt := range tests {
		opts, _ := handlerShop(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, tt.body) })
		got, err := newBackend(t, opts).Search(context.Background(), "张", 5)
		if tt.want == "" {
			if err != nil || got == nil {
				t.Errorf("%s: %v, %v", tt.body, got, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err = %v, want %s", tt.body, err, tt.want)
		}
	}
}

func TestHTTPBackendSearchEscapesQuery(t *testing.T) {
	var got atomic.Value
	opts, _ := handlerShop(t, func(w http.ResponseWriter, r *http.Request) {
		got.Store(r.URL.Query().Get("q") + "|" + r.URL.Query().Get("n"))
		io.WriteString(w, `{"customers": []}`)
	})
	if _, err := newBackend(t, opts).Search(context.Background(), " 张 伟&x=1 ", 7); err != nil {
		t.Fatal(err)
	}
	if g := got.Load(); g != "张 伟&x=1|7" {
		t.Fatalf("shop got %q", g)
	}
}

func TestHTTPBackendPOST(t *testing.T) {
	var got atomic.Value
	opts, _ := handlerShop(t, func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		got.Store(r.Method + " " + r.Header.Get("Content-Type") + " " + string(body) + " " + r.Header.Get("X-Shop"))
		io.WriteString(w, goodCustomer)
	})
	opts.Method = "post"
	opts.LookupURL = strings.Replace(opts.LookupURL, "/c/{openid}", "/kf/lookup", 1)
	opts.Header = http.Header{"X-Shop": {"7"}}
	if _, err := newBackend(t, opts).Lookup(context.Background(), "oA1"); err != nil {
		t.Fatal(err)
	}
	if g := got.Load(); g != `POST application/json {"openid":"oA1"} 7` {
		t.Fatalf("shop got %q", g)
	}
}

// TestHTTPBackendTimeout: a shop that accepts the request and never
// answers, or answers half a body, costs Timeout and no more.
func TestHTTPBackendTimeout(t *testing.T) {
	release := make(chan struct{})
	var once sync.Once
	t.Cleanup(func() { once.Do(func() { close(release) }) })
	for _, half := range []bool{false, true} {
		opts, _ := handlerShop(t, func(w http.ResponseWriter, r *http.Request) {
			if half {
				w.Write([]byte(`{"openid": "oA1", `))
				w.(http.Flusher).Flush()
			}
			select {
			case <-release:
			case <-r.Context().Done():
			}
		})
		opts.Timeout = 300 * time.Millisecond
		start := time.Now()
		_, err := newBackend(t, opts).Lookup(context.Background(), "oA1")
		if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "within 300ms") {
			t.Fatalf("half=%v: err = %v, want a timeout after 300ms", half, err)
		}
		if d := time.Since(start); d > 10*time.Second {
			t.Fatalf("half=%v: returned after %v", half, d)
		}
	}
}

func TestNewHTTPBackendChecksOptions(t *testing.T) {
	good := shophttp.Options{LookupURL: "https://shop.example/c/{openid}", Secret: []byte(testSecret)}
	tests := []struct {
		name  string
		tweak func(*shophttp.Options)
		want  string
	}{
		{"no lookup URL", func(o *shophttp.Options) { o.LookupURL = "" }, `lookup_url: required`},
		{"no placeholder", func(o *shophttp.Options) { o.LookupURL = "https://shop.example/c" }, `lookup_url: must contain {openid} where the openid goes`},
		{"unknown placeholder", func(o *shophttp.Options) { o.LookupURL = "https://shop.example/c/{open_id}" }, `lookup_url: unknown placeholder {open_id}; this URL can use {openid}`},
		{"relative", func(o *shophttp.Options) { o.LookupURL = "/c/{openid}" }, `must be an absolute http(s) URL`},
		{"ftp", func(o *shophttp.Options) { o.LookupURL = "ftp://shop.example/{openid}" }, `must be an absolute http(s) URL`},
		{"search placeholder", func(o *shophttp.Options) { o.SearchURL = "https://shop.example/s?q={q}" }, `search_url: unknown placeholder {q}; this URL can use {query}, {limit}`},
		{"short secret", func(o *shophttp.Options) { o.Secret = []byte("short") }, `secret: must be at least 16 characters (got 5)`},
		{"method", func(o *shophttp.Options) { o.Method = "PUT" }, `method "PUT": want GET or POST`},
		{"signature header", func(o *shophttp.Options) { o.Header = http.Header{"X-Kfsidebar-Nonce": {"1"}} }, `headers: X-Kfsidebar-Nonce is set by kfsidebar`},
	}
	for _, tt := range tests {
		opts := good
		tt.tweak(&opts)
		_, err := shophttp.New(opts)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err = %v, want %s", tt.name, err, tt.want)
		}
	}
	post := good
	post.Method, post.LookupURL = "POST", "https://shop.example/kf/lookup"
	if _, err := shophttp.New(post); err != nil {
		t.Errorf("POST without placeholders: %v", err)
	}
}
