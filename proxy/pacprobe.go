package proxy

import (
	"io"
	"net/http"
	"strings"

	"github.com/kfsidebar/kfsidebar/proxy/console"
)

// isPACProbe matches the proxy requests for console.PACProbeHost, which the front
// answers itself (pacProbeResponse) instead of forwarding.
func isPACProbe(r *http.Request) bool {
	return r.URL.IsAbs() && strings.EqualFold(r.URL.Hostname(), console.PACProbeHost)
}

// pacProbeResponse tells the status page (any origin may read it: it
// holds nothing but "yes, through kfsidebar") that the request came
// through the proxy.
func pacProbeResponse(r *http.Request) *http.Response {
	body := `{"kfsidebar":true}`
	return &http.Response{
		StatusCode: http.StatusOK,
		Status:     "200 OK",
		Proto:      "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: http.Header{
			"Content-Type":                {"application/json"},
			"Cache-Control":               {"no-store"},
			"Access-Control-Allow-Origin": {"*"},
		},
		Body:          io.NopCloser(strings.NewReader(body)),
		ContentLength: int64(len(body)),
		Request:       r,
	}
}
