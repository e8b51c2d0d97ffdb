// Package shophttp is the order backend that asks the shop's own HTTP API:
// one signed request per lookup (HMAC-SHA256 over the method, the target,
// a timestamp, a nonce and the body; see Backend), answered with the
// Customer JSON that package shop checks. The example shop API
// (examples/shopapi) is its other half, as a shop would write it.
package shophttp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/kfsidebar/kfsidebar/internal/hmacsign"
	"github.com/kfsidebar/kfsidebar/internal/jsonrecord"
	"github.com/kfsidebar/kfsidebar/sidebar/shop"
)

// Defaults of Options.
const (
	DefaultTimeout         = 3 * time.Second
	DefaultMaxResponseSize = 2 << 20
)

// minSecretLen keeps the HMAC key out of guessing range.
const minSecretLen = 16

// Options configure an Backend.
type Options struct {
	// LookupURL is the customer-by-openid URL template; {openid} is
	// replaced by the URL-escaped openid. Required. E.g.
	// "https://shop.example/kfsidebar/customers/by-openid/{openid}".
	LookupURL string
	// CustomerURL is the customer-by-id template ({id}); "" means
	// LookupURL with the id as the openid.
	CustomerURL string
	// SearchURL is the search template ({query}, and optionally {limit});
	// "" means the shop offers no search (it finds nobody).
	SearchURL string
	// Method is GET (default) or POST. POST sends the parameters as a
	// JSON body ({"openid": …}, {"id": …}, {"query": …, "limit": …}).
	Method string
	// Header is sent with every request (an API key, a shop id). The
	// signature headers cannot be overridden.
	Header http.Header
	// Secret is the shared HMAC-SHA256 key, at least 16 bytes. Required.
	Secret []byte
	// Timeout bounds each request; default 3s.
	Timeout time.Duration
	// MaxResponseSize bounds an answer's body; default 2 MiB.
	MaxResponseSize int64
	// Client makes the requests; default a client with the system roots.
	// Redirects are never followed (the signature names the path).
	Client *http.Client
	// Now is the clock of the timestamp; default time.Now.
	Now func() time.Time
	// Logger gets a warning about plain-http shops; default discards.
	Logger *slog.Logger
}

// Backend asks the shop's own API. Every request is signed so that
// the shop can tell it from anyone else's, and replays of it from fresh
// ones:
//
//	X-Kfsidebar-Timestamp: unix seconds
//	X-Kfsidebar-Nonce:     32 hex digits, random per request
//	X-Kfsidebar-Signature: hex(HMAC-SHA256(secret,
//	        METHOD + "\n" + PATH_WITH_QUERY + "\n" + TIMESTAMP + "\n" +
//	        NONCE + "\n" + hex(SHA-256(body))))
//
// METHOD is upper case, PATH_WITH_QUERY is the request target exactly as
// sent (escaped path, then "?" and the raw query when there is one), the
// body of a GET is empty. The shop should reject a timestamp more than 5
// minutes off and a nonce it has seen within that window.
//
// Answers are the Customer JSON (a lookup), 404 for "not found", and
// {"customers": [...]} for a search; anything else is an error that names
// the field at fault.
type Backend struct {
	lookup, customer, search *urlTemplate
	method                   string
	header                   http.Header
	secret                   []byte
	timeout                  time.Duration
	maxSize                  int64
	client                   *http.Client
	now                      func() time.Time
}

var _ shop.Backend = (*Backend)(nil)

