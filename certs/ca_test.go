package certs

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"errors"
	"math/big"
	"net"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

const consoleHost = "mpkf.weixin.qq.com"

// t0 is the fixed "now" of tests that do not need the wall clock.
var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// clock is a settable time source for Options.Now and LeafOptions.Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock(t time.Time) *clock { return &clock{t: t} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// newTestCA makes an in-memory CA for the console host at t0.
func newTestCA(t testing.TB) *CA {
	t.Helper()
	ca, err := New(Options{Hosts: []string{consoleHost}, Now: func() time.Time { return t0 }})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return ca
}

// signDirect signs tmpl with the CA key, bypassing Leaves, the way a thief
// holding the key would.
func signDirect(t *testing.T, ca *CA, tmpl *x509.Certificate) *x509.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, &key.PublicKey, ca.Key)
	if err != nil {
		t.Fatalf("CreateCertificate: %v", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

func TestNewOptions(t *testing.T) {
	tests := []struct {
		name      string
		hosts     []string
		wantHosts []string
		wantErr   error
	}{
		{name: "one host", hosts: []string{consoleHost}, wantHosts: []string{consoleHost}},
		{name: "case port dot and duplicates", hosts: []string{"MPKF.weixin.qq.com:443", "mpkf.weixin.qq.com.", consoleHost}, wantHosts: []string{consoleHost}},
		{name: "order kept", hosts: []string{"b.example", "a.example", "B.example"}, wantHosts: []string{"b.example", "a.example"}},
		{name: "nil hosts", hosts: nil, wantErr: ErrNoHosts},
		{name: "empty list", hosts: []string{}, wantErr: ErrNoHosts},
		{name: "empty host", hosts: []string{consoleHost, ""}, wantErr: ErrInvalidHost},
		{name: "port only", hosts: []string{":443"}, wantErr: ErrInvalidHost},
		{name: "ipv4", hosts: []string{"127.0.0.1"}, wantErr: ErrInvalidHost},
		{name: "ipv4 with port", hosts: []string{"127.0.0.1:8787"}, wantErr: ErrInvalidHost},
		{name: "ipv6", hosts: []string{"::1"}, wantErr: ErrInvalidHost},
		{name: "ipv6 bracketed", hosts: []string{"[::1]"}, wantErr: ErrInvalidHost},
		{name: "ipv6 with port", hosts: []string{"[::1]:443"}, wantErr: ErrInvalidHost},
		{name: "wildcard", hosts: []string{"*.weixin.qq.com"}, wantErr: ErrInvalidHost},
		{name: "leading dot", hosts: []string{".weixin.qq.com"}, wantErr: ErrInvalidHost},
		{name: "space", hosts: []string{"mpkf weixin"}, wantErr: ErrInvalidHost},
		{name: "unicode", hosts: []string{"客服.example"}, wantErr: ErrInvalidHost},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ca, err := New(Options{Hosts: tt.hosts})
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("New(%q) error = %v, want %v", tt.hosts, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("New(%q): %v", tt.hosts, err)
			}
			if got := ca.Hosts(); !slices.Equal(got, tt.wantHosts) {
				t.Errorf("Hosts() = %q, want %q", got, tt.wantHosts)
			}
		})
	}
}

func TestNewCommonName(t *testing.T) {
	a, err := New(Options{Hosts: []string{consoleHost}})
	if err != nil {
		t.Fatal(err)
	}
	b, err := New(Options{Hosts: []string{consoleHost}})
	if err != nil {
		t.Fatal(err)
	}
	got := a.Cert.Subject.CommonName
	if !strings.HasPrefix(got, "kfsidebar local CA (") {
		t.Errorf("default CommonName = %q, want the kfsidebar prefix", got)
	}
	if host, err := os.Hostname(); err == nil && len(host) <= maxCNHostLen && !strings.Contains(got, host) {
		t.Errorf("default CommonName = %q, want it to name the workstation %q", got, host)
	}
	if len(got) > 64 {
		t.Errorf("default CommonName is %d characters, want at most 64", len(got))
	}
	if got2 := b.Cert.Subject.CommonName; got == got2 {
		t.Errorf("two CAs share the CommonName %q, want them distinguishable", got)
	}

	c, err := New(Options{Hosts: []string{consoleHost}, CommonName: "shop CA"})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := c.Cert.Subject.CommonName, "shop CA"; got != want {
		t.Errorf("CommonName = %q, want %q", got, want)
	}
}

