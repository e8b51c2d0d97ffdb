package certs

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/kfsidebar/kfsidebar/internal/atomicfile"
)

// anchorStore is a Linux distribution's system trust store: a directory
// of local anchors plus a tool that rebuilds the bundle every TLS library
// reads. Only root can change it; for anyone else kfsidebar says so and
// prints the two commands instead of asking for a password itself.
type anchorStore struct {
	dir     string   // local anchors: /usr/local/share/ca-certificates
	ext     string   // the file extension the update tool picks up
	update  []string // the tool rebuilding the bundle: update-ca-certificates
	bundles []string // the bundle it writes, the first that exists is read
	run     commandRunner
}

func (s *anchorStore) Kind() StoreKind { return StoreSystem }

func (s *anchorStore) Name() string {
	return "Linux system store " + s.dir + " (curl and other programs; not Chrome or Firefox)"
}

// file is where the CA goes: named after its fingerprint, so uninstall
// removes exactly this CA and two kfsidebar CAs never overwrite each other.
func (s *anchorStore) file(ca *CA) string {
	sum := sha256.Sum256(ca.Cert.Raw)
	return filepath.Join(s.dir, "kfsidebar-"+hex.EncodeToString(sum[:8])+s.ext)
}

func (s *anchorStore) bundle() (string, []byte, error) {
	for _, b := range s.bundles {
		data, err := os.ReadFile(b)
		if err == nil {
			return b, data, nil
		}
		if !os.IsNotExist(err) {
			return b, nil, fmt.Errorf("read system bundle: %w", err)
		}
	}
	return "", nil, nil
}

func (s *anchorStore) Trusted(_ context.Context, ca *CA) (bool, error) {
	_, data, err := s.bundle()
	if err != nil || data == nil || !pemContains(data, ca.Cert.Raw) {
		return false, err
	}
	pool, err := poolFromPEM(data)
	if err != nil {
		return false, err
	}
	return verifyLeaf(ca, pool) == nil, nil
}

func (s *anchorStore) Install(ctx context.Context, ca *CA, _ string) error {
	path := s.file(ca)
	if err := atomicfile.Write(path, ca.CertPEM, 0o644); err != nil {
		if isPermission(err) {
			return &StoreError{Kind: ErrNeedsAdmin, Dir: s.dir}
		}
		return fmt.Errorf("add to system store: %w", err)
	}
	if _, err := s.run(ctx, s.update[0], s.update[1:]...); err != nil {
		_ = os.Remove(path)
		_, _ = s.run(ctx, s.update[0], s.update[1:]...)
		return fmt.Errorf("update system store: %w", err)
	}
	return nil
}

func (s *anchorStore) Uninstall(ctx context.Context, ca *CA) (bool, error) {
	files, err := s.ourFiles(ca)
	if err != nil || len(files) == 0 {
		return false, err
	}
	for _, f := range files {
		if err := os.Remove(f); err != nil {
			if isPermission(err) {
				return false, &StoreError{Kind: ErrNeedsAdmin, Dir: s.dir}
			}
			return false, fmt.Errorf("remove from system store: %w", err)
		}
	}
	if _, err := s.run(ctx, s.update[0], s.update[1:]...); err != nil {
		return true, fmt.Errorf("update system store: %w", err)
	}
	return true, nil
}

// ourFiles are the anchors holding exactly ca and nothing else: ours, and
// a copy the user may have put there by hand under another name.
func (s *anchorStore) ourFiles(ca *CA) ([]string, error) {
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		if os.IsNotExist(err) {
			return nil, nil
		}
		return nil, fmt.Errorf("read system store: %w", err)
	}
	var files []string
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		path := filepath.Join(s.dir, e.Name())
		data, err := os.ReadFile(path)
		if err != nil {
			continue
		}
		if pemContains(data, ca.Cert.Raw) && strings.Count(string(data), "-----BEGIN") == 1 {
			files = append(files, path)
		}
	}
	return files, nil
}

func (s *anchorStore) Manual(certPath string) ManualStep {
	return ManualStep{How: AddAnchor, CertPath: certPath, Commands: []string{
		"sudo cp " + shellArg(certPath) + " " + filepath.Join(s.dir, "kfsidebar"+s.ext) + " && sudo " + strings.Join(s.update, " "),
		"sudo kfsidebar ca install --store system --data-dir " + shellArg(filepath.Dir(certPath)),
	}}
}

// unsupportedStore stands for a system store kfsidebar cannot change, so
// that status and install still name it and say what to do.
type unsupportedStore struct {
	name string
	how  How // AddToDistribution, AddToSystem or TrustInKeychainAccess
}

func (s unsupportedStore) Kind() StoreKind { return StoreSystem }
func (s unsupportedStore) Name() string    { return s.name }
func (s unsupportedStore) Trusted(context.Context, *CA) (bool, error) {
	return false, ErrStoreUnsupported
}
func (s unsupportedStore) Install(context.Context, *CA, string) error { return ErrStoreUnsupported }
func (s unsupportedStore) Uninstall(context.Context, *CA) (bool, error) {
	return false, ErrStoreUnsupported
}
func (s unsupportedStore) Manual(certPath string) ManualStep {
	return ManualStep{How: s.how, CertPath: certPath}
}
