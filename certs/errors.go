package certs

import "errors"

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
)
