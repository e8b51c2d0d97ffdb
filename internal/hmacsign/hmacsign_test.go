package hmacsign_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/kfsidebar/kfsidebar/examples/shopapi/shop"
	"github.com/kfsidebar/kfsidebar/internal/hmacsign"
)

// TestSignatureVector pins the scheme to a value computed outside Go:
//
//	printf 'POST\n/hooks/wechat?x=1\n1700000000\n0011…eeff\n<sha256 hex of body>' |
//	    openssl dgst -sha256 -hmac 'a-secret-of-16-bytes'
func TestSignatureVector(t *testing.T) {
	got := hmacsign.Signature([]byte("a-secret-of-16-bytes"), "post", "/hooks/wechat?x=1",
		"1700000000", "00112233445566778899aabbccddeeff", []byte(`{"a":1}`))
	const want = "4f2c29da20acba9974d4bf2593fa25132a0196bb3830818e36ecf2fc28ce11dc"
	if got != want {
		t.Errorf("Signature = %s, want %s", got, want)
	}
}

// TestSignAcceptedByShopVerifier checks, over real HTTP, that a shop that
// copied the example verifier accepts what Sign produces and refuses a body
// changed on the way.
func TestSignAcceptedByShopVerifier(t *testing.T) {
	secret := []byte("a-secret-of-16-bytes")
	v := &shop.Verifier{Secret: secret}
	srv := httptest.NewServer(v.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})))
	defer srv.Close()
	tests := []struct {
		name       string
		signed     []byte
		sent       []byte
		wantStatus int
	}{
		{"intact", []byte(`{"MsgType":"text"}`), []byte(`{"MsgType":"text"}`), http.StatusOK},
		{"changed body", []byte(`{"MsgType":"text"}`), []byte(`{"MsgType":"event"}`), http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodPost, srv.URL+"/hooks/wechat?src=gw", bytes.NewReader(tt.sent))
			if err != nil {
				t.Fatal(err)
			}
			if err := hmacsign.Sign(req, tt.signed, secret, time.Now()); err != nil {
				t.Fatal(err)
			}
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.wantStatus {
				t.Errorf("status = %d, want %d", resp.StatusCode, tt.wantStatus)
			}
		})
	}
}
