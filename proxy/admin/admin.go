package admin

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"maps"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kfsidebar/kfsidebar/proxy/console"
)

// BackendHealth is how the order backend is doing, for the status page and
// `kfsidebar doctor`. It carries no customer data.
type BackendHealth struct {
	// State is "ok", "degraded" (recent calls failed) or "open" (the
	// backend is not called until RetryAt).
	State string `json:"state"`
	// LastError and LastErrorAt describe the most recent failure.
	LastError   string    `json:"last_error,omitempty"`
	LastErrorAt time.Time `json:"last_error_at,omitzero"`
	// RetryAt is when an open circuit tries the backend again.
	RetryAt time.Time `json:"retry_at,omitzero"`
}

// Options configure the pages served at the proxy's own address.
// The func fields are the status page's data sources; each is optional and
// its row is left out when nil.
type Options struct {
	// Addr is the proxy address browsers are told to use ("127.0.0.1:8787").
	Addr string
	// ConsoleHosts go through the proxy in the PAC file; everything else is
	// DIRECT. Default: [console.DefaultConsoleHost].
	ConsoleHosts []string
	// Upstream is the proxy the workstation used before kfsidebar (see
	// Config.UpstreamProxy): the PAC sends every other host there instead
	// of DIRECT, so that `kfsidebar proxy on` does not take the office
	// proxy away from other sites. Default: nil, DIRECT.
	Upstream *url.URL
	// Bypass are the hosts that went DIRECT despite Upstream in the
	// previous setting ("<local>", "*.corp.example", "10.*", "10.0.0.0/8").
	Bypass []string
	// CAPEM is the root certificate offered at /ca.pem.
	CAPEM []byte
	// Version is shown on the status page.
	Version string
	// Chats reports how many chat users the proxy knows now.
	Chats func() int
	// Counts reports chat users first seen per day and source over the
	// last days days (chats.Sessions.Counts).
	Counts func(days int) map[string]map[string]int
	// LastScan is when console traffic last taught the proxy a chat user;
	// zero when it never did.
	LastScan func() time.Time
	// Backend reports the order backend's health.
	Backend func() BackendHealth
	// Storage reports whether the chats learned are being saved.
	Storage func() StorageHealth
	// Proxy reports the blind tunnels and descriptors against their limits.
	Proxy func() ProxyHealth
	// Gateway reports the subscription to the shop's push gateway; nil
	// when none is configured.
	Gateway func() GatewayHealth
	// Now is the clock for "N minutes ago". Default: time.Now.
	Now func() time.Time
	// Pause is the agent's pause switch (the tray's 暂停/继续). While it
	// is on, the PAC sends every host where it would go without kfsidebar
	// and status.json says so; POST /pause and POST /resume turn it (see
	// ControlHeader). Default nil: never paused, and those answer 404.
	Pause *Switch
	// PID is the proxy's process id, shown in status.json for whatever
	// supervises it. Default 0: left out.
	PID int
	// SetupFlags and CAFlags are the flags the setup commands the status
	// page shows need to reach this kfsidebar: " --data-dir D --listen A"
	// for proxy on, open and doctor, " --data-dir D" for ca install, each
	// only when not the default. Default: "", the commands as they are.
	SetupFlags, CAFlags string
	// Pages are more pages at the proxy's own address, by ServeMux
	// pattern (e.g. "/quick-replies/"). They get the same Host check.
	Pages map[string]http.Handler
}

// PAC returns a proxy auto-config file that sends only the console hosts
// (and console.PACProbeHost) to the proxy at addr. Every other host goes DIRECT,
// or to upstream when one is given, except the bypass patterns. If
// kfsidebar is not running the browser falls back to the next entry: the
// console keeps working, without the sidebar.
func PAC(addr string, hosts []string, upstream *url.URL, bypass []string) string {
	return pacFile(addr, hosts, upstream, bypass, false)
}

// PausedPAC is PAC while the agent paused kfsidebar: every host, the
// console included, goes where it would go without kfsidebar. Only the
// probe host still reaches the proxy, so the status page can tell that
// this browser reads kfsidebar's PAC.
func PausedPAC(addr string, upstream *url.URL, bypass []string) string {
	return pacFile(addr, nil, upstream, bypass, true)
}

