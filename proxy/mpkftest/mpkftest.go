// Package mpkftest is a simulated WeChat customer-service web console
// (https://mpkf.weixin.qq.com), what net/http/httptest is to net/http: a
// faithful stand-in for the real console that the proxy's tests, the
// end-to-end browser tests and `kfsidebar demo` run against, because the
// real one cannot be reached without a WeChat login.
//
// It follows what is publicly known about the real console and nothing
// more: the kfindex page with its inline MCS.cgiData bootstrap, the
// /cgi-bin/<name>?action=<verb>&token=…&f=json API, the three responses
// that carry a chat user's openid (kfsessionmgr kfcreatesession,
// kfunaccepted kfbatchcreatesession, kftransfer gettransferinfo),
// long polling for new messages, and a React 0.14-era DOM (.card,
// .card_selected, data-reactid ending in $<fans_uin>, pre#editor whose
// draft lives in the page's own state). It knows nothing of kfsidebar.
//
// The server answers for mpkf.weixin.qq.com and for the avatar hosts
// wx.qlogo.cn and thirdwx.qlogo.cn over TLS with its own test CA, so a
// client (or a browser through a CONNECT forwarder) dials Addr and trusts
// CA. Tests and the demo drive it with AddWaiting, TransferIn and
// SendFromFan, or over HTTP under /__mpkftest/. In the page,
// window.__mpkftest tells test harnesses which chat is really open; it
// exists only here, and kfsidebar must never read it.
//
// Like the real console, the page opens a chat by itself after 接入, after
// 全部接入, after taking a transfer, and after the auto-accept switch
// when no chat is open, and it fetches a chat's history (kfmsg
// getfansmsglist&fansuin=<uin>) every time a chat is opened.
package mpkftest

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"time"

	"github.com/kfsidebar/kfsidebar/certs"
)

// Host is the console's host name. It is WeChat's, so it is spelled here
// rather than imported from the proxy, whose tests import this package.
const Host = "mpkf.weixin.qq.com"

// Hosts are the names the server has certificates for: the console and
// the two avatar hosts its pages load images from. A CA passed in Options
// must permit all of them. Do not modify.
var Hosts = []string{Host, "wx.qlogo.cn", "thirdwx.qlogo.cn"}

// Options configure NewServer. The zero value is the cast the tests were
// written against (Roster's first two fans open at load, the next three
// waiting); DemoOptions is the demo's, with look-alikes on every path.
type Options struct {
	// Fans are the users who may write in. Default: Roster.
	Fans []Fan
	// OpenAtLoad is how many chats are already open when the page loads
	// (they are in its inline bootstrap), taken from the start of Fans.
	// Default 2; negative means none.
	OpenAtLoad int
	// Waiting is how many fans wait at start, taken from Fans after the
	// open ones. Default 3; negative means none.
	Waiting int
	// Token is the console's ?token=, ten digits on the real console.
	// Default "1234567890".
	Token string
	// JSONContentType is the Content-Type of cgi JSON responses. Default
	// "application/json; charset=UTF-8"; old WeChat cgi answered JSON as
	// "text/html; charset=UTF-8", which tests use too.
	JSONContentType string
	// Encoding is the Content-Encoding used when the client accepts it:
	// "gzip" (default), "br", "deflate" (zlib-wrapped, as RFC 9110 says)
	// or "none".
	Encoding string
	// CSP is the Content-Security-Policy header of the console page.
	// Default "" (no header).
	CSP string
	// NoReactID makes the page render no data-reactid attributes at all,
	// as React 15 and later do: nobody knows whether today's console still
	// has them, so the sidebar must tell chats apart without the fans_uin
	// they carry. Everything else is the same. Default false (React 0.14's
	// data-reactid ending in $<fans_uin> on every card).
	NoReactID bool
	// PollTimeout is how long the getnewmsg long poll is held when
	// nothing happens. Default 25s.
	PollTimeout time.Duration
	// CA signs the server's certificates. It must permit every name in
	// Hosts. Default: a new in-memory CA. Tests that keep one browser
	// (which trusts one SPKI pin) across several servers pass one CA.
	CA *certs.CA
	// Logger receives debug logs of requests and driver calls. Default:
	// discard.
	Logger *slog.Logger
}

// RequestInfo is one request the server handled, so tests can assert which
// endpoint did what (for example that a fan was accepted by
// kfbatchcreatesession and not by kfcreatesession).
type RequestInfo struct {
	// Method is the HTTP method: the real console POSTs send and
	// kfbatchcreatesession and GETs the rest.
	Method string
	// Host is the requested host without port: the console or an avatar
	// host.
	Host string
	// Path is the URL path, e.g. "/cgi-bin/kfsessionmgr".
	Path string
	// Action is the action query parameter ("" when there is none).
	Action string
	// Form holds the query and, for POSTs, the form body (fansuinlist,
	// isauto, content, …).
	Form url.Values
	// Time is when the request arrived.
	Time time.Time
}

