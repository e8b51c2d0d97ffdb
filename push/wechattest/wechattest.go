// Package wechattest plays WeChat's side of message push, the way
// net/http/httptest plays a client's: it signs, encrypts and posts pushes
// to a gateway in every mode and format with the real crypto (package
// wxcrypto, proved by the published vectors), and checks the reply the way
// WeChat would: a safe-mode reply must be encrypted and signed, "success"
// must not be, and a transfer_customer_service reply must name the user and
// the mini program. Result.Transferred says whether WeChat would hand the
// message to the web console, so a demo delivers it to the simulated
// console's waiting list only then (Sender.OnTransfer).
package wechattest

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/kfsidebar/kfsidebar/push/wire"
	"github.com/kfsidebar/kfsidebar/push/wxcrypto"
)

// Account is a mini program as WeChat's admin has it configured.
type Account struct {
	// Token is the 消息推送 Token.
	Token string
	// EncodingAESKey is the 43-character key.
	EncodingAESKey string
	// AppID ends every encrypted message (a third-party platform's
	// component appid when it receives for the mini program).
	AppID string
	// OriginalID is the mini program's gh_ id, the ToUserName of pushes.
	OriginalID string
}

// Sender posts pushes to one push URL, as WeChat does.
type Sender struct {
	// URL is the push URL entered in the admin.
	URL string
	// Account is the mini program.
	Account Account
	// Mode is the admin's 消息加解密方式; default wire.Safe.
	Mode wire.Mode
	// Format is the admin's 数据格式; default wire.XML.
	Format wire.Format
	// ContentType overrides the request's Content-Type (default text/xml
	// or application/json by Format): WeChat's is not to be trusted.
	ContentType string
	// Client sends; default http.DefaultClient.
	Client *http.Client
	// Now is the clock of the timestamps; default time.Now.
	Now func() time.Time
	// OnTransfer, when set, is called after a reply that WeChat would
	// take as transfer_customer_service, e.g. to put the message on a
	// simulated console's waiting list.
	OnTransfer func(p Push, r *Result)
}

// Prepared is one push ready to post: Deliver it once, or several times
// to replay the same timestamp and nonce.
type Prepared struct {
	// Push is what was prepared.
	Push Push
	// URL is the push URL with the signed query.
	URL string
	// Body is the request body (encrypted in the encrypted modes).
	Body []byte
	// ContentType is the request's Content-Type.
	ContentType string
	// Timestamp and Nonce are the query's, which a replay keeps.
	Timestamp string
	// Nonce: see Timestamp.
	Nonce string
}

// Result is a gateway's answer, judged as WeChat would judge it.
type Result struct {
	// Status is the HTTP status.
	Status int
	// Body is the reply as received.
	Body []byte
	// Plain is the reply decrypted (encrypted replies) or Body.
	Plain []byte
	// Success is a "success" (or empty) reply.
	Success bool
	// Transferred is a valid transfer_customer_service reply for this
	// push's user.
	Transferred bool
	// Invalid says why WeChat would refuse the reply; nil when it would
	// take it.
	Invalid error
	// Latency is the time from sending to the whole reply.
	Latency time.Duration
}

// Why a reply is refused.
var (
	ErrEncryptedSuccess = errors.New(`"success" must not be encrypted (WeChat shows users 该小程序提供的服务出现故障)`)
	ErrNotEncrypted     = errors.New("safe mode needs an encrypted reply")
	ErrReplySignature   = errors.New("reply MsgSignature does not match")
	ErrReplyBody        = errors.New("reply is not a transfer_customer_service for this user from this mini program")
)

func (s *Sender) mode() wire.Mode {
	if s.Mode == 0 {
		return wire.Safe
	}
	return s.Mode
}

func (s *Sender) format() wire.Format {
	if s.Format == 0 {
		return wire.XML
	}
	return s.Format
}

func (s *Sender) now() time.Time {
	if s.Now == nil {
		return time.Now()
	}
	return s.Now()
}