// oidNameConstraints is id-ce-nameConstraints (RFC 5280 4.2.1.10).
var oidNameConstraints = asn1.ObjectIdentifier{2, 5, 29, 30}

func TestNewCAFields(t *testing.T) {
	ca := newTestCA(t)
	// Parse the DER again so the test sees what a browser sees, not the
	// template.
	cert, err := x509.ParseCertificate(ca.Cert.Raw)
	if err != nil {
		t.Fatal(err)
	}

	checks := []struct {
		name string
		ok   bool
	}{
		{"serial positive", cert.SerialNumber.Sign() > 0},
		{"serial at most 128 bits", cert.SerialNumber.BitLen() <= 128},
		{"serial has at least 64 bits of entropy", cert.SerialNumber.Cmp(new(big.Int).Lsh(big.NewInt(1), 64)) > 0},
		{"IsCA", cert.IsCA},
		{"BasicConstraintsValid", cert.BasicConstraintsValid},
		{"MaxPathLen 0", cert.MaxPathLen == 0},
		{"MaxPathLenZero", cert.MaxPathLenZero},
		{"KeyUsage CertSign", cert.KeyUsage&x509.KeyUsageCertSign != 0},
		{"KeyUsage CRLSign", cert.KeyUsage&x509.KeyUsageCRLSign != 0},
		{"SubjectKeyId", len(cert.SubjectKeyId) == 20},
		{"self-signed", cert.CheckSignatureFrom(cert) == nil},
		{"PermittedDNSDomainsCritical", cert.PermittedDNSDomainsCritical},
		{"permits only the console", slices.Equal(cert.PermittedDNSDomains, []string{consoleHost})},
		{"no excluded DNS names", len(cert.ExcludedDNSDomains) == 0},
		{"NotBefore in the past", cert.NotBefore.Before(t0)},
		{"NotBefore at most an hour back", t0.Sub(cert.NotBefore) <= time.Hour},
		{"lives about ten years", cert.NotAfter.Sub(t0) > 9*365*24*time.Hour && cert.NotAfter.Sub(t0) <= 10*366*24*time.Hour},
	}
	for _, c := range checks {
		if !c.ok {
			t.Errorf("CA certificate: %s: false", c.name)
		}
	}

	pub, ok := cert.PublicKey.(*ecdsa.PublicKey)
	if !ok || pub.Curve != elliptic.P256() {
		t.Errorf("public key = %T, want ECDSA P-256", cert.PublicKey)
	}
	if key, ok := ca.Key.(*ecdsa.PrivateKey); !ok || !key.PublicKey.Equal(cert.PublicKey) {
		t.Errorf("Key = %T, want the *ecdsa.PrivateKey of the certificate", ca.Key)
	}

	var critical, found bool
	for _, ext := range cert.Extensions {
		if ext.Id.Equal(oidNameConstraints) {
			found, critical = true, ext.Critical
		}
	}
	if !found || !critical {
		t.Errorf("name constraints extension found=%v critical=%v, want both true", found, critical)
	}

	var gotIP []string
	for _, n := range cert.ExcludedIPRanges {
		gotIP = append(gotIP, n.String())
	}
	slices.Sort(gotIP)
	if want := []string{"0.0.0.0/0", "::/0"}; !slices.Equal(gotIP, want) {
		t.Errorf("ExcludedIPRanges = %q, want %q", gotIP, want)
	}
	if len(cert.PermittedIPRanges) != 0 {
		t.Errorf("PermittedIPRanges = %v, want none", cert.PermittedIPRanges)
	}

	if got := string(ca.CertPEM); !strings.HasPrefix(got, "-----BEGIN CERTIFICATE-----") {
		t.Errorf("CertPEM = %.40q…, want a PEM certificate", got)
	}
}

func TestSerialsDiffer(t *testing.T) {
	a, b := newTestCA(t), newTestCA(t)
	if a.Cert.SerialNumber.Cmp(b.Cert.SerialNumber) == 0 {
		t.Errorf("two CAs share serial %v", a.Cert.SerialNumber)
	}
}

