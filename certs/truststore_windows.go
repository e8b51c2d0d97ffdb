//go:build windows

package certs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"unsafe"

	"golang.org/x/sys/windows"
)

// Chrome and Edge on Windows use the Windows stores, and Firefox 120+ reads
// roots the user added there; no NSS database needs changing.
const chromeUsesNSS = false

// firefoxProfileRoots is empty: Windows has no NSS certutil, and Firefox
// 120+ trusts the roots in the Windows store.
func firefoxProfileRoots(string) []string { return nil }

func systemStore() TrustStore { return windowsRootStore{} }

// windowsRootStore is the current user's "Trusted Root Certification
// Authorities" store, changed through crypt32 directly. It needs no
// administrator rights; Windows shows its own confirmation dialog when a
// root is added or removed, which the user must answer with Yes.
type windowsRootStore struct{}

func (windowsRootStore) Kind() StoreKind { return StoreSystem }

func (windowsRootStore) Name() string {
	return "Windows current-user Root store (Chrome, Edge, Firefox 120+)"
}

func openRootStore() (windows.Handle, error) {
	name, err := windows.UTF16PtrFromString("ROOT")
	if err != nil {
		return 0, err
	}
	h, err := windows.CertOpenSystemStore(0, name)
	if err != nil {
		return 0, fmt.Errorf("open windows root store: %w", err)
	}
	return h, nil
}

// rootReader reads the user's root store once (a storeReader). Each
// certificate it returns holds a duplicate context, freed by close unless
// its delete (CertDeleteCertificateFromStore, which frees it) ran.
type rootReader struct {
	store windows.Handle
	cur   *windows.CertContext
	kept  map[*windows.CertContext]bool // duplicates not yet freed
	done  bool
}

func openRootReader() (storeReader, error) {
	store, err := openRootStore()
	if err != nil {
		return nil, err
	}
	return &rootReader{store: store, kept: map[*windows.CertContext]bool{}}, nil
}

func (r *rootReader) next() (storeCert, bool, error) {
	if r.done {
		return storeCert{}, false, nil
	}
	cur, err := windows.CertEnumCertificatesInStore(r.store, r.cur)
	r.cur = cur
	if cur == nil {
		r.done = true
		if errors.Is(err, windows.Errno(windows.CRYPT_E_NOT_FOUND)) || err == nil {
			return storeCert{}, false, nil
		}
		return storeCert{}, false, err
	}
	// A duplicate outlives the enumeration, which frees cur at the next
	// call: the deletes come after the whole store has been read.
	dup := windows.CertDuplicateCertificateContext(cur)
	r.kept[dup] = true
	c := storeCert{id: uintptr(unsafe.Pointer(cur)), der: bytes.Clone(unsafe.Slice(cur.EncodedCert, cur.Length))}
	c.delete = func() error {
		delete(r.kept, dup) // CertDeleteCertificateFromStore frees dup, even when it fails
		if err := windows.CertDeleteCertificateFromStore(dup); err != nil {
			if errors.Is(err, windows.ERROR_CANCELLED) {
				return fmt.Errorf("remove from windows root store: you answered No in Windows' security warning: %w", err)
			}
			return fmt.Errorf("remove from windows root store: %w", err)
		}
		return nil
	}
	return c, true, nil
}

func (r *rootReader) close() {
	for c := range r.kept {
		windows.CertFreeCertificateContext(c)
	}
	if r.cur != nil && !r.done {
		windows.CertFreeCertificateContext(r.cur) // an enumeration stopped early
	}
	windows.CertCloseStore(r.store, 0)
}

// count reports how many copies of ca the store holds.
func (windowsRootStore) count(ca *CA) (int, error) {
	r, err := openRootReader()
	if err != nil {
		return 0, err
	}
	defer r.close()
	found, err := copiesIn(r, ca.Cert.Raw)
	if err != nil {
		return len(found), fmt.Errorf("read windows root store: %w", err)
	}
	return len(found), nil
}

func (s windowsRootStore) Trusted(_ context.Context, ca *CA) (bool, error) {
	n, err := s.count(ca)
	if err != nil || n == 0 {
		return false, err
	}
	// Go's verifier asks CryptoAPI here, so this is the trust Chrome and
	// Edge will see.
	return verifyLeaf(ca, nil) == nil, nil
}

func (windowsRootStore) Install(_ context.Context, ca *CA, _ string) error {
	store, err := openRootStore()
	if err != nil {
		return err
	}
	defer windows.CertCloseStore(store, 0)
	ctx, err := windows.CertCreateCertificateContext(windows.X509_ASN_ENCODING|windows.PKCS_7_ASN_ENCODING, &ca.Cert.Raw[0], uint32(len(ca.Cert.Raw)))
	if err != nil {
		return fmt.Errorf("add to windows root store: %w", err)
	}
	defer windows.CertFreeCertificateContext(ctx)
	if err := windows.CertAddCertificateContextToStore(store, ctx, windows.CERT_STORE_ADD_REPLACE_EXISTING, nil); err != nil {
		if errors.Is(err, windows.ERROR_CANCELLED) {
			return fmt.Errorf("add to windows root store: you answered No in Windows' security warning; run this again and answer Yes: %w", err)
		}
		return fmt.Errorf("add to windows root store: %w", err)
	}
	return nil
}

// Uninstall deletes every copy of ca, each once per pass, in a bounded
// number of passes (removeFromStore), and says what could not be removed.
func (windowsRootStore) Uninstall(_ context.Context, ca *CA) (bool, error) {
	n, err := removeFromStore(openRootReader, ca.Cert.Raw)
	return n > 0, err
}

func (windowsRootStore) Manual(certPath string) ManualStep {
	return ManualStep{How: AddToWindows, CertPath: certPath, Commands: []string{`certutil -user -addstore Root "` + certPath + `"`}}
}
