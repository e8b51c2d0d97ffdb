package certs

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/kfsidebar/kfsidebar/internal/atomicfile"
)

const (
	// CertFile and KeyFile are the names of the CA files in the data
	// directory. Users are told these names when something is wrong, so they
	// are fixed rather than configurable.
	CertFile = "ca.pem"
	KeyFile  = "ca-key.pem"

	// renewWarning is how long before expiry LoadOrCreate refuses an old CA,
	// so the user replaces it on a day of their choosing.
	renewWarning = 30 * 24 * time.Hour
)

// LoadOrCreate returns the CA kept in dir (files ca.pem and ca-key.pem),
// making it first if neither file exists; created reports which happened, so
// the caller can tell the user to trust the new CA.
//
// dir is created with mode 0700 if missing; the key is written with mode
// 0600, and an existing key file with looser permissions is tightened to 0600
// (on Unix). Both files are written atomically.
//
// An existing CA is validated rather than replaced: it must be a CA whose
// key matches, whose name constraints permit exactly opts.Hosts (else
// ErrHostsChanged) and which is valid for at least 30 more days (else
// ErrCAExpired). If only one of the files exists the error is
// ErrIncompleteCA and nothing is written. The errors say what to do.
//
// Two processes creating a CA in the same empty dir at the same moment can
// leave a mismatched pair (detected on the next load); kfsidebar runs one
// proxy per workstation, so this is not guarded against.
func LoadOrCreate(dir string, opts Options) (ca *CA, created bool, err error) {
	hosts, err := normalizeHosts(opts.Hosts)
	if err != nil {
		return nil, false, fmt.Errorf("load ca: %w", err)
	}
	now := time.Now
	if opts.Now != nil {
		now = opts.Now
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, false, fmt.Errorf("load ca: %w", err)
	}
	certPath := filepath.Join(dir, CertFile)
	keyPath := filepath.Join(dir, KeyFile)

	none, err := noCA(dir)
	if err != nil {
		return nil, false, fmt.Errorf("load ca: %w", err)
	}
	if none {
		ca, err := create(certPath, keyPath, opts)
		if err != nil {
			return nil, false, fmt.Errorf("create ca: %w", err)
		}
		return ca, true, nil
	}

	if err := tightenKeyMode(keyPath); err != nil {
		return nil, false, fmt.Errorf("load ca: %w", err)
	}
	ca, err = load(certPath, keyPath)
	if err != nil {
		return nil, false, fmt.Errorf("load ca: %w", err)
	}
	if err := checkHosts(ca, dir, hosts); err != nil {
		return nil, false, fmt.Errorf("load ca: %w", err)
	}
	if err := checkExpiry(ca, dir, now()); err != nil {
		return nil, false, fmt.Errorf("load ca: %w", err)
	}
	return ca, false, nil
}

// create makes a CA and writes the key first, then the certificate. If the
// certificate cannot be written the fresh key is removed again, so a failed
// create does not leave the half-written state that LoadOrCreate refuses.
func create(certPath, keyPath string, opts Options) (*CA, error) {
	ca, err := New(opts)
	if err != nil {
		return nil, err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(ca.Key)
	if err != nil {
		return nil, fmt.Errorf("marshal key: %w", err)
	}
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})
	if err := atomicfile.Write(keyPath, keyPEM, 0o600); err != nil {
		return nil, err
	}
	if err := atomicfile.Write(certPath, ca.CertPEM, 0o644); err != nil {
		_ = os.Remove(keyPath)
		return nil, err
	}
	return ca, nil
}

// load reads and cross-checks the two CA files.
func load(certPath, keyPath string) (*CA, error) {
	cert, err := readCert(certPath)
	if err != nil {
		return nil, err
	}
	key, err := readKey(keyPath)
	if err != nil {
		return nil, err
	}
	if !key.PublicKey.Equal(cert.PublicKey) {
		return nil, fmt.Errorf("%w: the key in %s does not belong to the certificate in %s", ErrInvalidCA, keyPath, certPath)
	}
	return &CA{Cert: cert, Key: key, CertPEM: encodeCertPEM(cert.Raw)}, nil
}

