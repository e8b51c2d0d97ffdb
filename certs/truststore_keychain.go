package certs

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// keychainStore is the macOS login keychain, changed with the `security`
// tool. Trust settings for a root need the user's password (macOS asks in
// a dialog), which is why Trusted is checked first and never prompts.
type keychainStore struct {
	keychain string // ~/Library/Keychains/login.keychain-db
	run      commandRunner
	// verify proves trust; default: Go's verifier, which on macOS asks the
	// Security framework and so sees the live keychain and trust settings.
	verify func(*CA) error
}

func newKeychainStore(home string) *keychainStore {
	kc := filepath.Join(home, "Library", "Keychains", "login.keychain-db")
	if _, err := os.Stat(kc); err != nil {
		if old := filepath.Join(home, "Library", "Keychains", "login.keychain"); fileExists(old) {
			kc = old
		}
	}
	return &keychainStore{keychain: kc, run: runCommand, verify: func(ca *CA) error { return verifyLeaf(ca, nil) }}
}

func (s *keychainStore) Kind() StoreKind { return StoreSystem }

func (s *keychainStore) Name() string {
	return "macOS login keychain (Safari, Chrome, Edge, Firefox 120+)"
}

// present reports whether the keychain holds ca: `security
// find-certificate -Z` prints the SHA-1 of every certificate with that name.
func (s *keychainStore) present(ctx context.Context, ca *CA) (bool, error) {
	out, err := s.run(ctx, "security", "find-certificate", "-a", "-Z", "-c", ca.Cert.Subject.CommonName, s.keychain)
	if err != nil {
		// security exits non-zero when nothing matches.
		if strings.Contains(string(out), "could not be found") {
			return false, nil
		}
		return false, fmt.Errorf("search keychain: %w", err)
	}
	want := sha1Hex(ca)
	for _, line := range strings.Split(string(out), "\n") {
		if h, ok := strings.CutPrefix(strings.TrimSpace(line), "SHA-1 hash:"); ok && strings.EqualFold(strings.TrimSpace(h), want) {
			return true, nil
		}
	}
	return false, nil
}

func (s *keychainStore) Trusted(ctx context.Context, ca *CA) (bool, error) {
	ok, err := s.present(ctx, ca)
	if err != nil || !ok {
		return false, err
	}
	return s.verify(ca) == nil, nil
}

func (s *keychainStore) Install(ctx context.Context, ca *CA, certPath string) error {
	// -p ssl: trusted to identify TLS servers, for nothing else.
	if _, err := s.run(ctx, "security", "add-trusted-cert", "-r", "trustRoot", "-p", "ssl", "-k", s.keychain, certPath); err != nil {
		return fmt.Errorf("add to keychain (macOS asks for your password: answer the dialog): %w", err)
	}
	return nil
}

func (s *keychainStore) Uninstall(ctx context.Context, ca *CA) (bool, error) {
	ok, err := s.present(ctx, ca)
	if err != nil || !ok {
		return false, err
	}
	f, err := os.CreateTemp("", "kfsidebar-ca-*.pem")
	if err != nil {
		return false, fmt.Errorf("remove from keychain: %w", err)
	}
	defer os.Remove(f.Name())
	_, err = f.Write(ca.CertPEM)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return false, fmt.Errorf("remove from keychain: %w", err)
	}
	// The trust setting first (it lives apart from the certificate), then
	// the certificate itself, chosen by its SHA-1 so no namesake goes too.
	if out, err := s.run(ctx, "security", "remove-trusted-cert", f.Name()); err != nil && !strings.Contains(string(out), "not found") {
		return false, fmt.Errorf("remove trust setting: %w", err)
	}
	if _, err := s.run(ctx, "security", "delete-certificate", "-Z", sha1Hex(ca), s.keychain); err != nil {
		return false, fmt.Errorf("remove from keychain: %w", err)
	}
	return true, nil
}

func (s *keychainStore) Manual(certPath string) ManualStep {
	return ManualStep{How: AddToKeychain, CertPath: certPath,
		Commands: []string{"security add-trusted-cert -r trustRoot -p ssl -k " + shellArg(s.keychain) + " " + shellArg(certPath)}}
}

// sha1Hex is how the keychain names a certificate (not a security
// decision: SHA-1 is what `security` prints and accepts).
func sha1Hex(ca *CA) string {
	sum := sha1.Sum(ca.Cert.Raw)
	return strings.ToUpper(hex.EncodeToString(sum[:]))
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
