// Package statuspage serves the push gateway's own status page (/) and
// its machine-readable twin (/status.json): pushes per minute by type, the
// replies given, duplicates, the outbox's depth and dead letters, and the
// health of each target. It shows counts, never customer data.
//
// The page is for the shop's IT person on the gateway's machine, not for
// the internet, although the same listener serves WeChat's push URL
// through the shop's HTTPS front. So, like the proxy's pages
// (proxy/admin), it answers only requests whose Host is the listen
// address itself (which a DNS-rebinding page cannot send), and it refuses
// any request a front forwarded (X-Forwarded-For, Forwarded, X-Real-IP),
// whatever its Host.
package statuspage

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/kfsidebar/kfsidebar/push"
)

// Options configure the pages.
type Options struct {
	// Addr is the address the gateway listens on ("127.0.0.1:8788"):
	// the Host the page answers to. With a loopback or unspecified host,
	// 127.0.0.1, localhost and [::1] with the same port are accepted too.
	Addr string
	// Version is kfsidebar's version, shown on the page.
	Version string
	// Store names the store without credentials ("SQLite /var/lib/…",
	// "PostgreSQL db.shop.lan:5432/gateway").
	Store string
	// PushPath is the push URL's path, as entered in WeChat's admin.
	PushPath string
	// FeedPath is the workstation feed's path; "" when no workstation is
	// configured.
	FeedPath string
	// Status reports the gateway's counters (push.Server.Status).
	// Required.
	Status func(ctx context.Context) push.Status
	// Subscribers reports the workstations subscribed now; nil without a
	// feed.
	Subscribers func() int
	// Started is when the gateway started.
	Started time.Time
	// Now is the clock for "N minutes ago"; default time.Now.
	Now func() time.Time
}

// Report is /status.json: push.Status's fields and the gateway's own.
type Report struct {
	Version  string    `json:"version"`
	Addr     string    `json:"addr"`
	PushPath string    `json:"push_path"`
	Store    string    `json:"store"`
	Started  time.Time `json:"started"`
	// FeedSubscribers is present when workstations are configured.
	FeedSubscribers *int `json:"feed_subscribers,omitempty"`
	push.Status
}

// statusTimeout bounds the store's count of the outbox for one page.
const statusTimeout = 3 * time.Second

// New returns the handler of / and /status.json; anything else is 404.
func New(opts Options) http.Handler {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	allowed := allowedHosts(opts.Addr)
	report := func(ctx context.Context) Report {
		ctx, cancel := context.WithTimeout(ctx, statusTimeout)
		defer cancel()
		r := Report{Version: opts.Version, Addr: opts.Addr, PushPath: opts.PushPath, Store: opts.Store, Started: opts.Started, Status: opts.Status(ctx)}
		if opts.Subscribers != nil {
			n := opts.Subscribers()
			r.FeedSubscribers = &n
		}
		return r
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /status.json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		json.NewEncoder(w).Encode(report(r.Context()))
	})
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		var buf bytes.Buffer
		if err := page.Execute(&buf, newView(report(r.Context()), opts, opts.Now())); err != nil {
			http.Error(w, "status page failed", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
		w.Header().Set("X-Frame-Options", "DENY")
		w.Header().Set("Referrer-Policy", "no-referrer")
		w.Write(buf.Bytes())
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if forwarded(r) {
			http.NotFound(w, r)
			return
		}
		if !allowed[strings.ToLower(r.Host)] {
			http.Error(w, "kfsidebar gateway: the status page answers only at http://"+opts.Addr+"/ on the gateway's own machine\n", http.StatusMisdirectedRequest)
			return
		}
		mux.ServeHTTP(w, r)
	})
}

// allowedHosts are the Host values the page answers to.
func allowedHosts(addr string) map[string]bool {
	allowed := map[string]bool{strings.ToLower(addr): true}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return allowed
	}
	if ip := net.ParseIP(host); host == "localhost" || (ip != nil && (ip.IsLoopback() || ip.IsUnspecified())) {
		for _, h := range []string{"127.0.0.1", "localhost", "::1"} {
			allowed[net.JoinHostPort(h, port)] = true
		}
	}
	return allowed
}

// forwarded reports whether a front passed the request on: then it came
// from outside, whatever Host the front set.
func forwarded(r *http.Request) bool {
	for _, h := range []string{"Forwarded", "X-Forwarded-For", "X-Forwarded-Host", "X-Real-Ip"} {
		if r.Header.Get(h) != "" {
			return true
		}
	}
	return false
}