func TestSPKIHash(t *testing.T) {
	ca := newTestCA(t)
	sum := sha256.Sum256(ca.Cert.RawSubjectPublicKeyInfo)
	want := base64.StdEncoding.EncodeToString(sum[:])
	if got := ca.SPKIHash(); got != want {
		t.Errorf("SPKIHash() = %q, want %q", got, want)
	}
	if got := len(ca.SPKIHash()); got != 44 {
		t.Errorf("len(SPKIHash()) = %d, want 44 (padded base64 of 32 bytes)", got)
	}
}

func TestPoolAndHostsAreCopies(t *testing.T) {
	ca := newTestCA(t)
	h := ca.Hosts()
	h[0] = "evil.example"
	if got := ca.Hosts()[0]; got != consoleHost {
		t.Errorf("Hosts()[0] after modifying a returned slice = %q, want %q", got, consoleHost)
	}

	other := newTestCA(t)
	ca.Pool().AddCert(other.Cert)
	leaf, err := NewLeaves(other, LeafOptions{Now: func() time.Time { return t0 }}).Get(consoleHost)
	if err != nil {
		t.Fatal(err)
	}
	var unknown x509.UnknownAuthorityError
	_, err = leaf.Leaf.Verify(x509.VerifyOptions{Roots: ca.Pool(), CurrentTime: t0})
	if !errors.As(err, &unknown) {
		t.Errorf("another CA's leaf against Pool() after adding to an earlier pool: error %v, want UnknownAuthorityError", err)
	}
}

// TestNameConstraints proves with Go's verifier that the CA can vouch for
// the console host only: certificates for other names or for IP addresses,
// signed with the CA key itself, are rejected.
func TestNameConstraints(t *testing.T) {
	ca := newTestCA(t)
	leaves := NewLeaves(ca, LeafOptions{Now: func() time.Time { return t0 }})
	leaf, err := leaves.Get(consoleHost)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := leaf.Leaf.Verify(x509.VerifyOptions{
		Roots:       ca.Pool(),
		DNSName:     consoleHost,
		CurrentTime: t0,
		KeyUsages:   []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}); err != nil {
		t.Fatalf("leaf from Leaves for %s does not verify: %v", consoleHost, err)
	}

	tests := []struct {
		name   string
		dns    []string
		ips    []net.IP
		wantOK bool
	}{
		{name: "console host", dns: []string{consoleHost}, wantOK: true},
		// Go and browsers treat a permitted DNS domain as a subtree.
		{name: "subdomain of console host", dns: []string{"a." + consoleHost}, wantOK: true},
		{name: "other site", dns: []string{"example.com"}},
		{name: "parent domain", dns: []string{"weixin.qq.com"}},
		{name: "suffix lookalike", dns: []string{"evilmpkf.weixin.qq.com"}},
		{name: "console plus other", dns: []string{consoleHost, "example.com"}},
		{name: "ipv4 loopback", ips: []net.IP{net.ParseIP("127.0.0.1")}},
		{name: "ipv6 loopback", ips: []net.IP{net.ParseIP("::1")}},
		{name: "console plus ip", dns: []string{consoleHost}, ips: []net.IP{net.ParseIP("127.0.0.1")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cert := signDirect(t, ca, &x509.Certificate{
				SerialNumber: big.NewInt(7),
				Subject:      pkix.Name{CommonName: "forged"},
				DNSNames:     tt.dns,
				IPAddresses:  tt.ips,
				NotBefore:    t0.Add(-time.Minute),
				NotAfter:     t0.Add(time.Hour),
				KeyUsage:     x509.KeyUsageDigitalSignature,
				ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
			})
			_, err := cert.Verify(x509.VerifyOptions{
				Roots:       ca.Pool(),
				CurrentTime: t0,
				KeyUsages:   []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
			})
			if tt.wantOK {
				if err != nil {
					t.Fatalf("Verify: %v, want success", err)
				}
				return
			}
			var inv x509.CertificateInvalidError
			if !errors.As(err, &inv) || inv.Reason != x509.CANotAuthorizedForThisName {
				t.Fatalf("Verify error = %v, want CANotAuthorizedForThisName", err)
			}
		})
	}
}
