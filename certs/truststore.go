package certs

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/kfsidebar/kfsidebar/internal/nowindow"
)

// StoreKind names a kind of trust store, as the user picks them with
// `kfsidebar ca install --store`.
type StoreKind string

const (
	// StoreSystem is the operating system's store: the Windows current-user
	// Root store (Chrome, Edge, Firefox 120+), the macOS login keychain
	// (Safari, Chrome, Edge, Firefox 120+), the Linux system bundle (curl,
	// most command-line tools; not Chrome or Firefox on Linux).
	StoreSystem StoreKind = "system"
	// StoreNSS is the NSS database Chrome and Chromium read on Linux.
	StoreNSS StoreKind = "nss"
	// StoreFirefox is one Firefox profile's own NSS database.
	StoreFirefox StoreKind = "firefox"
)

// StoreKinds lists every kind, in the order stores are reported.
var StoreKinds = []StoreKind{StoreSystem, StoreNSS, StoreFirefox}

// TrustStore is one place where a browser or the operating system looks up
// trusted roots. Every method is safe to call again: Install on a store
// that already trusts the CA and Uninstall on one that does not are no-ops
// for the caller (InstallTrust checks first anyway, so that nobody is asked
// for a password needlessly).
type TrustStore interface {
	// Kind says which kind of store this is.
	Kind() StoreKind
	// Name says which store, in words the user recognizes: "NSS database
	// ~/.pki/nssdb (Chrome, Chromium)".
	Name() string
	// Trusted reports whether ca is there and trusted to identify TLS
	// servers. It never changes anything and never prompts.
	Trusted(ctx context.Context, ca *CA) (bool, error)
	// Install adds ca as a root trusted for TLS servers. certPath is the
	// CA certificate file (ca.pem), for tools that read a file.
	Install(ctx context.Context, ca *CA, certPath string) error
	// Uninstall removes ca and nothing else: another certificate with the
	// same name or serial stays. removed is false when ca was not there.
	Uninstall(ctx context.Context, ca *CA) (removed bool, err error)
	// Manual is the step a person takes instead when Install cannot.
	Manual(certPath string) ManualStep
}

// ManualStep is what a person does by hand where kfsidebar cannot change
// a store, as facts (the commands that do it, the file to import), so
// that the command line can say it in the user's language. The zero value
// is no step.
type ManualStep struct {
	How How
	// Commands are the command lines that do it, as typed, when there
	// are any: NSS's certutil (ImportNSS), the copy and the update tool,
	// then kfsidebar as root (AddAnchor), security (AddToKeychain),
	// Windows' certutil (AddToWindows).
	Commands []string
	// CertPath is the CA certificate file, for the way through the
	// browser's or the system's windows.
	CertPath string
	// CAName and Store name the certificate and the store it stays in
	// (RemoveByHand).
	CAName, Store string
}

// How is which step a ManualStep is.
type How int

const (
	// NoStep: nothing to do by hand.
	NoStep How = iota
	// ImportNSS: run Commands[0] once NSS's tools are installed, or
	// import CertPath in Chrome's settings.
	ImportNSS
	// ImportFirefox: import CertPath in Firefox's settings.
	ImportFirefox
	// AddAnchor: Commands[0] as root, or Commands[1].
	AddAnchor
	// AddToDistribution: add CertPath as the Linux distribution's
	// documentation says.
	AddToDistribution
	// AddToSystem: add CertPath as the system's documentation says.
	AddToSystem
	// AddToKeychain: Commands[0], or CertPath through Keychain Access.
	AddToKeychain
	// TrustInKeychainAccess: open CertPath in Keychain Access and trust
	// it.
	TrustInKeychainAccess
	// AddToWindows: Commands[0], or CertPath through Windows' certificate
	// import.
	AddToWindows
	// RemoveByHand: remove the certificate CAName from Store.
	RemoveByHand
)

