// Package wake is a broadcast wake-up: whoever has work to announce calls
// Wake, which never blocks; every goroutine waiting at that moment wakes.
// The push gateway's dispatchers and the workstation feed wait on one each,
// next to a poll timer, so new work is picked up at once and work from
// other instances at the next poll.
package wake

import "sync"

// Signal is a broadcast wake-up. The zero value is ready to use.
type Signal struct {
	mu sync.Mutex
	ch chan struct{}
}

// C returns a channel that is closed at the next Wake. Take it before
// looking for work, so a Wake during the look is not missed.
func (s *Signal) C() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ch == nil {
		s.ch = make(chan struct{})
	}
	return s.ch
}

// Wake wakes every current waiter.
func (s *Signal) Wake() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ch != nil {
		close(s.ch)
		s.ch = nil
	}
}
