package push

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"path"
	"strings"
	"time"
)

// Defaults of Config.
const (
	DefaultMaxBodySize     = 256 << 10
	DefaultTimestampWindow = 5 * time.Minute
	DefaultReplyBudget     = 2 * time.Second
	DefaultDedupeTTL       = 72 * time.Hour
	DefaultFeedTTL         = 10 * time.Minute
	DefaultDeliveryTimeout = 10 * time.Second
	DefaultConcurrency     = 4
	DefaultRetryBase       = 2 * time.Second
	DefaultRetryMax        = 10 * time.Minute
	DefaultMaxAttempts     = 24
	DefaultPollInterval    = time.Second
)

// Config is the gateway's configuration as a library sees it: plain fields
// whose zero value means the default stated on each. cmd/kfsidebar maps the
// [gateway] section of the config file (listen, path, token, token_env,
// encoding_aes_key, encoding_aes_key_env, appid, original_id, …) onto it.
type Config struct {
	// Token is the 消息推送 Token from WeChat's admin. Required.
	Token string
	// EncodingAESKey is the 43-character EncodingAESKey. Required for the
	// compatible and safe modes; without it only plain pushes are accepted.
	EncodingAESKey string
	// AppID is the id expected after each decrypted message: the mini
	// program's appid, or a third-party platform's component appid.
	// Required with EncodingAESKey.
	AppID string
	// OriginalID is the mini program's original id (gh_…), the
	// FromUserName of transfer replies. Required.
	OriginalID string
	// PreviousToken and PreviousEncodingAESKey are the pair in use before
	// the last change in WeChat's admin. Both pairs are accepted, so a key
	// can be rotated without refusing pushes signed with the old one while
	// the change spreads. Empty: no previous pair. (An empty
	// PreviousToken with a PreviousEncodingAESKey means the token did not
	// change.)
	PreviousToken string
	// PreviousEncodingAESKey: see PreviousToken.
	PreviousEncodingAESKey string
	// RequireEncrypted refuses plain pushes. WeChat's plain-mode signature
	// covers only the query, not the body, so anyone who sees one request
	// URL can post any body within TimestampWindow; set this once the admin
	// is on safe mode. Default false, because the admin can switch modes at
	// any time and a refused push is a message lost to the console.
	RequireEncrypted bool

	// Policy decides which user messages are transferred to the console;
	// default Always. Events are never transferred.
	Policy Policy
	// Targets are the shop's systems that get pushes.
	Targets []Target

	// MaxBodySize caps a push body; default 256 KiB (WeChat's are a few
	// KiB). A larger body is answered 413 and read no further.
	MaxBodySize int64
	// TimestampWindow is how far the query's timestamp may be from Now;
	// default 5 minutes.
	TimestampWindow time.Duration
	// ReplyBudget bounds the time from request to reply, storage included;
	// default 2 s, well under WeChat's 5 s.
	ReplyBudget time.Duration
	// DedupeTTL is how long a push's reply is kept to answer duplicates;
	// default 72 h (WeChat retries within seconds; a day's margin costs a
	// few MB).
	DedupeTTL time.Duration
	// FeedTTL is how long the workstation feed keeps an item; default 10
	// minutes. The feed is for what is happening now, not a history.
	FeedTTL time.Duration
	// Retry is the outbox's retry schedule.
	Retry Retry
	// PollInterval is how often idle dispatchers look for work that other
	// instances added or that became due; default 1 s. Work added by this
	// instance is dispatched at once.
	PollInterval time.Duration

	// OnFeed, when set, is called (without blocking) after a push added a
	// feed item, so a feed can wake its subscribers at once.
	OnFeed func()
	// Client makes the deliveries; default a client with the system roots
	// that never follows redirects and keeps a connection open per
	// deliverer (Target.Concurrency). Each target's Timeout still applies.
	Client *http.Client
	// Now is the clock; default time.Now.
	Now func() time.Time
	// Rand is the source of the random bytes in encrypted replies and in
	// nonces; default crypto/rand.
	Rand io.Reader
	// Logger gets the gateway's logs; default discards. Openids and
	// message text are never logged above Debug.
	Logger *slog.Logger
}

