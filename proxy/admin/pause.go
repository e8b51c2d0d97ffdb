package admin

import (
	"net/http"
	"sync"
)

// Switch is the agent's pause switch. The tray turns it through POST
// /pause and /resume; the PAC, the proxy's injection and the sidebar hub
// read it. The zero value is off; a nil *Switch is always off.
type Switch struct {
	mu       sync.Mutex
	on       bool
	onChange []func(paused bool)
}

// On reports whether kfsidebar is paused.
func (s *Switch) On() bool {
	if s == nil {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.on
}

// Set pauses (true) or resumes kfsidebar and, when that changes
// anything, calls every OnChange function, in order, outside the lock.
func (s *Switch) Set(paused bool) {
	s.mu.Lock()
	changed := s.on != paused
	s.on = paused
	fns := s.onChange
	s.mu.Unlock()
	if changed {
		for _, f := range fns {
			f(paused)
		}
	}
}

// OnChange adds f to the functions Set calls on a change (the sidebar
// hub tells every open sidebar). f must not block.
func (s *Switch) OnChange(f func(paused bool)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.onChange = append(s.onChange, f)
}

// ControlHeader must be present, with any value, on the control requests
// (POST /pause, POST /resume). A web page cannot send it to another origin
// without a CORS preflight, which kfsidebar never grants, and a form cannot
// send it at all; together with the refusal of any request that carries
// an Origin (every browser's POST does), no web page can pause kfsidebar.
const ControlHeader = "X-Kfsidebar-Control"

// control answers a control request: 204 after do, 403 when the request
// may come from a web page.
func control(do func()) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get(ControlHeader) == "" || r.Header.Get("Origin") != "" || r.Header.Get("Sec-Fetch-Site") != "" {
			http.Error(w, "kfsidebar: control requests come from kfsidebar's own programs\n", http.StatusForbidden)
			return
		}
		do()
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusNoContent)
	})
}
