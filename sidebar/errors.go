package sidebar

import "errors"

// ErrNotFound is returned by a Backend that does not know the openid.
var ErrNotFound = errors.New("customer not found")
