package certs

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
)

// nssStore is one NSS database: Chrome's on Linux, or a Firefox profile's.
// It is changed with NSS's own certutil, which knows both database formats
// and the locking the browsers use.
type nssStore struct {
	kind     StoreKind
	dir      string // the directory holding cert9.db (or the old cert8.db)
	label    string // who reads it: "Chrome, Chromium" or "Firefox profile x"
	home     string // to show dir as ~/…
	certutil string
	// create makes the database on Install when it does not exist yet:
	// Chrome makes its own on first use, but the user may run
	// `kfsidebar ca install` before ever starting Chrome.
	create bool
	run    commandRunner
}

// chromeNSSStore is the database Chrome and Chromium read on Linux:
// ~/.pki/nssdb when it exists (older Chrome made it, and newer Chrome still
// prefers it), else ~/.local/share/pki/nssdb (what Chrome makes today).
// When neither exists yet, install creates ~/.pki/nssdb, which every
// Chrome version reads. dataHome is $XDG_DATA_HOME, which Chrome honors;
// "" means ~/.local/share.
func chromeNSSStore(home, dataHome, certutil string) *nssStore {
	if dataHome == "" {
		dataHome = filepath.Join(home, ".local", "share")
	}
	legacy := filepath.Join(home, ".pki", "nssdb")
	xdg := filepath.Join(dataHome, "pki", "nssdb")
	dir := legacy
	if !nssDBExists(legacy) && nssDBExists(xdg) {
		dir = xdg
	}
	return &nssStore{kind: StoreNSS, dir: dir, label: "Chrome, Chromium", home: home, certutil: certutil, create: true, run: runCommand}
}

// firefoxStores returns one store per Firefox profile that has a
// certificate database.
func firefoxStores(home, certutil string) []TrustStore {
	var stores []TrustStore
	for _, root := range firefoxProfileRoots(home) {
		entries, err := os.ReadDir(root)
		if err != nil {
			continue
		}
		for _, e := range entries {
			dir := filepath.Join(root, e.Name())
			if e.IsDir() && nssDBExists(dir) {
				stores = append(stores, &nssStore{kind: StoreFirefox, dir: dir, label: "Firefox profile " + e.Name(), home: home, certutil: certutil, run: runCommand})
			}
		}
	}
	return stores
}

func nssDBExists(dir string) bool {
	for _, f := range []string{"cert9.db", "cert8.db"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err == nil {
			return true
		}
	}
	return false
}

func (s *nssStore) Kind() StoreKind { return s.kind }

func (s *nssStore) Name() string {
	return fmt.Sprintf("NSS database %s (%s)", tildePath(s.home, s.dir), s.label)
}

// db is the certutil -d argument: sql: for cert9.db, dbm: for the legacy
// Berkeley DB format that old Firefox profiles may still have.
func (s *nssStore) db() string {
	if _, err := os.Stat(filepath.Join(s.dir, "cert9.db")); err != nil {
		if _, err := os.Stat(filepath.Join(s.dir, "cert8.db")); err == nil {
			return "dbm:" + s.dir
		}
	}
	return "sql:" + s.dir
}

// needCertutil says how to get certutil when it is missing.
func (s *nssStore) needCertutil() error {
	if s.certutil == "" {
		return &StoreError{Kind: ErrNoCertutil}
	}
	return nil
}

// present lists this CA's entries in the database: none when there is no
// database yet.
func (s *nssStore) present(ctx context.Context, ca *CA) ([]nssEntry, error) {
	if err := s.needCertutil(); err != nil {
		return nil, err
	}
	if !nssDBExists(s.dir) {
		return nil, nil
	}
	return s.ours(ctx, ca)
}

func (s *nssStore) Trusted(ctx context.Context, ca *CA) (bool, error) {
	entries, err := s.present(ctx, ca)
	if err != nil {
		return false, err
	}
	for _, e := range entries {
		if e.trustedForTLS() {
			return true, nil
		}
	}
	return false, nil
}

func (s *nssStore) Install(ctx context.Context, ca *CA, certPath string) error {
	if err := s.needCertutil(); err != nil {
		return err
	}
	if !nssDBExists(s.dir) {
		if !s.create {
			return &StoreError{Kind: ErrNoDatabase, Dir: s.dir}
		}
		if err := os.MkdirAll(s.dir, 0o700); err != nil {
			return fmt.Errorf("create nss database: %w", err)
		}
		if _, err := s.run(ctx, s.certutil, "-N", "-d", s.db(), "--empty-password"); err != nil {
			return fmt.Errorf("create nss database: %w", err)
		}
		// Remembered, so that uninstall removes the database again when
		// nothing else went into it.
		if err := os.WriteFile(filepath.Join(s.dir, nssCreatedMarker), nil, 0o600); err != nil {
			return fmt.Errorf("create nss database: %w", err)
		}
	}
	// "C,," trusts the CA to identify TLS servers, and for nothing else
	// (not e-mail, not code signing).
	if _, err := s.run(ctx, s.certutil, "-A", "-d", s.db(), "-t", "C,,", "-n", nssNickname(ca), "-i", certPath); err != nil {
		return fmt.Errorf("add to nss database: %w", err)
	}
	return nil
}

func (s *nssStore) Uninstall(ctx context.Context, ca *CA) (bool, error) {
	entries, err := s.present(ctx, ca)
	if err != nil {
		return false, err
	}
	for _, e := range entries {
		if _, err := s.run(ctx, s.certutil, "-D", "-d", s.db(), "-n", e.nickname); err != nil {
			return false, fmt.Errorf("remove from nss database: %w", err)
		}
	}
	if err := s.removeIfCreatedAndEmpty(ctx); err != nil {
		return false, err
	}
	return len(entries) > 0, nil
}

