package push

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"strconv"
	"time"

	"github.com/kfsidebar/kfsidebar/push/wire"
	"github.com/kfsidebar/kfsidebar/push/wxcrypto"
)

// Server is the gateway: an http.Handler for the push URL, and (Run) the
// dispatcher that empties the outbox. Several Servers, in one process or
// many, may share one Store.
type Server struct {
	cfg      Config
	store    Store
	pairs    []keyPair
	targets  []*target
	log      *slog.Logger
	warn     *warnEvery
	counters *counters
	client   *http.Client
}

// keyPair is a token with its key (nil when no EncodingAESKey is set).
type keyPair struct {
	token string
	key   *wxcrypto.Key
}

// New checks cfg (see Check) and returns a Server recording in st. It
// starts nothing: mount it at the push path, and call Run.
func New(cfg Config, st Store) (*Server, error) {
	if err := checkErr(cfg); err != nil {
		return nil, err
	}
	if st == nil {
		return nil, fmt.Errorf("%w: no store", ErrConfig)
	}
	cfg = cfg.withDefaults()
	s := &Server{cfg: cfg, store: st, log: cfg.Logger, counters: newCounters(cfg.Targets), client: cfg.Client}
	s.warn = newWarnEvery(s.log)
	cur := keyPair{token: cfg.Token}
	if cfg.EncodingAESKey != "" {
		cur.key, _ = wxcrypto.ParseKey(cfg.EncodingAESKey) // checked above
	}
	s.pairs = []keyPair{cur}
	if cfg.PreviousToken != "" || cfg.PreviousEncodingAESKey != "" {
		prev := cur
		if cfg.PreviousToken != "" {
			prev.token = cfg.PreviousToken
		}
		if cfg.PreviousEncodingAESKey != "" {
			prev.key, _ = wxcrypto.ParseKey(cfg.PreviousEncodingAESKey)
		}
		s.pairs = append(s.pairs, prev)
	}
	idle := 0
	for i := range cfg.Targets {
		s.targets = append(s.targets, &target{Target: cfg.Targets[i]})
		idle += cfg.Targets[i].Concurrency
	}
	if s.client == nil {
		// Keep a connection per deliverer: http's default of two per host
		// would have most deliveries to a busy target dial anew.
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConnsPerHost = max(idle, tr.MaxIdleConnsPerHost)
		s.client = &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	return s, nil
}

// ServeHTTP answers WeChat: GET is the URL verification, POST a push.
// Anything refused gets a bare status code (403 for a signature or a
// timestamp, 400 for a body, 413 for a size) and no detail.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			s.log.Error("push handler panic", "panic", fmt.Sprint(v))
			http.Error(w, "", http.StatusInternalServerError)
		}
	}()
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		s.verifyURL(w, r)
	case http.MethodPost:
		s.receive(w, r)
	default:
		w.Header().Set("Allow", "GET, POST")
		w.WriteHeader(http.StatusMethodNotAllowed)
	}
}

// verifyURL is WeChat's check of the URL when the admin saves it: echo
// echostr if signature = sha1(sort(token, timestamp, nonce)).
func (s *Server) verifyURL(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	ts, nonce := q.Get("timestamp"), q.Get("nonce")
	if err := s.fresh(ts); err != nil {
		s.refuse(w, http.StatusForbidden, "stale", err)
		return
	}
	if len(s.signed(q.Get("signature"), ts, nonce)) == 0 {
		s.refuse(w, http.StatusForbidden, "signature", errSignature)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	io.WriteString(w, q.Get("echostr"))
}

// receive is a push: verify, decrypt, decide the reply, record, answer.
func (s *Server) receive(w http.ResponseWriter, r *http.Request) {
	now := s.cfg.Now()
	deadline := time.Now().Add(s.cfg.ReplyBudget)
	q := r.URL.Query()
	ts, nonce := q.Get("timestamp"), q.Get("nonce")
	if err := s.fresh(ts); err != nil {
		s.refuse(w, http.StatusForbidden, "stale", err)
		return
	}
	pairs := s.signed(q.Get("signature"), ts, nonce)
	if len(pairs) == 0 {
		s.refuse(w, http.StatusForbidden, "signature", errSignature)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.cfg.MaxBodySize))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			s.refuse(w, http.StatusRequestEntityTooLarge, "too_large", errTooLarge)
			return
		}
		s.refuse(w, http.StatusBadRequest, "read", err)
		return
	}
	env, err := wire.ParseEnvelope(body)
	if err != nil {
		s.refuse(w, http.StatusBadRequest, "body", err)
		return
	}
	var (
		msg  *wire.Message
		used keyPair
	)
	if env.Mode == wire.Plain {
		switch {
		case q.Get("encrypt_type") == "aes":
			s.refuse(w, http.StatusBadRequest, "not_encrypted", errNotEncrypted)
			return
		case s.cfg.RequireEncrypted:
			s.refuse(w, http.StatusForbidden, "plain_refused", errPlainRefused)
			return
		}
		msg, err = env.PlainMessage(body)
	} else {
		var plain []byte
		var status int
		plain, used, status, err = s.open(pairs, q.Get("msg_signature"), ts, nonce, env.Encrypt)
		if err != nil {
			s.refuse(w, status, reason(err), err)
			return
		}
		msg, err = wire.ParseMessage(plain)
	}
	if err != nil {
		s.refuse(w, http.StatusBadRequest, "message", err)
		return
	}
	s.answer(w, r, env, msg, used, now, deadline)
}

