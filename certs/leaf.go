package certs

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kfsidebar/kfsidebar/internal/hostport"
	"golang.org/x/sync/singleflight"
)

const (
	// defaultLeafLifetime is seven days. Leaves live only in memory and are
	// minted again after every restart and whenever a third of their life
	// is left, so a long life buys nothing; a short one makes a leaf key
	// lifted from a memory dump worthless within a week. A week (rather
	// than hours) keeps renewals rare and survives a laptop that was asleep
	// or a clock that is off by a day.
	defaultLeafLifetime = 7 * 24 * time.Hour

	// maxLeafLifetime is the 47 days the CA/Browser Forum set as the
	// longest TLS server certificate life from 2029. Browsers enforce such
	// limits for public CAs today and may extend them to local roots; a
	// leaf within it will never be rejected for its length.
	maxLeafLifetime = 47 * 24 * time.Hour

	// minLeafLifetime keeps a leaf valid for a while after the backdate.
	minLeafLifetime = time.Hour

	// leafBackdate puts NotBefore a little in the past, for clients whose
	// clock runs slightly behind. It counts within the lifetime.
	leafBackdate = 5 * time.Minute
)

// LeafOptions configure NewLeaves.
type LeafOptions struct {
	// Lifetime is how long a leaf is valid, NotBefore to NotAfter. Default
	// seven days; values above 47 days are capped to 47 days and values
	// below one hour raised to one hour. A leaf never outlives its CA.
	Lifetime time.Duration

	// Now returns the current time. Default: time.Now.
	Now func() time.Time
}

// Leaves mints and caches leaf certificates signed by a CA, one per console
// host. A leaf is reused until less than a third of its life remains, and
// concurrent handshakes for a host that has no leaf yet wait for a single
// mint instead of each signing one (the browser opens several connections
// at once when the console loads).
//
// Leaves are minted only for the CA's hosts exactly, not for the subdomains
// the name constraint would also allow: kfsidebar decrypts exactly those
// hosts, and this keeps the cache as small as the host list.
type Leaves struct {
	ca       *CA
	hosts    []string
	lifetime time.Duration
	now      func() time.Time

	mu    sync.RWMutex
	cache map[string]*tls.Certificate

	flight singleflight.Group
	minted atomic.Int64
}

// NewLeaves returns a leaf cache for ca. It is safe for concurrent use.
func NewLeaves(ca *CA, opts LeafOptions) *Leaves {
	lifetime := opts.Lifetime
	switch {
	case lifetime == 0:
		lifetime = defaultLeafLifetime
	case lifetime > maxLeafLifetime:
		lifetime = maxLeafLifetime
	case lifetime < minLeafLifetime:
		lifetime = minLeafLifetime
	}
	now := time.Now
	if opts.Now != nil {
		now = opts.Now
	}
	hosts := ca.Hosts()
	for i := range hosts {
		hosts[i] = strings.ToLower(hosts[i])
	}
	return &Leaves{
		ca:       ca,
		hosts:    hosts,
		lifetime: lifetime,
		now:      now,
		cache:    make(map[string]*tls.Certificate),
	}
}

// Get returns the leaf for host, minting it if there is none or the cached
// one is due for renewal. host may carry a port and is matched
// case-insensitively, so "MPKF.weixin.qq.com:443" and "mpkf.weixin.qq.com"
// share one leaf. An IP address or a host outside the CA's hosts is
// ErrHostNotPermitted.
//
// The returned chain is [leaf, CA]: sending the CA along is what lets
// Chromium's --ignore-certificate-errors-spki-list pin (which only looks at
// certificates the server presents) match.
func (l *Leaves) Get(host string) (*tls.Certificate, error) {
	h := hostport.Host(host)
	if !slices.Contains(l.hosts, h) {
		if _, err := netip.ParseAddr(strings.Trim(h, "[]")); err == nil {
			return nil, fmt.Errorf("leaf for %q: %w: an IP address", host, ErrHostNotPermitted)
		}
		return nil, fmt.Errorf("leaf for %q: %w: the CA is limited to %s", host, ErrHostNotPermitted, strings.Join(l.hosts, ","))
	}
	if c := l.cached(h); c != nil {
		return c, nil
	}
	v, err, _ := l.flight.Do(h, func() (any, error) {
		// A flight that finished between our cache miss and this call
		// has stored a fresh leaf already.
		if c := l.cached(h); c != nil {
			return c, nil
		}
		c, err := l.mint(h)
		if err != nil {
			return nil, err
		}
		l.mu.Lock()
		l.cache[h] = c
		l.mu.Unlock()
		return c, nil
	})
	if err != nil {
		return nil, fmt.Errorf("leaf for %q: %w", host, err)
	}
	return v.(*tls.Certificate), nil
}

// cached returns the cached leaf for h if more than a third of its life is
// left, else nil.
func (l *Leaves) cached(h string) *tls.Certificate {
	l.mu.RLock()
	c := l.cache[h]
	l.mu.RUnlock()
	if c == nil {
		return nil
	}
	life := c.Leaf.NotAfter.Sub(c.Leaf.NotBefore)
	if c.Leaf.NotAfter.Sub(l.now()) < life/3 {
		return nil
	}
	return c
}

// GetCertificate picks the leaf by the client's SNI, for tls.Config.
// Without SNI it returns ErrNoSNI: the caller, which knows the CONNECT
// host, is expected to handle that case.
func (l *Leaves) GetCertificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	if hello.ServerName == "" {
		return nil, ErrNoSNI
	}
	return l.Get(hello.ServerName)
}

// ServerTLSConfig returns the config for the browser-facing side of a
// decrypted connection. NextProtos offers only HTTP/1.1 because the proxy
// rewrites responses one HTTP/1.1 exchange at a time.
func (l *Leaves) ServerTLSConfig() *tls.Config {
	return &tls.Config{
		GetCertificate: l.GetCertificate,
		MinVersion:     tls.VersionTLS12,
		NextProtos:     []string{"http/1.1"},
	}
}

// Minted reports how many leaves have been signed, so tests and benchmarks
// can prove that leaves are reused.
func (l *Leaves) Minted() int64 {
	return l.minted.Load()
}

// mint signs a new leaf for the normalized host h.
func (l *Leaves) mint(h string) (*tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate key: %w", err)
	}
	serial, err := randomSerial()
	if err != nil {
		return nil, err
	}
	notBefore := l.now().Add(-leafBackdate)
	notAfter := notBefore.Add(l.lifetime)
	if end := l.ca.Cert.NotAfter; notAfter.After(end) {
		if !end.After(l.now()) {
			return nil, fmt.Errorf("%w: the CA expired on %s", ErrCAExpired, end.Format("2006-01-02"))
		}
		notAfter = end
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: h},
		DNSNames:              []string{h},
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, l.ca.Cert, &key.PublicKey, l.ca.Key)
	if err != nil {
		return nil, fmt.Errorf("sign leaf: %w", err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("parse leaf: %w", err)
	}
	l.minted.Add(1)
	return &tls.Certificate{
		Certificate: [][]byte{der, l.ca.Cert.Raw},
		PrivateKey:  key,
		Leaf:        leaf,
	}, nil
}
