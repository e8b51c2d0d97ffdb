// Package shop is the shop's side of kfsidebar's HTTP order backend, as a
// shop would write it: a Verifier that accepts only requests signed with
// the shared secret, and a small API that answers with the demo shop's
// customers in kfsidebar's Customer JSON. It uses only the standard
// library, so a shop can copy verify.go as it is.
package shop

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Why a request is refused.
var (
	ErrUnsigned     = errors.New("missing X-Kfsidebar-Timestamp, X-Kfsidebar-Nonce or X-Kfsidebar-Signature")
	ErrBadSignature = errors.New("signature does not match (wrong secret, or the request was changed on the way)")
	ErrStale        = errors.New("timestamp too far from now (check both clocks)")
	ErrReplay       = errors.New("nonce already used")
)

// DefaultMaxSkew is how far a request's timestamp may be from the shop's
// clock: enough for two unsynchronized PCs, short enough that a captured
// request is soon useless.
const DefaultMaxSkew = 5 * time.Minute

// maxBody bounds the body read to verify a request.
const maxBody = 64 << 10

// Verifier checks kfsidebar's request signature:
//
//	hex(HMAC-SHA256(secret, METHOD + "\n" + PATH_WITH_QUERY + "\n" +
//	    TIMESTAMP + "\n" + NONCE + "\n" + hex(SHA-256(body))))
//
// and remembers nonces for twice MaxSkew, so a request cannot be replayed.
type Verifier struct {
	// Secret is the key shared with kfsidebar (its secret or secret_env).
	Secret []byte
	// MaxSkew defaults to DefaultMaxSkew.
	MaxSkew time.Duration
	// Now defaults to time.Now.
	Now func() time.Time

	mu        sync.Mutex
	seen      map[string]time.Time // nonce → when it may be forgotten
	lastPrune time.Time
}

// Verify checks the request whose body is body.
func (v *Verifier) Verify(r *http.Request, body []byte) error {
	ts, nonce, sig := r.Header.Get("X-Kfsidebar-Timestamp"), r.Header.Get("X-Kfsidebar-Nonce"), r.Header.Get("X-Kfsidebar-Signature")
	if ts == "" || nonce == "" || sig == "" {
		return ErrUnsigned
	}
	now, skew := time.Now(), v.MaxSkew
	if v.Now != nil {
		now = v.Now()
	}
	if skew <= 0 {
		skew = DefaultMaxSkew
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return ErrUnsigned
	}
	if d := now.Sub(time.Unix(sec, 0)); d > skew || d < -skew {
		return ErrStale
	}
	// The request target exactly as the client sent it.
	target := r.RequestURI
	if target == "" {
		target = r.URL.RequestURI()
	}
	sum := sha256.Sum256(body)
	mac := hmac.New(sha256.New, v.Secret)
	io.WriteString(mac, strings.ToUpper(r.Method)+"\n"+target+"\n"+ts+"\n"+nonce+"\n"+hex.EncodeToString(sum[:]))
	got, err := hex.DecodeString(sig)
	if err != nil || !hmac.Equal(got, mac.Sum(nil)) {
		return ErrBadSignature
	}

	v.mu.Lock()
	defer v.mu.Unlock()
	if v.seen == nil {
		v.seen = map[string]time.Time{}
	}
	if now.Sub(v.lastPrune) > skew {
		for n, until := range v.seen {
			if now.After(until) {
				delete(v.seen, n)
			}
		}
		v.lastPrune = now
	}
	if until, ok := v.seen[nonce]; ok && !now.After(until) {
		return ErrReplay
	}
	v.seen[nonce] = now.Add(2 * skew)
	return nil
}

// Require answers 401 to any request that fails Verify and passes the
// others on, with their body intact.
func (v *Verifier) Require(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, maxBody))
		if err != nil {
			http.Error(w, "cannot read the request", http.StatusBadRequest)
			return
		}
		if err := v.Verify(r, body); err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		next.ServeHTTP(w, r)
	})
}
