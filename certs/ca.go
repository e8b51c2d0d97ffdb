package certs

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"time"
)

const (
	// caLifetime is ten years, as mkcert does. Replacing the CA means
	// trusting a new root by hand, which for the agents who use kfsidebar
	// (not engineers) is the hardest step of the whole setup; a long life
	// keeps that to once per workstation. The risk of a long-lived key is
	// bounded by the name constraints: the key can only ever vouch for the
	// console host(s), never for any other site or any IP address.
	caLifetime = 10 * 365 * 24 * time.Hour

	// caBackdate puts NotBefore an hour in the past so that a browser whose
	// clock is a little behind (or a VM that resumed with a stale clock)
	// still accepts a CA made a moment ago.
	caBackdate = time.Hour

	// maxCNHostLen keeps the default CommonName within the 64 characters
	// X.509 allows for it (RFC 5280 ub-common-name).
	maxCNHostLen = 24
)

// CA is a root certificate authority with its private key.
//
// Its certificate carries a critical Name Constraints extension permitting
// only the console host(s) and excluding every IP address, so that the key
// (which sits on an agent's workstation) cannot be used to impersonate any
// other site even if it is stolen.
type CA struct {
	// Cert is the parsed CA certificate.
	Cert *x509.Certificate
	// Key is the CA's private key, an *ecdsa.PrivateKey on P-256.
	Key crypto.Signer
	// CertPEM is Cert in PEM form, as served at /ca.pem and written to ca.pem.
	CertPEM []byte
}

// Options configure a new CA.
type Options struct {
	// Hosts are the DNS names the CA may sign for, written into its name
	// constraints. Required and non-empty. Hosts are lower-cased, ports and
	// a trailing dot are stripped, duplicates removed; an empty host or an
	// IP address is an error (ErrInvalidHost).
	//
	// In Go, as in browsers, a permitted DNS domain "example.com" also
	// permits every subdomain ("a.example.com"): the constraint is a
	// subtree, not a single name. That is acceptable for the console host,
	// whose subdomains belong to the same owner.
	Hosts []string

	// CommonName is the CA certificate's subject CN, the name users see in
	// their trust store. Default: "kfsidebar local CA (<hostname>, <date>
	// <random>)", so that CAs from two workstations, or two CAs made on one,
	// can be told apart when removing an old one.
	CommonName string

	// Now returns the current time. Default: time.Now. Tests set it to make
	// certificates at fixed times.
	Now func() time.Time
}

// New makes a CA in memory. LoadOrCreate is the persistent variant; New
// serves tests and the simulated console, which need a CA but must not touch
// the user's.
func New(opts Options) (*CA, error) {
	hosts, err := normalizeHosts(opts.Hosts)
	if err != nil {
		return nil, fmt.Errorf("new ca: %w", err)
	}
	now := time.Now
	if opts.Now != nil {
		now = opts.Now
	}
	t := now()
	cn := opts.CommonName
	if cn == "" {
		cn = defaultCommonName(t)
	}

	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("new ca: generate key: %w", err)
	}
	serial, err := randomSerial()
	if err != nil {
		return nil, fmt.Errorf("new ca: %w", err)
	}
	skid, err := subjectKeyID(&key.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("new ca: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject: pkix.Name{
			CommonName:   cn,
			Organization: []string{"kfsidebar"},
		},
		NotBefore:             t.Add(-caBackdate),
		NotAfter:              t.Add(caLifetime),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLen:            0,
		MaxPathLenZero:        true,
		SubjectKeyId:          skid,

		PermittedDNSDomainsCritical: true,
		PermittedDNSDomains:         hosts,
		// A DNS-only constraint says nothing about IP SANs, so without
		// these a stolen key could still sign for any IP address.
		ExcludedIPRanges: []*net.IPNet{
			{IP: net.IPv4zero.To4(), Mask: net.CIDRMask(0, 32)},
			{IP: net.IPv6zero, Mask: net.CIDRMask(0, 128)},
		},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("new ca: sign: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("new ca: parse: %w", err)
	}
	return &CA{Cert: cert, Key: key, CertPEM: encodeCertPEM(der)}, nil
}

// SPKIHash returns the base64 (standard, padded) SHA-256 of the CA's DER
// SubjectPublicKeyInfo. That is the format of Chromium's
// --ignore-certificate-errors-spki-list, which lets `kfsidebar open` start a
// browser profile that accepts our leaves without touching the system trust
// store. Chromium only matches certificates the server presents, which is
// why leaves are served with the CA in their chain.
func (ca *CA) SPKIHash() string {
	sum := sha256.Sum256(ca.Cert.RawSubjectPublicKeyInfo)
	return base64.StdEncoding.EncodeToString(sum[:])
}

// Pool returns a new pool holding only the CA certificate, for clients (the
// tests, the end-to-end checks) that must trust exactly this CA. Each call
// returns a fresh pool, so callers may add to it.
func (ca *CA) Pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.Cert)
	return p
}

// Hosts returns the DNS names permitted by the certificate's name
// constraints: what the CA can actually sign for, whatever the configuration
// says now.
func (ca *CA) Hosts() []string {
	return append([]string(nil), ca.Cert.PermittedDNSDomains...)
}

// defaultCommonName names the CA after the workstation, the date and a short
// random tag, so two CAs never look alike in a trust store.
func defaultCommonName(t time.Time) string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "unknown host"
	}
	if r := []rune(host); len(r) > maxCNHostLen {
		host = string(r[:maxCNHostLen])
	}
	tag := make([]byte, 2)
	_, _ = rand.Read(tag) // crypto/rand.Read never fails (Go 1.24+).
	return fmt.Sprintf("kfsidebar local CA (%s, %s %s)", host, t.Format("2006-01-02"), hex.EncodeToString(tag))
}

// serialLimit is 2^128: serials are 128 random bits, well above the 64 bits
// the CA/Browser Forum requires and within RFC 5280's 20 octets.
var serialLimit = new(big.Int).Lsh(big.NewInt(1), 128)

// randomSerial returns a positive serial of up to 128 random bits.
func randomSerial() (*big.Int, error) {
	for {
		n, err := rand.Int(rand.Reader, serialLimit)
		if err != nil {
			return nil, fmt.Errorf("serial: %w", err)
		}
		if n.Sign() > 0 {
			return n, nil
		}
	}
}

// subjectKeyID follows RFC 7093 method 1: the leftmost 160 bits of the
// SHA-256 of the subjectPublicKey bit string (for ECDSA, the uncompressed
// point).
func subjectKeyID(pub *ecdsa.PublicKey) ([]byte, error) {
	ek, err := pub.ECDH()
	if err != nil {
		return nil, fmt.Errorf("subject key id: %w", err)
	}
	sum := sha256.Sum256(ek.Bytes())
	return sum[:20], nil
}

func encodeCertPEM(der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}