// New checks the options; it does not contact the shop.
func New(opts Options) (*Backend, error) {
	b := &Backend{
		method:  strings.ToUpper(opts.Method),
		header:  opts.Header.Clone(),
		secret:  opts.Secret,
		timeout: opts.Timeout,
		maxSize: opts.MaxResponseSize,
		client:  opts.Client,
		now:     opts.Now,
	}
	switch b.method {
	case "":
		b.method = http.MethodGet
	case http.MethodGet, http.MethodPost:
	default:
		return nil, fmt.Errorf("method %q: want GET or POST", opts.Method)
	}
	// A POST carries the parameters in its body; a GET needs them in the URL.
	inURL := b.method == http.MethodGet
	var err error
	if b.lookup, err = parseURLTemplate("lookup_url", opts.LookupURL, inURL, "openid"); err != nil {
		return nil, err
	}
	if opts.CustomerURL != "" {
		if b.customer, err = parseURLTemplate("customer_url", opts.CustomerURL, inURL, "id"); err != nil {
			return nil, err
		}
	}
	if opts.SearchURL != "" {
		if b.search, err = parseURLTemplate("search_url", opts.SearchURL, inURL, "query", "limit"); err != nil {
			return nil, err
		}
	}
	if len(b.secret) < minSecretLen {
		return nil, fmt.Errorf("secret: must be at least %d characters (got %d); make one with: openssl rand -hex 32", minSecretLen, len(b.secret))
	}
	for name := range b.header {
		switch http.CanonicalHeaderKey(name) {
		case hmacsign.HeaderTimestamp, hmacsign.HeaderNonce, hmacsign.HeaderSignature, "Content-Type", "Content-Length", "Host":
			return nil, fmt.Errorf("headers: %s is set by kfsidebar and cannot be configured", name)
		}
	}
	if b.timeout <= 0 {
		b.timeout = DefaultTimeout
	}
	if b.maxSize <= 0 {
		b.maxSize = DefaultMaxResponseSize
	}
	if b.now == nil {
		b.now = time.Now
	}
	if b.client == nil {
		b.client = &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
	}
	c := *b.client
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	b.client = &c
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	for _, t := range []*urlTemplate{b.lookup, b.customer, b.search} {
		if t != nil && t.plainRemote() {
			log.Warn("the shop API is plain http on another machine: customer data crosses the network unencrypted; use https", "url", t.raw)
		}
	}
	return b, nil
}

// Lookup asks the shop for the customer with this openid.
func (b *Backend) Lookup(ctx context.Context, openid string) (*shop.Customer, error) {
	body, err := b.do(ctx, b.lookup, map[string]string{"openid": openid}, map[string]any{"openid": openid})
	if err != nil {
		return nil, fmt.Errorf("lookup: %w", err)
	}
	c, err := shop.DecodeCustomer(body, openid)
	if err != nil {
		return nil, fmt.Errorf("lookup: the shop's answer: %w", err)
	}
	if c.OpenID != openid {
		return nil, fmt.Errorf("lookup: the shop's answer: %w", &shop.ContractError{Field: "openid", Reason: "differs from the openid asked for"})
	}
	return c, nil
}

// Customer asks the shop for the customer with its own id.
func (b *Backend) Customer(ctx context.Context, id string) (*shop.Customer, error) {
	if b.customer == nil {
		return b.Lookup(ctx, id)
	}
	body, err := b.do(ctx, b.customer, map[string]string{"id": id}, map[string]any{"id": id})
	if err != nil {
		return nil, fmt.Errorf("customer: %w", err)
	}
	c, err := shop.DecodeCustomer(body, "")
	if err != nil {
		return nil, fmt.Errorf("customer: the shop's answer: %w", err)
	}
	if c.ID != id && !(c.ID == "" && c.OpenID == id) {
		return nil, fmt.Errorf("customer: the shop's answer: %w", &shop.ContractError{Field: "id", Reason: "differs from the id asked for"})
	}
	return c, nil
}

// searchAnswer is the body of a search answer.
type searchAnswer struct {
	Customers []json.RawMessage `json:"customers"`
}

// Search asks the shop to find customers by phone, order number or name.
func (b *Backend) Search(ctx context.Context, query string, limit int) ([]shop.Customer, error) {
	query = strings.TrimSpace(query)
	if b.search == nil || query == "" || limit <= 0 {
		return []shop.Customer{}, nil
	}
	body, err := b.do(ctx, b.search, map[string]string{"query": query, "limit": strconv.Itoa(limit)},
		map[string]any{"query": query, "limit": limit})
	if errors.Is(err, shop.ErrNotFound) {
		return nil, fmt.Errorf("search: the shop answered 404 Not Found; a search with no match must answer {\"customers\": []}")
	}
	if err != nil {
		return nil, fmt.Errorf("search: %w", err)
	}
	var ans searchAnswer
	if e := jsonrecord.Decode(body, &ans); e != nil {
		return nil, fmt.Errorf("search: the shop's answer: %w", &shop.ContractError{Field: e.Field, Reason: e.Reason})
	}
	if ans.Customers == nil {
		return nil, fmt.Errorf("search: the shop's answer: %w", &shop.ContractError{Field: "customers", Reason: `required: an array of customers ([] when nobody matches)`})
	}
	out := make([]shop.Customer, 0, len(ans.Customers))
	for i, raw := range ans.Customers {
		c, err := shop.DecodeCustomer(raw, "")
		if err != nil {
			var ce *shop.ContractError
			if errors.As(err, &ce) {
				ce = &shop.ContractError{Field: joinField(fmt.Sprintf("customers[%d]", i), ce.Field), Reason: ce.Reason}
				return nil, fmt.Errorf("search: the shop's answer: %w", ce)
			}
			return nil, fmt.Errorf("search: %w", err)
		}
		if len(out) < limit {
			out = append(out, *c)
		}
	}
	return out, nil
}

