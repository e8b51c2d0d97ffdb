package main

import (
	"errors"
	"path/filepath"
	"strings"

	"github.com/kfsidebar/kfsidebar/certs"
	"github.com/kfsidebar/kfsidebar/internal/msg"
	"github.com/kfsidebar/kfsidebar/internal/sysproxy"
)

// sayErr is err for a person, in p's language: the part of it whose kind
// the catalog knows (sysproxy.UnsupportedError, certs.StoreError,
// certs.CAError, certs.ErrStoreUnsupported) said through internal/msg.
// In English that part takes its place in err's text, which reads as
// err.Error() does; in Chinese it stands alone, without the English words
// around it (what was being done: "load ca: "). Other errors, the system
// tools' own words, stay as they come. The result wraps err, so errors.Is
// and errors.As still see what it is.
func sayErr(p msg.Printer, err error) error {
	if err == nil {
		return nil
	}
	said, part := sayKnown(p, err)
	if part == nil {
		return err
	}
	if p.Lang == msg.English {
		said = strings.Replace(err.Error(), part.Error(), said, 1)
	}
	return saidError{text: said, err: err}
}

// saidError is an error said in the user's language that still is the
// error it says, for errors.Is and errors.As.
type saidError struct {
	text string
	err  error
}

func (e saidError) Error() string { return e.text }
func (e saidError) Unwrap() error { return e.err }

// sayKnown finds the part of err the catalog knows, and says it; part is
// nil when there is none.
func sayKnown(p msg.Printer, err error) (said string, part error) {
	var unsupported *sysproxy.UnsupportedError
	var store *certs.StoreError
	var ca *certs.CAError
	switch {
	case errors.As(err, &unsupported):
		return sayUnsupported(p, unsupported), unsupported
	case errors.As(err, &store):
		return sayStoreError(p, store), store
	case errors.As(err, &ca):
		return sayCAError(p, ca), ca
	case errors.Is(err, certs.ErrStoreUnsupported):
		return p.Sprintf(msg.CAStoreUnsupported), certs.ErrStoreUnsupported
	}
	return "", nil
}

// sayUnsupported says why kfsidebar cannot change the proxy settings.
func sayUnsupported(p msg.Printer, e *sysproxy.UnsupportedError) string {
	switch e.Why {
	case sysproxy.NoGSettings:
		return p.Sprintf(msg.ProxyNoGSettings)
	case sysproxy.NoNetworkService:
		return p.Sprintf(msg.ProxyNoNetService)
	}
	desktop := e.Desktop
	if desktop == "" {
		desktop = p.Sprintf(msg.ProxyNoDesktop)
	}
	return p.Sprintf(msg.ProxyUnsupportedDesktop, desktop)
}

// sayStoreError says what a trust store could not do.
func sayStoreError(p msg.Printer, e *certs.StoreError) string {
	switch e.Kind {
	case certs.ErrNoCertutil:
		return p.Sprintf(msg.CANoCertutil)
	case certs.ErrNeedsAdmin:
		return p.Sprintf(msg.CANeedsAdmin, e.Dir)
	case certs.ErrNoDatabase:
		return p.Sprintf(msg.CANoDatabase, e.Dir)
	case certs.ErrNotTrusted:
		return p.Sprintf(msg.CAStillUntrusted)
	case certs.ErrStillTrusted:
		return p.Sprintf(msg.CAStillTrusted)
	}
	return e.Error()
}

// sayCAError says why the CA kept in the data directory cannot be used.
func sayCAError(p msg.Printer, e *certs.CAError) string {
	cert, key := filepath.Join(e.Dir, certs.CertFile), filepath.Join(e.Dir, certs.KeyFile)
	switch {
	case e.Kind == certs.ErrHostsChanged:
		return p.Sprintf(msg.CAHostsChanged, e.Dir, strings.Join(e.Have, ","), strings.Join(e.Want, ","), cert, key)
	case e.Kind == certs.ErrCAExpired && e.Expired:
		return p.Sprintf(msg.CAExpiredOn, e.Dir, e.Day(), cert, key)
	case e.Kind == certs.ErrCAExpired:
		return p.Sprintf(msg.CAExpiresOn, e.Dir, e.Day(), cert, key)
	case e.Kind == certs.ErrIncompleteCA && e.Missing == certs.KeyFile:
		return p.Sprintf(msg.CANoKey, cert, key, cert)
	case e.Kind == certs.ErrIncompleteCA:
		return p.Sprintf(msg.CANoCert, key, cert, key)
	}
	return e.Error()
}

// sayManual is the step to take by hand, in p's language; "" for none.
func sayManual(p msg.Printer, m certs.ManualStep) string {
	switch m.How {
	case certs.ImportNSS:
		return p.Sprintf(msg.CAByHandNSS, m.Commands[0], m.CertPath)
	case certs.ImportFirefox:
		return p.Sprintf(msg.CAByHandFirefox, m.CertPath)
	case certs.AddAnchor:
		return p.Sprintf(msg.CAByHandAnchor, m.Commands[0], m.Commands[1])
	case certs.AddToDistribution:
		return p.Sprintf(msg.CAByHandDistribution, m.CertPath)
	case certs.AddToSystem:
		return p.Sprintf(msg.CAByHandSystem, m.CertPath)
	case certs.AddToKeychain:
		return p.Sprintf(msg.CAByHandKeychain, m.Commands[0], m.CertPath)
	case certs.TrustInKeychainAccess:
		return p.Sprintf(msg.CAByHandKeychainAccess, m.CertPath)
	case certs.AddToWindows:
		return p.Sprintf(msg.CAByHandWindows, m.Commands[0], m.CertPath)
	case certs.RemoveByHand:
		return p.Sprintf(msg.CAByHandRemove, m.CAName, m.Store)
	}
	return ""
}