// Server is a running simulated console. All methods are safe for
// concurrent use.
type Server struct {
	opts    Options
	ca      *certs.CA
	log     *slog.Logger
	handler http.Handler
	assets  *assetSet

	ln  net.Listener
	srv *http.Server

	closing   chan struct{}
	closeOnce sync.Once
	inflight  sync.WaitGroup

	mu      sync.Mutex
	closed  bool
	st      *state
	changed chan struct{} // closed and replaced whenever st.seq moves
	reqs    []RequestInfo
}

// NewServer starts a console on a TLS listener on 127.0.0.1 with a random
// port. Close stops it.
func NewServer(opts Options) (*Server, error) {
	if err := opts.setDefaults(); err != nil {
		return nil, fmt.Errorf("new mpkftest server: %w", err)
	}
	ca := opts.CA
	if ca == nil {
		var err error
		if ca, err = certs.New(certs.Options{Hosts: Hosts, CommonName: "mpkftest CA"}); err != nil {
			return nil, fmt.Errorf("new mpkftest server: %w", err)
		}
	}
	for _, h := range Hosts {
		if !slices.Contains(ca.Hosts(), h) {
			return nil, fmt.Errorf("new mpkftest server: the CA does not permit %s", h)
		}
	}
	assets, err := loadAssets(opts.NoReactID)
	if err != nil {
		return nil, fmt.Errorf("new mpkftest server: %w", err)
	}
	s := &Server{
		opts:    opts,
		ca:      ca,
		log:     opts.Logger,
		assets:  assets,
		closing: make(chan struct{}),
		changed: make(chan struct{}),
		st:      newState(opts, time.Now()),
	}
	s.handler = s.routes()

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("new mpkftest server: %w", err)
	}
	s.ln = ln
	s.srv = &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
	tlsConf := certs.NewLeaves(ca, certs.LeafOptions{}).ServerTLSConfig()
	go func() {
		if err := s.srv.Serve(tls.NewListener(ln, tlsConf)); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("mpkftest serve", "err", err)
		}
	}()
	return s, nil
}

func (o *Options) setDefaults() error {
	if o.Fans == nil {
		o.Fans = slices.Clone(Roster)
	}
	if o.OpenAtLoad == 0 {
		o.OpenAtLoad = 2
	}
	if o.Waiting == 0 {
		o.Waiting = 3
	}
	o.OpenAtLoad = min(max(o.OpenAtLoad, 0), len(o.Fans))
	o.Waiting = min(max(o.Waiting, 0), len(o.Fans)-o.OpenAtLoad)
	if o.Token == "" {
		o.Token = "1234567890"
	}
	if o.JSONContentType == "" {
		o.JSONContentType = "application/json; charset=UTF-8"
	}
	switch o.Encoding {
	case "":
		o.Encoding = "gzip"
	case "gzip", "br", "deflate", "none":
	default:
		return fmt.Errorf("encoding %q: use gzip, br, deflate or none", o.Encoding)
	}
	if o.PollTimeout <= 0 {
		o.PollTimeout = 25 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return nil
}

// Addr is the listener's "127.0.0.1:PORT". Clients dial it whatever host
// they ask for, with that host as TLS server name.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// CA is the authority the server's certificates chain to; clients trust
// CA().Pool(), browsers pin CA().SPKIHash().
func (s *Server) CA() *certs.CA { return s.ca }

// URL is the console page an agent opens, with the right token.
func (s *Server) URL() string {
	return "https://" + Host + "/cgi-bin/kfindex?token=" + url.QueryEscape(s.opts.Token)
}

// Handler serves the same console without TLS, for httptest use. Requests
// whose Host is not an avatar host are answered as the console.
func (s *Server) Handler() http.Handler { return s.handler }

// Close stops the listener, ends pending long polls at once and waits for
// running handlers, including those called through Handler.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.closed = true
		s.mu.Unlock()
		close(s.closing)
		if err := s.srv.Close(); err != nil {
			s.log.Debug("mpkftest close", "err", err)
		}
		s.inflight.Wait()
	})
}

// Requests returns the log of handled requests, oldest first (the latest
// 10000).
func (s *Server) Requests() []RequestInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]RequestInfo, len(s.reqs))
	for i, r := range s.reqs {
		r.Form = cloneValues(r.Form)
		out[i] = r
	}
	return out
}

func cloneValues(v url.Values) url.Values {
	out := make(url.Values, len(v))
	for k, vs := range v {
		out[k] = slices.Clone(vs)
	}
	return out
}