// open checks msg_signature over the Encrypt value with each pair whose
// token signed the query, and decrypts with the first whose key opens it
// for the configured appid.
func (s *Server) open(pairs []keyPair, msgSig, ts, nonce, encrypt string) ([]byte, keyPair, int, error) {
	status, err := http.StatusForbidden, errMsgSignature
	for _, p := range pairs {
		if p.key == nil {
			status, err = http.StatusForbidden, errNoKey
			continue
		}
		if !wxcrypto.Verify(msgSig, p.token, ts, nonce, encrypt) {
			continue
		}
		plain, derr := p.key.Open(encrypt, s.cfg.AppID)
		if derr == nil {
			return plain, p, 0, nil
		}
		status, err = http.StatusBadRequest, derr
		if errors.Is(derr, wxcrypto.ErrAppID) {
			status = http.StatusForbidden
		}
	}
	return nil, keyPair{}, status, err
}

// answer decides the reply, records the push and writes the reply.
func (s *Server) answer(w http.ResponseWriter, r *http.Request, env *wire.Envelope, msg *wire.Message, used keyPair, now, deadline time.Time) {
	format := env.Doc.Format
	transfer := !msg.IsEvent() && s.cfg.Policy.Transfer(msg, now)
	reply := Reply{ContentType: "text/plain; charset=utf-8", Body: []byte(wire.Success)}
	if transfer {
		body := wire.Transfer(format, msg.FromUserName, s.cfg.OriginalID, now.Unix())
		if env.Mode == wire.Safe {
			var err error
			if body, err = s.seal(used, format, body, now); err != nil {
				s.log.Error("seal reply", "err", err)
				http.Error(w, "", http.StatusInternalServerError)
				return
			}
		}
		reply = Reply{ContentType: format.ContentType(), Body: body}
	}
	key := dedupeKey(msg)
	a := &Accepted{Key: key, Reply: reply, At: now,
		Payload: newPayload(key, msg, env.Mode, transfer, now), Feed: feedEvent(msg, transfer)}
	for _, t := range s.targets {
		if t.wants(msg.MsgType, msg.Event) {
			a.Targets = append(a.Targets, t.Name)
		}
	}
	// A closed connection must not abort a commit under way; the budget
	// still bounds it.
	ctx, cancel := context.WithDeadline(context.WithoutCancel(r.Context()), deadline)
	stored, dup, err := s.store.Accept(ctx, a)
	cancel()
	typ := msg.MsgType
	if msg.IsEvent() {
		typ = "event:" + msg.Event
	}
	switch {
	case err != nil && msg.IsEvent():
		// WeChat retries an event it got no answer for; the store may be
		// back by then.
		s.counters.storeError()
		s.warn.warn(now, "store", "push not recorded; event answered 503 so WeChat retries", "type", typ, "err", err)
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	case err != nil:
		// The console comes first: transfer the message even though the
		// targets will not hear of it.
		s.counters.storeError()
		s.warn.warn(now, "store", "push not recorded; message still transferred, targets miss it", "type", typ, "err", err)
	default:
		reply = stored
	}
	s.counters.push(typ, now, !bytes.Equal(reply.Body, []byte(wire.Success)), dup)
	s.log.Debug("push", "type", typ, "mode", env.Mode.String(), "format", format.String(), "from", msg.FromUserName,
		"duplicate", dup, "transfer", transfer, "targets", len(a.Targets))
	w.Header().Set("Content-Type", reply.ContentType)
	w.Write(reply.Body)
	if err == nil && !dup {
		for _, t := range s.targets {
			t.wake.Wake()
		}
		if a.Feed != nil && s.cfg.OnFeed != nil {
			s.cfg.OnFeed()
		}
	}
}

// seal encrypts a reply for safe mode with the pair that opened the push,
// under a fresh nonce and the current time.
func (s *Server) seal(p keyPair, f wire.Format, body []byte, now time.Time) ([]byte, error) {
	rnd := s.cfg.Rand
	if rnd == nil {
		rnd = rand.Reader
	}
	enc, err := p.key.Seal(rnd, body, s.cfg.AppID)
	if err != nil {
		return nil, err
	}
	n, err := rand.Int(rnd, big.NewInt(1e10))
	if err != nil {
		return nil, fmt.Errorf("seal: nonce: %w", err)
	}
	nonce := n.String()
	ts := now.Unix()
	sig := wxcrypto.Signature(p.token, strconv.FormatInt(ts, 10), nonce, enc)
	return wire.Encrypted(f, enc, sig, ts, nonce), nil
}

// fresh checks the query's timestamp against the window.
func (s *Server) fresh(ts string) error {
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return errStale
	}
	if d := s.cfg.Now().Sub(time.Unix(sec, 0)); d > s.cfg.TimestampWindow || d < -s.cfg.TimestampWindow {
		return errStale
	}
	return nil
}

// signed returns the pairs whose token made the query's signature: with a
// token rotation under way, pushes signed with either token are accepted.
func (s *Server) signed(sig, ts, nonce string) []keyPair {
	var out []keyPair
	for _, p := range s.pairs {
		if wxcrypto.Verify(sig, p.token, ts, nonce) {
			out = append(out, p)
		}
	}
	return out
}

// refuse answers a bare status and counts the reason.
func (s *Server) refuse(w http.ResponseWriter, status int, why string, err error) {
	s.counters.refuse(why)
	s.warn.warn(s.cfg.Now(), "refused:"+why, "push refused", "status", status, "err", err)
	w.WriteHeader(status)
}

// reason names a decryption failure for the counters.
func reason(err error) string {
	switch {
	case errors.Is(err, errMsgSignature):
		return "msg_signature"
	case errors.Is(err, errNoKey):
		return "no_key"
	case errors.Is(err, wxcrypto.ErrAppID):
		return "appid"
	}
	return "decrypt"
}