// Prepare signs and, in the encrypted modes, encrypts p under a fresh
// timestamp and nonce.
func (s *Sender) Prepare(p Push) (*Prepared, error) {
	n, err := rand.Int(rand.Reader, big.NewInt(1e10))
	if err != nil {
		return nil, fmt.Errorf("prepare: %w", err)
	}
	ts, nonce := strconv.FormatInt(s.now().Unix(), 10), n.String()
	f := s.format()
	fields := p.fields(s.Account.OriginalID)
	plain := wire.Marshal(f, fields)
	q := url.Values{}
	q.Set("signature", wxcrypto.Signature(s.Account.Token, ts, nonce))
	q.Set("timestamp", ts)
	q.Set("nonce", nonce)
	body := plain
	if m := s.mode(); m != wire.Plain {
		key, err := wxcrypto.ParseKey(s.Account.EncodingAESKey)
		if err != nil {
			return nil, fmt.Errorf("prepare: %w", err)
		}
		enc, err := key.Seal(rand.Reader, plain, s.Account.AppID)
		if err != nil {
			return nil, fmt.Errorf("prepare: %w", err)
		}
		outer := []wire.Node{{Name: "ToUserName", Kind: wire.String, Text: s.Account.OriginalID}}
		if m == wire.Compatible {
			outer = fields
		}
		outer = append(outer, wire.Node{Name: "Encrypt", Kind: wire.String, Text: enc})
		body = wire.Marshal(f, outer)
		q.Set("openid", p.OpenID)
		q.Set("encrypt_type", "aes")
		q.Set("msg_signature", wxcrypto.Signature(s.Account.Token, ts, nonce, enc))
	}
	ct := s.ContentType
	if ct == "" {
		ct = "text/xml"
		if f == wire.JSON {
			ct = "application/json"
		}
	}
	return &Prepared{Push: p, URL: s.URL + "?" + q.Encode(), Body: body, ContentType: ct, Timestamp: ts, Nonce: nonce}, nil
}

// Send prepares and delivers p once.
func (s *Sender) Send(ctx context.Context, p Push) (*Result, error) {
	pr, err := s.Prepare(p)
	if err != nil {
		return nil, err
	}
	return s.Deliver(ctx, pr)
}

// Deliver posts a prepared push and judges the reply. An error is a
// failure to get any answer; a refused or invalid answer is in the Result.
func (s *Sender) Deliver(ctx context.Context, pr *Prepared) (*Result, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, pr.URL, bytes.NewReader(pr.Body))
	if err != nil {
		return nil, fmt.Errorf("deliver: %w", err)
	}
	req.Header.Set("Content-Type", pr.ContentType)
	client := s.Client
	if client == nil {
		client = http.DefaultClient
	}
	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("deliver: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("deliver: %w", err)
	}
	r := &Result{Status: resp.StatusCode, Body: body, Plain: body, Latency: time.Since(start)}
	if r.Status == http.StatusOK {
		s.judge(pr, r)
	}
	if r.Transferred && s.OnTransfer != nil {
		s.OnTransfer(pr.Push, r)
	}
	return r, nil
}

// judge decides what WeChat would make of a 200 reply.
func (s *Sender) judge(pr *Prepared, r *Result) {
	trimmed := bytes.TrimSpace(r.Body)
	if len(trimmed) == 0 || string(trimmed) == wire.Success {
		r.Success = true
		return
	}
	doc, err := wire.Parse(trimmed)
	if err != nil {
		r.Invalid = fmt.Errorf("%w: %v", ErrReplyBody, err)
		return
	}
	if enc, ok := doc.Get("Encrypt"); ok {
		ts, _ := doc.Get("TimeStamp")
		nonce, _ := doc.Get("Nonce")
		sig, _ := doc.Get("MsgSignature")
		if !wxcrypto.Verify(sig, s.Account.Token, ts, nonce, enc) {
			r.Invalid = ErrReplySignature
			return
		}
		key, err := wxcrypto.ParseKey(s.Account.EncodingAESKey)
		if err != nil {
			r.Invalid = err
			return
		}
		if r.Plain, err = key.Open(enc, s.Account.AppID); err != nil {
			r.Invalid = err
			return
		}
		if string(bytes.TrimSpace(r.Plain)) == wire.Success {
			r.Invalid = ErrEncryptedSuccess
			return
		}
	} else if s.mode() == wire.Safe {
		r.Invalid = ErrNotEncrypted
		return
	}
	m, err := wire.ParseMessage(r.Plain)
	if err != nil || m.MsgType != wire.MsgTypeTransfer || m.ToUserName != pr.Push.OpenID ||
		m.FromUserName != s.Account.OriginalID || m.CreateTimeUnix() == 0 {
		r.Invalid = ErrReplyBody
		return
	}
	r.Transferred = true
}

// VerifyURL does what WeChat does when the admin saves the URL: a signed
// GET with an echostr, which must come back as the whole body.
func (s *Sender) VerifyURL(ctx context.Context) (bool, error) {
	ts := strconv.FormatInt(s.now().Unix(), 10)
	nonce, echo := "1514711492", "4375120948345356249"
	q := url.Values{"signature": {wxcrypto.Signature(s.Account.Token, ts, nonce)}, "timestamp": {ts}, "nonce": {nonce}, "echostr": {echo}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.URL+"?"+q.Encode(), nil)
	if err != nil {
		return false, fmt.Errorf("verify url: %w", err)
	}
	client := s.Client
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return false, fmt.Errorf("verify url: %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<10))
	return resp.StatusCode == http.StatusOK && string(body) == echo, nil
}
