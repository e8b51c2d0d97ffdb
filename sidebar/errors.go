package sidebar

import "errors"

// ErrNotFound is returned by a Backend that does not know the openid.
var ErrNotFound = errors.New("customer not found")

// ErrInvalidBinding is returned by Bindings for an empty chat key or
// customer id: the page asked for something that cannot be stored.
var ErrInvalidBinding = errors.New("invalid binding")
