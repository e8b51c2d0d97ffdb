package mpkftest

import (
	"bytes"
	"net/http"
	"testing"
)

func TestAccepts(t *testing.T) {
	tests := []struct {
		header, coding string
		want           bool
	}{
		{"gzip, deflate, br", "gzip", true},
		{"gzip, deflate, br", "br", true},
		{"gzip", "br", false},
		{"", "gzip", false},
		{"*", "deflate", true},
		{"GZIP;q=0.5", "gzip", true},
		{"gzip;q=0", "gzip", false},
		{"gzip; q=0.000", "gzip", false},
		{"*, gzip;q=0", "gzip", false},
		{"br;q=0, *", "gzip", true},
		{"identity", "gzip", false},
	}
	for _, tt := range tests {
		if got := accepts(tt.header, tt.coding); got != tt.want {
			t.Errorf("accepts(%q, %q) = %v, want %v", tt.header, tt.coding, got, tt.want)
		}
	}
}

func TestEncodingNegotiation(t *testing.T) {
	tests := []struct {
		encoding, acceptEncoding, want string
	}{
		{"", "gzip, deflate, br", "gzip"},
		{"gzip", "", ""},
		{"gzip", "gzip;q=0, br", ""},
		{"br", "gzip, deflate, br", "br"},
		{"br", "gzip", ""},
		{"deflate", "deflate", "deflate"},
		{"none", "gzip, deflate, br", ""},
	}
	for _, tt := range tests {
		t.Run(tt.encoding+" "+tt.acceptEncoding, func(t *testing.T) {
			s := newServer(t, Options{Encoding: tt.encoding})
			c := client(s)
			for u, wantText := range map[string]string{
				s.URL(): "林小满", // open at load, in the bootstrap
				cgiURL(s, "kfunaccepted", "getmsglist", nil): "王建国", // waiting
			} {
				h := http.Header{}
				if tt.acceptEncoding != "" {
					h.Set("Accept-Encoding", tt.acceptEncoding)
				}
				resp, body := fetch(t, c, http.MethodGet, u, nil, h)
				if got := resp.Header.Get("Content-Encoding"); got != tt.want {
					t.Errorf("GET %s Content-Encoding = %q, want %q", u, got, tt.want)
				}
				if !bytes.Contains(body, []byte(wantText)) {
					t.Errorf("GET %s: decoded body lacks %s: %.200s", u, wantText, body)
				}
				if vary := resp.Header.Get("Vary"); vary != "Accept-Encoding" {
					t.Errorf("GET %s Vary = %q, want Accept-Encoding", u, vary)
				}
			}
		})
	}
}
