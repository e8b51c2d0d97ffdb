// Package hmacsign is kfsidebar's one signature for the requests it makes to
// the shop's own systems (the http order backend's lookups, the push
// gateway's deliveries), so that a shop verifies both with the same few
// lines (examples/shopapi/shop/verify.go):
//
//	X-Kfsidebar-Timestamp: unix seconds
//	X-Kfsidebar-Nonce:     32 hex digits, random per request
//	X-Kfsidebar-Signature: hex(HMAC-SHA256(secret,
//	        METHOD + "\n" + PATH_WITH_QUERY + "\n" + TIMESTAMP + "\n" +
//	        NONCE + "\n" + hex(SHA-256(body))))
//
// The http order backend (sidebar/shop/shophttp) and the gateway (push)
// both sign with it.
package hmacsign

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// The request headers of the scheme.
const (
	HeaderTimestamp = "X-Kfsidebar-Timestamp"
	HeaderNonce     = "X-Kfsidebar-Nonce"
	HeaderSignature = "X-Kfsidebar-Signature"
)

// Sign adds the timestamp, nonce and signature headers to req, whose body
// is body (nil for none). The target signed is req.URL.RequestURI(), which
// is what net/http sends.
func Sign(req *http.Request, body, secret []byte, now time.Time) error {
	var nonce [16]byte
	if _, err := rand.Read(nonce[:]); err != nil {
		return fmt.Errorf("sign request: %w", err)
	}
	ts := strconv.FormatInt(now.Unix(), 10)
	n := hex.EncodeToString(nonce[:])
	req.Header.Set(HeaderTimestamp, ts)
	req.Header.Set(HeaderNonce, n)
	req.Header.Set(HeaderSignature, Signature(secret, req.Method, req.URL.RequestURI(), ts, n, body))
	return nil
}

// Signature computes the X-Kfsidebar-Signature value.
func Signature(secret []byte, method, pathWithQuery, timestamp, nonce string, body []byte) string {
	sum := sha256.Sum256(body)
	mac := hmac.New(sha256.New, secret)
	io.WriteString(mac, strings.ToUpper(method)+"\n"+pathWithQuery+"\n"+timestamp+"\n"+nonce+"\n"+hex.EncodeToString(sum[:]))
	return hex.EncodeToString(mac.Sum(nil))
}