// Retry is the outbox's retry schedule: attempt n waits
// Base·2^(n-1) (at most Max, with ±20 % jitter so a recovered target is
// not hit by every row at once); after MaxAttempts a row is a dead letter.
type Retry struct {
	// Base is the first wait; default 2 s.
	Base time.Duration
	// Max caps one wait; default 10 minutes.
	Max time.Duration
	// MaxAttempts is how many deliveries are tried; default 24 (about 3 h
	// with the default Base and Max).
	MaxAttempts int
}

// Target is one of the shop's systems that receives pushes as signed JSON.
type Target struct {
	// Name names the target in logs, status and replay; required, unique.
	Name string
	// URL receives a POST per push. Required; https, or http to a
	// loopback or private address.
	URL string
	// Secret is the HMAC-SHA256 key of the X-Kfsidebar-Signature header,
	// at least 16 bytes: the same scheme as the http order backend.
	Secret []byte
	// Match lists the pushes it wants; empty means every push.
	Match []Pattern
	// Timeout bounds one delivery; default 10 s.
	Timeout time.Duration
	// Concurrency is how many deliveries to it may be in flight at once;
	// default 4.
	Concurrency int
}

// Pattern selects pushes by MsgType and Event, each a path.Match glob
// ("*" or "" for any): {event, add_express_path}, {event, trade_manage_*},
// {text, ""}.
type Pattern struct {
	// MsgType is matched against the push's MsgType.
	MsgType string
	// Event is matched against the push's Event ("" for user messages).
	Event string
}

// ParsePattern reads the config form of a pattern: "MsgType" or
// "MsgType:Event", e.g. "text", "event:add_express_path",
// "event:trade_manage_*", "*".
func ParsePattern(s string) (Pattern, error) {
	mt, ev, _ := strings.Cut(strings.TrimSpace(s), ":")
	p := Pattern{MsgType: mt, Event: ev}
	for _, g := range []string{mt, ev} {
		if _, err := path.Match(g, ""); err != nil {
			return Pattern{}, fmt.Errorf("%w %q: %v", ErrPattern, s, err)
		}
	}
	if mt == "" {
		return Pattern{}, fmt.Errorf("%w %q: want MsgType or MsgType:Event, e.g. event:add_express_path", ErrPattern, s)
	}
	return p, nil
}

// matches reports whether the pattern selects a push.
func (p Pattern) matches(msgType, event string) bool {
	return glob(p.MsgType, msgType) && glob(p.Event, event)
}

func glob(pattern, s string) bool {
	if pattern == "" || pattern == "*" {
		return true
	}
	ok, _ := path.Match(pattern, s)
	return ok
}

// wants reports whether the target wants a push.
func (t *Target) wants(msgType, event string) bool {
	if len(t.Match) == 0 {
		return true
	}
	for _, p := range t.Match {
		if p.matches(msgType, event) {
			return true
		}
	}
	return false
}

// withDefaults fills the zero fields.
func (c Config) withDefaults() Config {
	if c.Policy == nil {
		c.Policy = Always{}
	}
	if c.MaxBodySize <= 0 {
		c.MaxBodySize = DefaultMaxBodySize
	}
	if c.TimestampWindow <= 0 {
		c.TimestampWindow = DefaultTimestampWindow
	}
	if c.ReplyBudget <= 0 {
		c.ReplyBudget = DefaultReplyBudget
	}
	if c.DedupeTTL <= 0 {
		c.DedupeTTL = DefaultDedupeTTL
	}
	if c.FeedTTL <= 0 {
		c.FeedTTL = DefaultFeedTTL
	}
	if c.Retry.Base <= 0 {
		c.Retry.Base = DefaultRetryBase
	}
	if c.Retry.Max <= 0 {
		c.Retry.Max = DefaultRetryMax
	}
	if c.Retry.MaxAttempts <= 0 {
		c.Retry.MaxAttempts = DefaultMaxAttempts
	}
	if c.PollInterval <= 0 {
		c.PollInterval = DefaultPollInterval
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	c.Targets = append([]Target(nil), c.Targets...)
	for i := range c.Targets {
		if c.Targets[i].Timeout <= 0 {
			c.Targets[i].Timeout = DefaultDeliveryTimeout
		}
		if c.Targets[i].Concurrency <= 0 {
			c.Targets[i].Concurrency = DefaultConcurrency
		}
	}
	return c
}
