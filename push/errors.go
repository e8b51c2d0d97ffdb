package push

import "errors"

// Sentinel errors.
var (
	// ErrConfig wraps every configuration problem New refuses; Check lists
	// them one by one, with what to do.
	ErrConfig = errors.New("gateway config")
	// ErrUnknownTarget is returned by Replay and DeadLetters for a target
	// name the config does not have.
	ErrUnknownTarget = errors.New("no such target")
	// ErrPolicy is a business-hours spec that does not parse.
	ErrPolicy = errors.New("bad policy")
	// ErrPattern is a target pattern that does not parse.
	ErrPattern = errors.New("bad target pattern")
)

// Why a request is refused (for logs and the status page; WeChat and
// anyone else get a bare status code).
var (
	errStale        = errors.New("timestamp outside the window")
	errSignature    = errors.New("signature mismatch")
	errMsgSignature = errors.New("msg_signature mismatch")
	errNoKey        = errors.New("encrypted push but no encoding_aes_key configured")
	errNotEncrypted = errors.New("encrypt_type=aes but the body has no Encrypt")
	errPlainRefused = errors.New("plain push refused (require_encrypted)")
	errTooLarge     = errors.New("body over the size cap")
)