// TrustOptions say where FindTrustStores looks.
type TrustOptions struct {
	// Home is the user's home directory, where the NSS databases and
	// Firefox profiles live. Default: os.UserHomeDir(), with Chrome's
	// newer database under $XDG_DATA_HOME when that is set.
	Home string
	// Kinds limits the stores to these kinds. Default: every kind.
	Kinds []StoreKind
	// Certutil is NSS's certutil (Debian: libnss3-tools). Default: looked
	// up on PATH. It is never looked up on Windows, whose certutil.exe is a
	// different tool.
	Certutil string
	// System replaces the operating system's store (tests). Default: the
	// platform's store, or none where kfsidebar knows none.
	System TrustStore
}

// FindTrustStores returns the trust stores of this workstation and user:
// the system store, Chrome's NSS database on Linux (created on install if
// Chrome has not made it yet), and every Firefox profile found.
func FindTrustStores(opts TrustOptions) ([]TrustStore, error) {
	home, dataHome := opts.Home, ""
	if home == "" {
		h, err := os.UserHomeDir()
		if err != nil {
			return nil, fmt.Errorf("find trust stores: %w", err)
		}
		home = h
		if d := os.Getenv("XDG_DATA_HOME"); filepath.IsAbs(d) {
			dataHome = d
		}
	}
	want := func(k StoreKind) bool {
		if len(opts.Kinds) == 0 {
			return true
		}
		for _, w := range opts.Kinds {
			if w == k {
				return true
			}
		}
		return false
	}
	certutil := opts.Certutil
	if certutil == "" && runtime.GOOS != "windows" {
		certutil, _ = exec.LookPath("certutil")
	}
	var stores []TrustStore
	if want(StoreSystem) {
		s := opts.System
		if s == nil {
			s = systemStore()
		}
		if s != nil {
			stores = append(stores, s)
		}
	}
	if want(StoreNSS) && chromeUsesNSS {
		stores = append(stores, chromeNSSStore(home, dataHome, certutil))
	}
	if want(StoreFirefox) {
		stores = append(stores, firefoxStores(home, certutil)...)
	}
	return stores, nil
}

// ParseStoreKind turns a --store value into a StoreKind.
func ParseStoreKind(s string) (StoreKind, error) {
	for _, k := range StoreKinds {
		if strings.EqualFold(s, string(k)) {
			return k, nil
		}
	}
	return "", fmt.Errorf("unknown trust store %q (want system, nss or firefox)", s)
}

// TrustResult is what happened in one store.
type TrustResult struct {
	// Kind and Name identify the store.
	Kind StoreKind
	Name string
	// Trusted is whether the store trusts the CA afterwards.
	Trusted bool
	// Changed is true when this call installed or removed the CA.
	Changed bool
	// Err says what could not be done; nil when all went well.
	Err error
	// Manual is the step to take by hand, set when Err is not nil.
	Manual ManualStep
}

// CheckTrust reports, for each store, whether it trusts ca. It changes
// nothing.
func CheckTrust(ctx context.Context, ca *CA, certPath string, stores []TrustStore) []TrustResult {
	out := make([]TrustResult, 0, len(stores))
	for _, s := range stores {
		r := TrustResult{Kind: s.Kind(), Name: s.Name()}
		r.Trusted, r.Err = s.Trusted(ctx, ca)
		if r.Err != nil {
			r.Manual = s.Manual(certPath)
		}
		out = append(out, r)
	}
	return out
}

// InstallTrust makes each store trust ca: it checks first (a store that
// trusts it already is left alone, so nobody is asked for a password for
// nothing), installs, then checks again, so that Trusted is what the store
// really does rather than what the tool said.
func InstallTrust(ctx context.Context, ca *CA, certPath string, stores []TrustStore) []TrustResult {
	out := make([]TrustResult, 0, len(stores))
	for _, s := range stores {
		r := TrustResult{Kind: s.Kind(), Name: s.Name()}
		r.Trusted, r.Err = s.Trusted(ctx, ca)
		if r.Err == nil && !r.Trusted {
			if r.Err = s.Install(ctx, ca, certPath); r.Err == nil {
				r.Changed = true
				r.Trusted, r.Err = s.Trusted(ctx, ca)
				if r.Err == nil && !r.Trusted {
					r.Err = &StoreError{Kind: ErrNotTrusted}
				}
			}
		}
		if r.Err != nil {
			r.Manual = s.Manual(certPath)
		}
		out = append(out, r)
	}
	return out
}

