package shophttp_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	shopapi "github.com/kfsidebar/kfsidebar/examples/shopapi/shop"
	"github.com/kfsidebar/kfsidebar/internal/hmacsign"
)

// TestExampleVerifierRejectsReplay sends one signed request twice.
func TestExampleVerifierRejectsReplay(t *testing.T) {
	v := &shopapi.Verifier{Secret: []byte(testSecret)}
	req := httptest.NewRequest(http.MethodGet, "/kfsidebar/customers/by-openid/oA1", nil)
	if err := hmacsign.Sign(req, nil, []byte(testSecret), time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := v.Verify(req, nil); err != nil {
		t.Fatalf("first: %v", err)
	}
	if err := v.Verify(req, nil); !errors.Is(err, shopapi.ErrReplay) {
		t.Fatalf("replay: err = %v, want ErrReplay", err)
	}
	// A changed path, body or method breaks the signature.
	for _, change := range []func() (*http.Request, []byte){
		func() (*http.Request, []byte) {
			r := req.Clone(context.Background())
			r.RequestURI = "/kfsidebar/customers/by-openid/oB2"
			return r, nil
		},
		func() (*http.Request, []byte) { return req.Clone(context.Background()), []byte("x") },
		func() (*http.Request, []byte) {
			r := req.Clone(context.Background())
			r.Method = http.MethodPost
			return r, nil
		},
	} {
		r, body := change()
		r.Header.Set(hmacsign.HeaderNonce, "0123456789abcdef0123456789abcdef")
		if err := v.Verify(r, body); !errors.Is(err, shopapi.ErrBadSignature) {
			t.Errorf("changed request: err = %v, want ErrBadSignature", err)
		}
	}
	if err := v.Verify(httptest.NewRequest(http.MethodGet, "/", nil), nil); !errors.Is(err, shopapi.ErrUnsigned) {
		t.Errorf("unsigned: err = %v", err)
	}
}

// TestSignatureKnownAnswers pins the scheme to values computed with
// Python's hmac module, as in docs/backends.md.
func TestSignatureKnownAnswers(t *testing.T) {
	tests := []struct {
		method, target string
		body           string
		want           string
	}{
		{"GET", "/kfsidebar/customers/by-openid/oVx3k5PtYgjmUhBel31iEl2hpChY", "",
			"246ff43f89a146feac458732380f5a02de1d6c0b72a8605f2a99e57a20da34bc"},
		{"post", "/api/kf?shop=7", `{"openid":"oA1"}`,
			"cd00c3b3f1e877996e6413d0c0114fc32b6a784240ac8b0852a688350a085291"},
	}
	for _, tt := range tests {
		got := hmacsign.Signature([]byte(testSecret), tt.method, tt.target, "1795400000", "0123456789abcdef0123456789abcdef", []byte(tt.body))
		if got != tt.want {
			t.Errorf("%s %s: got %s, want %s", tt.method, tt.target, got, tt.want)
		}
	}
}
