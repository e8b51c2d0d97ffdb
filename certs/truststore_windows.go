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

// find calls f with a duplicate of each context in the store whose
// encoding is exactly ca's; f owns the duplicate.
func (windowsRootStore) find(ca *CA, f func(*windows.CertContext) error) (int, error) {
	store, err := openRootStore()
	if err != nil {
		return 0, err
	}
	defer windows.CertCloseStore(store, 0)
	var n int
	var cur *windows.CertContext
	for {
		cur, err = windows.CertEnumCertificatesInStore(store, cur)
		if cur == nil {
			if errors.Is(err, windows.Errno(windows.CRYPT_E_NOT_FOUND)) || err == nil {
				return n, nil
			}
			return n, fmt.Errorf("read windows root store: %w", err)
		}
		der := unsafe.Slice(cur.EncodedCert, cur.Length)
		if bytes.Equal(der, ca.Cert.Raw) {
			n++
			if err := f(windows.CertDuplicateCertificateContext(cur)); err != nil {
				windows.CertFreeCertificateContext(cur)
				return n, err
			}
		}
	}
}

func (s windowsRootStore) Trusted(_ context.Context, ca *CA) (bool, error) {
	n, err := s.find(ca, func(c *windows.CertContext) error { return windows.CertFreeCertificateContext(c) })
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

func (s windowsRootStore) Uninstall(_ context.Context, ca *CA) (bool, error) {
	n, err := s.find(ca, func(c *windows.CertContext) error {
		// CertDeleteCertificateFromStore frees the context it is given.
		if err := windows.CertDeleteCertificateFromStore(c); err != nil {
			return fmt.Errorf("remove from windows root store: %w", err)
		}
		return nil
	})
	return n > 0, err
}

func (windowsRootStore) Manual(certPath string) string {
	return fmt.Sprintf("run: certutil -user -addstore Root \"%s\"\n"+
		"or double-click %s → Install Certificate → Current User → “Place all certificates in the following store” → Trusted Root Certification Authorities",
		certPath, certPath)
}
