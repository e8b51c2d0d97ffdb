package sidebar

import "errors"

// ErrInvalidBinding is returned by Bindings for an empty chat key or
// customer id: the page asked for something that cannot be stored.
var ErrInvalidBinding = errors.New("invalid binding")