func pacFile(addr string, hosts []string, upstream *url.URL, bypass []string, paused bool) string {
	other := "DIRECT"
	if upstream != nil {
		kind := "PROXY"
		if upstream.Scheme == "https" {
			kind = "HTTPS"
		}
		other = kind + " " + upstream.Host
	}
	var b strings.Builder
	if paused {
		b.WriteString("// kfsidebar is paused: nothing goes through the local proxy.\n")
	} else {
		b.WriteString("// kfsidebar: only the WeChat customer-service console goes through the local proxy.\n")
	}
	b.WriteString("function FindProxyForURL(url, host) {\n\thost = host.toLowerCase();\n")
	fmt.Fprintf(&b, "\tif (host == %s) return %s;\n", strconv.Quote(console.PACProbeHost), strconv.Quote("PROXY "+addr))
	for _, h := range console.NewHostSet(hosts...).Sorted() {
		fmt.Fprintf(&b, "\tif (host == %s) return %s;\n", strconv.Quote(h), strconv.Quote("PROXY "+addr+"; "+other))
	}
	if upstream != nil {
		for _, cond := range bypassConditions(bypass) {
			fmt.Fprintf(&b, "\tif (%s) return \"DIRECT\";\n", cond)
		}
	}
	fmt.Fprintf(&b, "\treturn %s;\n}\n", strconv.Quote(other))
	return b.String()
}

// bypassConditions turns proxy bypass entries as Windows, macOS and GNOME
// store them into PAC conditions; entries it cannot express are skipped.
func bypassConditions(bypass []string) []string {
	var out []string
	for _, e := range bypass {
		e = strings.ToLower(strings.TrimSpace(e))
		switch {
		case e == "":
		case e == "<local>":
			out = append(out, "isPlainHostName(host)")
		case strings.Contains(e, "/"):
			if _, n, err := net.ParseCIDR(e); err == nil && n.IP.To4() != nil {
				out = append(out, fmt.Sprintf("isInNet(host, %s, %s)", strconv.Quote(n.IP.String()), strconv.Quote(net.IP(n.Mask).String())))
			}
		case strings.ContainsAny(e, "\"\\") || strings.ContainsFunc(e, func(r rune) bool { return r < 0x20 || r > 0x7e }):
		case strings.HasPrefix(e, "."):
			out = append(out, fmt.Sprintf("shExpMatch(host, %s)", strconv.Quote("*"+e)))
		default:
			out = append(out, fmt.Sprintf("shExpMatch(host, %s)", strconv.Quote(e)))
		}
	}
	return out
}

// statusDays is how many days the chart shows.
const statusDays = 7

// Status is what /status.json reports, for `kfsidebar doctor` and
// scripts. Like the page, it holds no customer data.
type Status struct {
	// Version is kfsidebar's version.
	Version string `json:"version"`
	// Addr is the proxy's address, ConsoleHosts what it decrypts.
	Addr         string   `json:"addr"`
	ConsoleHosts []string `json:"console_hosts"`
	// Upstream is the office proxy chained to ("host:port"), if any;
	// never its credentials.
	Upstream string `json:"upstream,omitempty"`
	// Fingerprint is the SHA-256 of the CA certificate, in upper-case
	// hex: doctor compares it with the CA it finds on disk.
	Fingerprint string `json:"ca_sha256"`
	// Chats, Days, LastScan and Backend are present when their data
	// source is (Options).
	Chats    *int           `json:"chats,omitempty"`
	Days     []DayCount     `json:"days,omitempty"`
	LastScan *time.Time     `json:"last_scan,omitempty"`
	Backend  *BackendHealth `json:"backend,omitempty"`
	// Paused is true while the agent paused kfsidebar (Options.Pause).
	Paused bool `json:"paused,omitempty"`
	// PID is the proxy's process id, when Options.PID gives it.
	PID int `json:"pid,omitempty"`
	// Storage, Tunnels and Descriptors are present when their data source
	// is (Options.Storage, Options.Proxy).
	Storage     *StorageHealth    `json:"storage,omitempty"`
	Tunnels     *TunnelHealth     `json:"tunnels,omitempty"`
	Descriptors *DescriptorHealth `json:"descriptors,omitempty"`
	// Gateway is present when a push gateway is configured
	// (Options.Gateway).
	Gateway *GatewayHealth `json:"gateway,omitempty"`
}

// DayCount is how many chat users were first seen on one day, by how the
// chat arrived.
type DayCount struct {
	// Day is the calendar day, 2006-01-02.
	Day string `json:"day"`
	// Manual, Auto and Transfer count console.SourceManual, console.SourceAuto and
	// console.SourceTransfer; Other the chats open at page load or learned from
	// any other console response.
	Manual   int `json:"manual"`
	Auto     int `json:"auto"`
	Transfer int `json:"transfer"`
	Other    int `json:"other"`
}

// Total is the day's sum over every source.
func (d DayCount) Total() int { return d.Manual + d.Auto + d.Transfer + d.Other }

