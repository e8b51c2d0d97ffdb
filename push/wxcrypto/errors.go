package wxcrypto

import "errors"

// Why a key or a ciphertext is refused. The gateway answers all of them
// without detail; the names are for logs and tests.
var (
	ErrKeyFormat = errors.New("encoding_aes_key must be 43 characters of base64 (letters and digits, as WeChat's admin generates it)")
	ErrBase64    = errors.New("ciphertext is not base64")
	ErrLength    = errors.New("ciphertext length is not a positive multiple of the AES block")
	ErrPadding   = errors.New("bad PKCS#7 padding")
	ErrMsgLength = errors.New("message length field exceeds the plaintext")
	ErrAppID     = errors.New("trailing app id differs from the configured appid")
)
