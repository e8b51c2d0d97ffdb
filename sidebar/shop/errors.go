package shop

import (
	"errors"
)

// ErrCircuitOpen is wrapped in Result.Err (and returned by Search) while
// the cache does not call a backend that failed FailureThreshold times in a
// row. The error says when the next try is.
var ErrCircuitOpen = errors.New("order backend paused after repeated failures")

// ErrNotFound is returned by a Backend that does not know the openid.
var ErrNotFound = errors.New("customer not found")