// New serves /proxy.pac, /ca.pem, the status page with its script,
// and /status.json. It answers only requests whose Host is the proxy's
// own address, so a web page cannot read it through DNS rebinding; it never
// shows customer data.
func New(opts Options) http.Handler {
	if len(opts.ConsoleHosts) == 0 {
		opts.ConsoleHosts = []string{console.DefaultConsoleHost}
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	_, port, _ := net.SplitHostPort(opts.Addr)
	allowed := map[string]bool{
		strings.ToLower(opts.Addr):          true,
		net.JoinHostPort("127.0.0.1", port): true,
		net.JoinHostPort("localhost", port): true,
		net.JoinHostPort("::1", port):       true,
	}
	pac := PAC(opts.Addr, opts.ConsoleHosts, opts.Upstream, opts.Bypass)
	pausedPAC := PausedPAC(opts.Addr, opts.Upstream, opts.Bypass)
	var fingerprint string
	if block, _ := pem.Decode(opts.CAPEM); block != nil {
		sum := sha256.Sum256(block.Bytes)
		fingerprint = strings.ToUpper(hex.EncodeToString(sum[:]))
	}
	hosts := console.NewHostSet(opts.ConsoleHosts...).Sorted()
	status := func() Status {
		st := Status{Version: opts.Version, Addr: opts.Addr, ConsoleHosts: hosts, Fingerprint: fingerprint,
			Paused: opts.Pause.On(), PID: opts.PID}
		if opts.Upstream != nil {
			st.Upstream = opts.Upstream.Host // never the credentials
		}
		if opts.Chats != nil {
			n := opts.Chats()
			st.Chats = &n
		}
		if opts.Counts != nil {
			st.Days = dayCounts(opts.Counts(statusDays), opts.Now())
		}
		if opts.LastScan != nil {
			if t := opts.LastScan(); !t.IsZero() {
				st.LastScan = &t
			}
		}
		if opts.Backend != nil {
			h := opts.Backend()
			st.Backend = &h
		}
		if opts.Storage != nil {
			h := opts.Storage()
			st.Storage = &h
		}
		if opts.Proxy != nil {
			h := opts.Proxy()
			st.Tunnels, st.Descriptors = &h.Tunnels, &h.Descriptors
		}
		if opts.Gateway != nil {
			h := opts.Gateway()
			st.Gateway = &h
		}
		return st
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /proxy.pac", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/x-ns-proxy-autoconfig")
		w.Header().Set("Cache-Control", "no-cache")
		if opts.Pause.On() {
			fmt.Fprint(w, pausedPAC)
			return
		}
		fmt.Fprint(w, pac)
	})
	if opts.Pause != nil {
		mux.Handle("POST /pause", control(func() { opts.Pause.Set(true) }))
		mux.Handle("POST /resume", control(func() { opts.Pause.Set(false) }))
	}
	mux.HandleFunc("GET /ca.pem", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/x-x509-ca-cert")
		w.Header().Set("Content-Disposition", `attachment; filename="kfsidebar-ca.pem"`)
		w.Write(opts.CAPEM)
	})
	mux.HandleFunc("GET /status.json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		json.NewEncoder(w).Encode(status())
	})
	mux.HandleFunc("GET /status.js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
		w.Header().Set("Cache-Control", "no-cache")
		w.Write(statusJS)
	})
	// The page may load only its own script and talk only to the two
	// probes; it has no inline script at all.
	csp := "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; script-src 'self'; connect-src http://" +
		console.PACProbeHost
	for _, h := range hosts {
		csp += " https://" + h
	}
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		var buf bytes.Buffer
		if err := statusPage.Execute(&buf, newStatusView(status(), opts.Now(), opts.SetupFlags, opts.CAFlags)); err != nil {
			http.Error(w, "status page failed", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Content-Security-Policy", csp)
		w.Header().Set("X-Frame-Options", "DENY")
		w.Header().Set("Referrer-Policy", "no-referrer")
		w.Write(buf.Bytes())
	})
	for pattern, h := range opts.Pages {
		mux.Handle(pattern, h)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !allowed[strings.ToLower(r.Host)] {
			http.Error(w, "kfsidebar: wrong Host for the local status page\n", http.StatusMisdirectedRequest)
			return
		}
		mux.ServeHTTP(w, r)
	})
}

// dayCounts orders chats.Sessions.Counts oldest day first, folding the sources
// the chart does not show on their own into Other.
func dayCounts(m map[string]map[string]int, now time.Time) []DayCount {
	days := slices.Sorted(maps.Keys(m))
	out := make([]DayCount, 0, len(days))
	for _, d := range days {
		c := DayCount{Day: d}
		for src, n := range m[d] {
			switch src {
			case console.SourceManual:
				c.Manual += n
			case console.SourceAuto:
				c.Auto += n
			case console.SourceTransfer:
				c.Transfer += n
			default:
				c.Other += n
			}
		}
		out = append(out, c)
	}
	return out
}
