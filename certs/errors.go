package certs

import (
	"errors"
	"path/filepath"
	"strings"
	"time"
)

// Sentinel errors, so callers (the CLI above all) can tell a person what to do
// with errors.Is instead of matching message text. The wrapped messages carry
// the details: which host, which file, which date.
var (
	// ErrNoHosts means Options.Hosts is empty. A CA without name
	// constraints could impersonate every site, so kfsidebar never makes one.
	ErrNoHosts = errors.New("no hosts for the ca")

	// ErrInvalidHost means a host in Options.Hosts is empty, an IP address or
	// not a DNS name. Name constraints are DNS-only and IPs are excluded
	// outright, so such a host could never get a usable leaf.
	ErrInvalidHost = errors.New("invalid host")

	// ErrHostsChanged means the CA on disk is constrained to other hosts than
	// the configuration asks for. The constraints are inside the signed
	// certificate, so the only fix is a new CA that the user trusts again.
	ErrHostsChanged = errors.New("ca hosts changed")

	// ErrCAExpired means the CA on disk has expired or expires within 30
	// days. It is reported early so the user re-trusts a new CA at a time of
	// their choosing rather than when the console suddenly stops loading.
	ErrCAExpired = errors.New("ca expired")

	// ErrIncompleteCA means only one of ca.pem and ca-key.pem exists. That is
	// never repaired silently: the missing half may be somewhere the user
	// moved it, and overwriting the other half would lose a trusted CA.
	ErrIncompleteCA = errors.New("ca incomplete")

	// ErrInvalidCA means the CA files exist but cannot be used: unreadable
	// PEM, a key that does not match the certificate, or a certificate that
	// is not a name-constrained CA.
	ErrInvalidCA = errors.New("invalid ca")

	// ErrHostNotPermitted means a leaf was asked for a host outside the CA's
	// hosts (or for an IP address). Browsers would reject such a leaf
	// because of the name constraints, so none is minted.
	ErrHostNotPermitted = errors.New("host not permitted by the ca")

	// ErrNoSNI means a TLS client sent no server name, so there is no way to
	// pick a leaf. The proxy knows the CONNECT host and handles that case.
	ErrNoSNI = errors.New("tls client sent no server name")

	// ErrNotTrusted means a trust store was changed but still does not
	// trust the CA when asked again: the step has to be done by hand.
	ErrNotTrusted = errors.New("ca not trusted")

	// ErrNoCertutil means an NSS database (Chrome on Linux, Firefox) was
	// found but NSS's certutil was not, so kfsidebar cannot change it.
	ErrNoCertutil = errors.New("certutil not found")

	// ErrNeedsAdmin means the store can only be changed by an
	// administrator (the Linux system store for a normal user).
	ErrNeedsAdmin = errors.New("needs root (administrator rights)")

	// ErrStoreUnsupported means kfsidebar does not know how to change this
	// kind of store on this system (an unknown Linux distribution).
	ErrStoreUnsupported = errors.New("trust store not supported here")

	// ErrStillInStore means Uninstall deleted the CA from a store as often
	// as it tries, and it is still there: it must be removed by hand.
	ErrStillInStore = errors.New("ca still in the store")

	// ErrNoDatabase means a Firefox profile's NSS database is gone:
	// kfsidebar makes only Chrome's, which Chrome would make itself.
	ErrNoDatabase = errors.New("no certificate database")

	// ErrStillTrusted means UninstallTrust removed the CA from a store
	// that still trusts it afterwards: it is there twice, or an
	// administrator put it there.
	ErrStillTrusted = errors.New("ca still trusted")
)

// StoreError is a trust store's error of a kind the sentinels name
// (ErrNoCertutil, ErrNeedsAdmin, ErrNoDatabase, ErrNotTrusted,
// ErrStillTrusted) with its facts as fields, so that the command line can
// say it in the user's language. Error says it in English, for the logs
// and for English users; errors.Is sees Kind.
type StoreError struct {
	Kind error
	// Dir is the directory concerned: the one only root may write
	// (ErrNeedsAdmin), the missing database's (ErrNoDatabase).
	Dir string
}

func (e *StoreError) Error() string {
	switch e.Kind {
	case ErrNoCertutil:
		return ErrNoCertutil.Error() + ": install NSS's tools (Debian, Ubuntu: sudo apt install libnss3-tools) and run this again"
	case ErrNeedsAdmin:
		return ErrNeedsAdmin.Error() + ": " + e.Dir + " is writable only by root"
	case ErrNoDatabase:
		return ErrNoDatabase.Error() + " in " + e.Dir
	case ErrNotTrusted:
		return ErrNotTrusted.Error() + ": installed, but the store still does not trust it"
	case ErrStillTrusted:
		return "removed, but the store still trusts it (is it installed twice, or by an administrator?)"
	}
	return e.Kind.Error()
}

// Unwrap returns Kind, for errors.Is.
func (e *StoreError) Unwrap() error { return e.Kind }

// CAError is LoadOrCreate's refusal of the CA kept in Dir, of a kind the
// sentinels name (ErrHostsChanged, ErrCAExpired, ErrIncompleteCA) with its
// facts as fields, so that the command line can say it in the user's
// language. Error says it in English, with what to do; errors.Is sees
// Kind.
type CAError struct {
	Kind error
	Dir  string
	// Have and Want are the CA's hosts and the configuration's
	// (ErrHostsChanged).
	Have, Want []string
	// NotAfter is when the CA expires, Expired whether that is past
	// (ErrCAExpired).
	NotAfter time.Time
	Expired  bool
	// Missing is the file of the pair that is gone, KeyFile or CertFile
	// (ErrIncompleteCA).
	Missing string
}

func (e *CAError) Error() string {
	cert, key := filepath.Join(e.Dir, CertFile), filepath.Join(e.Dir, KeyFile)
	switch {
	case e.Kind == ErrHostsChanged:
		return ErrHostsChanged.Error() + ": the CA in " + e.Dir + " is limited to " + strings.Join(e.Have, ",") + " but the config asks for " + strings.Join(e.Want, ",") + ": " + moveAway(e.Dir)
	case e.Kind == ErrCAExpired && e.Expired:
		return ErrCAExpired.Error() + ": the CA in " + e.Dir + " expired on " + e.Day() + ": " + moveAway(e.Dir)
	case e.Kind == ErrCAExpired:
		return ErrCAExpired.Error() + ": the CA in " + e.Dir + " expires on " + e.Day() + ": " + moveAway(e.Dir)
	case e.Kind == ErrIncompleteCA && e.Missing == KeyFile:
		return ErrIncompleteCA.Error() + ": " + cert + " exists but its key " + key + " is missing: put the key back, or move " + cert + " away to make a new CA, then trust the new one"
	case e.Kind == ErrIncompleteCA:
		return ErrIncompleteCA.Error() + ": " + key + " exists but its certificate " + cert + " is missing: put the certificate back, or move " + key + " away to make a new CA, then trust the new one"
	}
	return e.Kind.Error()
}

// Day is NotAfter's day, as the errors write it.
func (e *CAError) Day() string { return e.NotAfter.Format("2006-01-02") }

// Unwrap returns Kind, for errors.Is.
func (e *CAError) Unwrap() error { return e.Kind }
