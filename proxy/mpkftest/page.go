package mpkftest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html/template"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// routes is the whole server: avatars by Host, the console by path.
func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/cgi-bin/kfindex?token="+url.QueryEscape(s.opts.Token), http.StatusFound)
	})
	mux.HandleFunc("/cgi-bin/kfindex", s.page)
	mux.HandleFunc("/cgi-bin/kfloginpage", s.loginPage)
	mux.HandleFunc("/cgi-bin/{name}", s.cgi)
	mux.HandleFunc(staticPrefix, s.static)
	mux.HandleFunc("/favicon.ico", func(w http.ResponseWriter, r *http.Request) {
		r.URL.Path = favicon
		s.static(w, r)
	})
	mux.HandleFunc(controlPrefix, s.control)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			http.Error(w, "server closed", http.StatusServiceUnavailable)
			return
		}
		s.inflight.Add(1)
		s.mu.Unlock()
		defer s.inflight.Done()
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.Error("mpkftest handler panic", "path", r.URL.Path, "panic", fmt.Sprint(v))
				http.Error(w, "internal error", http.StatusInternalServerError)
			}
		}()
		r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
		if err := r.ParseForm(); err != nil {
			http.Error(w, "bad form", http.StatusBadRequest)
			return
		}
		s.record(r)
		if slices.Contains(avatarHosts, hostOnly(r.Host)) {
			s.avatar(w, r)
			return
		}
		mux.ServeHTTP(w, r)
	})
}

// maxRequests bounds the request log, so a demo left running for days
// does not grow without end; tests never come near it.
const maxRequests = 10000

func (s *Server) record(r *http.Request) {
	info := RequestInfo{
		Method: r.Method,
		Host:   hostOnly(r.Host),
		Path:   r.URL.Path,
		Action: r.URL.Query().Get("action"),
		Form:   cloneValues(r.Form),
		Time:   time.Now(),
	}
	s.mu.Lock()
	if len(s.reqs) >= maxRequests {
		s.reqs = slices.Delete(s.reqs, 0, len(s.reqs)-maxRequests+1)
	}
	s.reqs = append(s.reqs, info)
	s.mu.Unlock()
	s.log.Debug("mpkftest request", "method", info.Method, "host", info.Host, "path", info.Path, "action", info.Action)
}

func hostOnly(hostport string) string {
	h := hostport
	if host, _, err := net.SplitHostPort(hostport); err == nil {
		h = host
	}
	return strings.TrimSuffix(strings.ToLower(h), ".")
}

// page serves the console, kfindex: the chats open at load are in its
// inline bootstrap (MCS.cgiData), everything else comes from the cgi API.
// A missing or wrong token sends the agent to the login page, as the real
// console does when the session is gone.
func (s *Server) page(w http.ResponseWriter, r *http.Request) {
	if r.URL.Query().Get("token") != s.opts.Token {
		http.Redirect(w, r, "/cgi-bin/kfloginpage", http.StatusFound)
		return
	}
	data, err := json.Marshal(s.bootstrap())
	if err != nil {
		s.log.Error("mpkftest bootstrap", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	var buf bytes.Buffer
	err = s.assets.page.Execute(&buf, map[string]any{
		"Shop":    shopName,
		"CSS":     s.assets.css,
		"JS":      s.assets.js,
		"CGIData": template.JS(data), // json.Marshal escapes <, > and & for a script.
	})
	if err != nil {
		s.log.Error("mpkftest page", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Cache-Control", "no-cache, no-store, must-revalidate")
	h.Set("X-Frame-Options", "SAMEORIGIN")
	if s.opts.CSP != "" {
		h.Set("Content-Security-Policy", s.opts.CSP)
	}
	s.reply(w, r, http.StatusOK, "text/html; charset=UTF-8", buf.Bytes())
}

func (s *Server) bootstrap() cgiData {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := cgiData{
		Token:      s.opts.Token,
		Lang:       "zh_CN",
		KFInfo:     me,
		ShopName:   shopName,
		Seq:        s.st.seq,
		ServerTime: time.Now().Unix(),
		Sessions:   sessionsJSON{List: []sessionItem{}},
		Unaccepted: unacceptedInfo{Count: len(s.st.waiting), Seq: s.st.waitingSeq},
	}
	for _, c := range s.st.open {
		d.Sessions.List = append(d.Sessions.List, sessionItem{KFSession: c.session(), MsgSummary: c.summary()})
	}
	return d
}

// loginPage stands in for the QR-code login: the simulated agent "scans"
// by following the link.
func (s *Server) loginPage(w http.ResponseWriter, r *http.Request) {
	var buf bytes.Buffer
	if err := s.assets.login.Execute(&buf, map[string]any{"Index": "/cgi-bin/kfindex?token=" + s.opts.Token}); err != nil {
		s.log.Error("mpkftest login page", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Cache-Control", "no-cache")
	s.reply(w, r, http.StatusOK, "text/html; charset=UTF-8", buf.Bytes())
}