// UninstallTrust removes ca, and only ca, from each store and checks that
// the store no longer trusts it.
func UninstallTrust(ctx context.Context, ca *CA, stores []TrustStore) []TrustResult {
	out := make([]TrustResult, 0, len(stores))
	for _, s := range stores {
		r := TrustResult{Kind: s.Kind(), Name: s.Name()}
		r.Changed, r.Err = s.Uninstall(ctx, ca)
		if r.Err == nil {
			r.Trusted, r.Err = s.Trusted(ctx, ca)
			if r.Err == nil && r.Trusted {
				r.Err = &StoreError{Kind: ErrStillTrusted}
			}
		}
		if r.Err != nil {
			r.Manual = ManualStep{How: RemoveByHand, CAName: ca.Cert.Subject.CommonName, Store: s.Name()}
		}
		out = append(out, r)
	}
	return out
}

// verifyLeaf proves trust the way a browser would: a fresh leaf for the
// console host, signed by ca, must verify against roots (nil: the
// platform's own verifier, which on Windows and macOS reads the live
// stores).
func verifyLeaf(ca *CA, roots *x509.CertPool) error {
	hosts := ca.Hosts()
	if len(hosts) == 0 {
		return fmt.Errorf("%w: the CA has no hosts", ErrInvalidCA)
	}
	leaf, err := NewLeaves(ca, LeafOptions{}).Get(hosts[0])
	if err != nil {
		return err
	}
	_, err = leaf.Leaf.Verify(x509.VerifyOptions{
		Roots:     roots,
		DNSName:   hosts[0],
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	})
	return err
}

// poolFromPEM parses a bundle of PEM certificates into a pool.
func poolFromPEM(data []byte) (*x509.CertPool, error) {
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(data) {
		return nil, errors.New("no certificate in the bundle")
	}
	return pool, nil
}

// pemContains reports whether the PEM data holds the certificate der.
func pemContains(data, der []byte) bool {
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			return false
		}
		if block.Type == "CERTIFICATE" && bytes.Equal(block.Bytes, der) {
			return true
		}
	}
}

// commandRunner runs a program and returns its combined output. Stores
// take one so tests can stand in for tools a Linux machine lacks.
type commandRunner func(ctx context.Context, name string, args ...string) ([]byte, error)

// toolTimeout bounds one call of certutil, security or the update tools;
// none of them should take more than seconds, and a hung one must not hang
// kfsidebar.
const toolTimeout = 2 * time.Minute

func runCommand(ctx context.Context, name string, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, toolTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	nowindow.Apply(cmd)
	out, err := cmd.CombinedOutput()
	if err != nil {
		msg := strings.TrimSpace(string(out))
		if len(msg) > 300 {
			msg = msg[:300] + "…"
		}
		if msg != "" {
			return out, fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, msg)
		}
		return out, fmt.Errorf("%s %s: %w", name, strings.Join(args, " "), err)
	}
	return out, nil
}

// LoadExisting reads the CA kept in dir without creating one and without
// LoadOrCreate's checks of hosts and expiry: removing a CA from the trust
// stores, or reporting where it is trusted, must work for an old CA too.
// The error wraps fs.ErrNotExist when dir holds no CA, and is
// ErrIncompleteCA (a CAError naming the missing file) when it holds only
// one of the two files, as LoadOrCreate's is.
func LoadExisting(dir string) (*CA, error) {
	if _, err := noCA(dir); err != nil {
		return nil, fmt.Errorf("load ca: %w", err)
	}
	ca, err := load(filepath.Join(dir, CertFile), filepath.Join(dir, KeyFile))
	if err != nil {
		return nil, fmt.Errorf("load ca: %w", err)
	}
	return ca, nil
}
