package wxcrypto

import (
	"crypto/sha1"
	"crypto/subtle"
	"encoding/hex"
	"slices"
	"strings"
)

// Signature is WeChat's signature: hex(sha1(the parts sorted as byte
// strings, then concatenated)). With (token, timestamp, nonce) it is the
// query's signature (GET verification and every POST); with the Encrypt
// value added it is msg_signature, and the reply's MsgSignature.
func Signature(parts ...string) string {
	s := slices.Clone(parts)
	slices.Sort(s)
	sum := sha1.Sum([]byte(strings.Join(s, "")))
	return hex.EncodeToString(sum[:])
}

// Verify reports whether got (from the query, any case) equals the
// signature of parts. The comparison takes the same time wherever the
// first difference is, so timing cannot guess a signature byte by byte.
func Verify(got string, parts ...string) bool {
	want := Signature(parts...)
	return subtle.ConstantTimeCompare([]byte(strings.ToLower(got)), []byte(want)) == 1
}
