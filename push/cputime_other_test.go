//go:build !unix

package push_test

import "time"

// cpuTime is unknown here: -1.
func cpuTime() time.Duration { return -1 }
