package certs

import (
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// The Windows root store's removal, kept free of crypt32 so that its
// bounds are tested on every platform (truststore_windows.go has the
// crypt32 side). Under Wine 8, deleting a root from the user's system
// store reports success while the certificate stays, and enumerating after
// a delete starts over: the unbounded delete-while-enumerating loop this
// replaces spun at full CPU for ever. Now the store is read to its end
// (bounded), then each copy found is deleted once, and the store is read
// again to see; after maxRemovePasses the copies still there are reported.
const (
	// maxRemovePasses is how many times Uninstall reads the store and
	// deletes what it found: once normally; the second and third read
	// catch a copy added meanwhile or a delete that did not take.
	maxRemovePasses = 3
	// maxEnumerated bounds one reading of the store. A user's root store
	// holds tens to a few hundred roots; an enumeration longer than this
	// is going round in circles.
	maxEnumerated = 10000
)

// errEnumerationLoops means the store's enumeration did not end: it went
// past maxEnumerated certificates or returned one it had returned before.
var errEnumerationLoops = errors.New("the store's list of certificates does not end (it repeats itself)")

// storeCert is one certificate an enumeration returned: its identity in
// this enumeration (the context's address), its DER encoding, and what
// deletes it from the store.
type storeCert struct {
	id     uintptr
	der    []byte
	delete func() error
}

// storeReader reads one store: each call of next returns the following
// certificate, ok false at the end. close ends the reading (and frees
// what the reading kept).
type storeReader interface {
	next() (c storeCert, ok bool, err error)
	close()
}

// copiesIn reads the whole store once and returns every certificate whose
// encoding is der, without deleting anything while it reads.
func copiesIn(r storeReader, der []byte) ([]storeCert, error) {
	var found []storeCert
	seen := map[uintptr]bool{}
	for n := 0; ; n++ {
		c, ok, err := r.next()
		if err != nil {
			return found, err
		}
		if !ok {
			return found, nil
		}
		if n >= maxEnumerated || seen[c.id] {
			return found, errEnumerationLoops
		}
		seen[c.id] = true
		if string(c.der) == string(der) {
			found = append(found, c)
		}
	}
}

// removeFromStore removes every copy of der from the store open opens,
// in at most maxRemovePasses passes, and reports how many deletes were
// made. If copies remain, the error says how many, with the certificate's
// SHA-1 thumbprint (what certmgr.msc and certutil -user -delstore show).
func removeFromStore(open func() (storeReader, error), der []byte) (deleted int, err error) {
	var deleteErrs []error
	for pass := 0; ; pass++ {
		r, err := open()
		if err != nil {
			return deleted, err
		}
		found, err := copiesIn(r, der)
		loops := errors.Is(err, errEnumerationLoops)
		switch {
		case err != nil && !loops:
			r.close()
			return deleted, fmt.Errorf("read windows root store: %w", err)
		case len(found) == 0 && !loops:
			r.close()
			return deleted, nil
		case pass == maxRemovePasses || len(deleteErrs) > 0:
			r.close()
			return deleted, stillThere(der, len(found), pass, err, deleteErrs)
		}
		for _, c := range found { // each copy once per pass, after the reading
			if err := c.delete(); err != nil {
				deleteErrs = append(deleteErrs, err)
				continue
			}
			deleted++
		}
		r.close()
	}
}

// stillThere is the error for copies Uninstall could not remove.
func stillThere(der []byte, n, passes int, loops error, deleteErrs []error) error {
	thumb := thumbprint(der)
	var b strings.Builder
	if n > 0 {
		fmt.Fprintf(&b, "%d cop%s of the certificate with SHA-1 thumbprint %s still in the windows root store after %d attempt(s) to delete",
			n, map[bool]string{true: "y", false: "ies"}[n == 1], thumb, passes)
	} else {
		fmt.Fprintf(&b, "could not check that the certificate with SHA-1 thumbprint %s is gone from the windows root store", thumb)
	}
	if loops != nil {
		b.WriteString(": " + loops.Error())
	}
	fmt.Fprintf(&b, "; remove it by hand: certutil -user -delstore Root %s, or certmgr.msc → Trusted Root Certification Authorities", thumb)
	errs := append([]error{ErrStillInStore}, deleteErrs...)
	return fmt.Errorf("%s: %w", b.String(), errors.Join(errs...))
}

// thumbprint is the SHA-1 of a certificate as Windows shows it.
func thumbprint(der []byte) string {
	sum := sha1.Sum(der)
	return strings.ToUpper(hex.EncodeToString(sum[:]))
}