// nssCreatedMarker, in a database's directory, says that kfsidebar made
// the database (Install, before Chrome ever ran).
const nssCreatedMarker = ".kfsidebar-created"

// nssFiles are what `certutil -N` makes in a new sql: database.
var nssFiles = []string{"cert9.db", "key4.db", "pkcs11.txt", nssCreatedMarker}

// removeIfCreatedAndEmpty removes a database kfsidebar made, once it
// holds no certificate (ours was its only one, and Chrome put nothing
// there), with the directories that leaves empty (~/.pki): uninstall
// leaves nothing behind. A database with anything else in it stays, and
// loses only the marker.
func (s *nssStore) removeIfCreatedAndEmpty(ctx context.Context) error {
	marker := filepath.Join(s.dir, nssCreatedMarker)
	if _, err := os.Stat(marker); err != nil {
		return nil
	}
	out, err := s.run(ctx, s.certutil, "-L", "-d", s.db())
	if err != nil {
		return fmt.Errorf("list nss database: %w", err)
	}
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if !slices.Contains(nssFiles, e.Name()) {
			return os.Remove(marker) // Chrome's own files: its database now
		}
	}
	if len(parseCertutilList(string(out))) > 0 {
		return os.Remove(marker)
	}
	for _, f := range nssFiles {
		if err := os.Remove(filepath.Join(s.dir, f)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	for dir := s.dir; dir != s.home && len(dir) > len(s.home); dir = filepath.Dir(dir) {
		if os.Remove(dir) != nil {
			break
		}
	}
	return nil
}

func (s *nssStore) Manual(certPath string) ManualStep {
	if s.kind == StoreFirefox {
		return ManualStep{How: ImportFirefox, CertPath: certPath}
	}
	return ManualStep{How: ImportNSS, CertPath: certPath,
		Commands: []string{"certutil -d " + shellArg(s.db()) + " -A -t C,, -n kfsidebar -i " + shellArg(certPath)}}
}

// nssEntry is one line of `certutil -L`.
type nssEntry struct {
	nickname string
	trust    string // "C,," : SSL, S/MIME, object signing
}

// trustedForTLS reports whether the SSL field of the trust flags makes the
// certificate a trusted CA for servers ("C"; "T" is for client auth only).
func (e nssEntry) trustedForTLS() bool {
	ssl, _, _ := strings.Cut(e.trust, ",")
	return strings.Contains(ssl, "C")
}

// ours returns the database entries whose certificate is ca's, whatever
// their nickname: someone may have imported it by hand under another name.
func (s *nssStore) ours(ctx context.Context, ca *CA) ([]nssEntry, error) {
	out, err := s.run(ctx, s.certutil, "-L", "-d", s.db())
	if err != nil {
		return nil, fmt.Errorf("list nss database: %w", err)
	}
	var mine []nssEntry
	for _, e := range parseCertutilList(string(out)) {
		pem, err := s.run(ctx, s.certutil, "-L", "-d", s.db(), "-n", e.nickname, "-a")
		if err != nil {
			continue // a nickname that names a key or a token object, not a certificate
		}
		if pemContains(pem, ca.Cert.Raw) {
			mine = append(mine, e)
		}
	}
	return mine, nil
}

var trustFlagsRE = regexp.MustCompile(`^[A-Za-z]*,[A-Za-z]*,[A-Za-z]*$`)

// parseCertutilList reads the table `certutil -L` prints: a header, then
// one line per certificate, the nickname (which may hold spaces) padded to
// a column, then the trust flags. Duplicate nicknames are listed once.
func parseCertutilList(out string) []nssEntry {
	var entries []nssEntry
	for _, line := range strings.Split(out, "\n") {
		line = strings.TrimRight(line, " \r\t")
		fields := strings.Fields(line)
		if len(fields) < 2 {
			continue
		}
		flags := fields[len(fields)-1]
		if !trustFlagsRE.MatchString(flags) || strings.HasPrefix(strings.TrimSpace(line), "SSL,S/MIME") {
			continue
		}
		nick := strings.TrimSpace(strings.TrimSuffix(line, flags))
		if nick == "" || slices.ContainsFunc(entries, func(e nssEntry) bool { return e.nickname == nick }) {
			continue
		}
		entries = append(entries, nssEntry{nickname: nick, trust: flags})
	}
	return entries
}

// nssNickname names the CA in an NSS database after its CommonName, which
// tells this workstation's CA from any other (it carries the host name, the
// date and a random tag).
func nssNickname(ca *CA) string {
	if cn := ca.Cert.Subject.CommonName; cn != "" {
		return cn
	}
	return "kfsidebar local CA"
}

// tildePath shows path relative to home as ~/…, the way users write it.
func tildePath(home, path string) string {
	if home != "" {
		if rel, err := filepath.Rel(home, path); err == nil && rel != "." && !strings.HasPrefix(rel, "..") {
			return filepath.Join("~", rel)
		}
	}
	return path
}

// shellArg quotes s for a command line shown to the user, when it needs it.
func shellArg(s string) string {
	if s != "" && !strings.ContainsAny(s, " \t'\"$&;|<>()*?![]{}`\\#~") {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// isPermission reports whether err means the user may not write there.
func isPermission(err error) bool { return errors.Is(err, fs.ErrPermission) }
