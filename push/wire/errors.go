package wire

import "errors"

// Why a body is refused. The gateway answers 400 without detail; the names
// are for logs, tests and the status page.
var (
	ErrFormat       = errors.New("body is neither XML nor JSON")
	ErrDoctype      = errors.New("XML with a DOCTYPE or other directive is refused")
	ErrSyntax       = errors.New("malformed body")
	ErrTooDeep      = errors.New("body nests too deeply")
	ErrTooMany      = errors.New("body has too many fields")
	ErrDuplicateKey = errors.New("body repeats a key")
	ErrNotObject    = errors.New("JSON body is not an object")
	ErrMissingField = errors.New("push lacks a required field")
	ErrEncrypted    = errors.New("body is encrypted: decrypt its Encrypt value")
)