func readCert(path string) (*x509.Certificate, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, fmt.Errorf("%w: %s holds no PEM certificate", ErrInvalidCA, path)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrInvalidCA, path, err)
	}
	if !cert.BasicConstraintsValid || !cert.IsCA || cert.KeyUsage&x509.KeyUsageCertSign == 0 {
		return nil, fmt.Errorf("%w: %s is not a CA certificate", ErrInvalidCA, path)
	}
	return cert, nil
}

// readKey accepts PKCS#8 (what create writes) and SEC 1 "EC PRIVATE KEY",
// but only ECDSA P-256, the key type CA.Key promises.
func readKey(path string) (*ecdsa.PrivateKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, fmt.Errorf("%w: %s holds no PEM key", ErrInvalidCA, path)
	}
	var parsed any
	switch block.Type {
	case "PRIVATE KEY":
		parsed, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	case "EC PRIVATE KEY":
		parsed, err = x509.ParseECPrivateKey(block.Bytes)
	default:
		return nil, fmt.Errorf("%w: %s holds a %q block, want a private key", ErrInvalidCA, path, block.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrInvalidCA, path, err)
	}
	key, ok := parsed.(*ecdsa.PrivateKey)
	if !ok || key.Curve != elliptic.P256() {
		return nil, fmt.Errorf("%w: %s is not an ECDSA P-256 key", ErrInvalidCA, path)
	}
	return key, nil
}

// checkHosts compares the CA's permitted names with the configured hosts as
// sets: order and duplicates in the config do not matter.
func checkHosts(ca *CA, dir string, want []string) error {
	have := ca.Hosts()
	if len(have) == 0 {
		return fmt.Errorf("%w: the CA in %s has no name constraints, so it could impersonate any site: %s",
			ErrInvalidCA, dir, moveAway(dir))
	}
	a := slices.Clone(have)
	for i := range a {
		a[i] = strings.ToLower(a[i])
	}
	slices.Sort(a)
	a = slices.Compact(a)
	b := slices.Sorted(slices.Values(want))
	if slices.Equal(a, b) {
		return nil
	}
	return &CAError{Kind: ErrHostsChanged, Dir: dir, Have: have, Want: want}
}

func checkExpiry(ca *CA, dir string, now time.Time) error {
	end := ca.Cert.NotAfter
	switch {
	case !now.Before(end):
		return &CAError{Kind: ErrCAExpired, Dir: dir, NotAfter: end, Expired: true}
	case end.Sub(now) < renewWarning:
		return &CAError{Kind: ErrCAExpired, Dir: dir, NotAfter: end}
	}
	return nil
}

// moveAway is the one remedy for a CA that cannot be used as is.
func moveAway(dir string) string {
	return fmt.Sprintf("move %s and %s away to make a new CA, then trust the new one",
		filepath.Join(dir, CertFile), filepath.Join(dir, KeyFile))
}

// tightenKeyMode makes a key file that others can read (for example after a
// copy with a permissive umask) private again. Windows has no such mode
// bits; its ACLs are left to the user profile.
func tightenKeyMode(path string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	if fi.Mode().Perm()&0o077 == 0 {
		return nil
	}
	if err := os.Chmod(path, 0o600); err != nil {
		return fmt.Errorf("tighten %s to mode 0600: %w", path, err)
	}
	return nil
}

// noCA reports whether dir holds neither of the CA's files. With only one
// of them the error is ErrIncompleteCA, naming the one missing.
func noCA(dir string) (bool, error) {
	certExists, err := exists(filepath.Join(dir, CertFile))
	if err != nil {
		return false, err
	}
	keyExists, err := exists(filepath.Join(dir, KeyFile))
	if err != nil {
		return false, err
	}
	switch {
	case certExists && !keyExists:
		return false, &CAError{Kind: ErrIncompleteCA, Dir: dir, Missing: KeyFile}
	case !certExists && keyExists:
		return false, &CAError{Kind: ErrIncompleteCA, Dir: dir, Missing: CertFile}
	}
	return !certExists, nil
}

func exists(path string) (bool, error) {
	_, err := os.Stat(path)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, fs.ErrNotExist):
		return false, nil
	}
	return false, err
}
