package chats

import (
	"sync"
)

// Subscribe returns a channel that receives a value after every Add that
// changed something, so the websocket hub can answer a tab whose chat was
// selected before its accept response was scanned. Sends never block: the
// buffer holds one value and signals coalesce, so a receiver re-resolves
// what it waits for rather than counting signals. cancel stops the signals
// and closes the channel; calling it again does nothing.
func (s *Sessions) Subscribe() (<-chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	s.subMu.Lock()
	s.subs[ch] = struct{}{}
	s.subMu.Unlock()
	var once sync.Once
	return ch, func() {
		once.Do(func() {
			s.subMu.Lock()
			delete(s.subs, ch)
			close(ch)
			s.subMu.Unlock()
		})
	}
}

// notify signals every subscriber without blocking.
func (s *Sessions) notify() {
	s.subMu.Lock()
	defer s.subMu.Unlock()
	for ch := range s.subs {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}