func joinField(prefix, field string) string {
	if field == "" {
		return prefix
	}
	return prefix + "." + field
}

// do sends one signed request and returns the body of a 200 answer;
// 404 is ErrNotFound. Errors name the URL template, never the filled-in
// URL, so that no openid reaches a log.
func (b *Backend) do(ctx context.Context, t *urlTemplate, params map[string]string, post map[string]any) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, b.timeout)
	defer cancel()
	var body []byte
	if b.method == http.MethodPost {
		var err error
		if body, err = json.Marshal(post); err != nil {
			return nil, err
		}
	}
	req, err := http.NewRequestWithContext(ctx, b.method, t.expand(params), bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", b.method, t.raw, err)
	}
	for k, v := range b.header {
		req.Header[k] = v
	}
	if req.Header.Get("User-Agent") == "" {
		req.Header.Set("User-Agent", "kfsidebar")
	}
	req.Header.Set("Accept", "application/json")
	if b.method == http.MethodPost {
		req.Header.Set("Content-Type", "application/json")
	}
	if err := hmacsign.Sign(req, body, b.secret, b.now()); err != nil {
		return nil, err
	}

	resp, err := b.client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		if ctx.Err() == context.DeadlineExceeded {
			return nil, fmt.Errorf("%s %s: no answer within %v: %w", b.method, t.raw, b.timeout, context.DeadlineExceeded)
		}
		return nil, fmt.Errorf("%s %s: %w", b.method, t.raw, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, b.maxSize+1))
	if ctx.Err() == context.DeadlineExceeded {
		// Whatever arrived is cut short, even if the read saw no error.
		return nil, fmt.Errorf("%s %s: the answer did not arrive within %v: %w", b.method, t.raw, b.timeout, context.DeadlineExceeded)
	}
	if err != nil {
		return nil, fmt.Errorf("%s %s: read the answer: %w", b.method, t.raw, err)
	}
	switch {
	case resp.StatusCode == http.StatusNotFound:
		return nil, shop.ErrNotFound
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		return nil, fmt.Errorf("%s %s: the shop refused the request (%s%s); check that kfsidebar and the shop use the same secret and that this computer's clock is right",
			b.method, t.raw, resp.Status, snippet(data))
	case resp.StatusCode >= 300 && resp.StatusCode < 400:
		return nil, fmt.Errorf("%s %s: the shop redirects (%s) to %q; configure the final URL instead",
			b.method, t.raw, resp.Status, resp.Header.Get("Location"))
	case resp.StatusCode != http.StatusOK:
		return nil, fmt.Errorf("%s %s: the shop answered %s%s", b.method, t.raw, resp.Status, snippet(data))
	}
	if int64(len(data)) > b.maxSize {
		return nil, fmt.Errorf("%s %s: the answer is larger than %d bytes; return fewer orders or raise max_response_size", b.method, t.raw, b.maxSize)
	}
	var raw json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("%s %s: the answer is not JSON (%v)%s", b.method, t.raw, err, snippet(data))
	}
	return data, nil
}

// snippet quotes the start of an error body, which often says why.
func snippet(data []byte) string {
	const max = 200
	s := strings.TrimSpace(string(data))
	if s == "" {
		return ""
	}
	if len(s) > max {
		s = s[:max]
		for !utf8.ValidString(s) {
			s = s[:len(s)-1]
		}
		s += "…"
	}
	return ": " + strconv.Quote(s)
}
