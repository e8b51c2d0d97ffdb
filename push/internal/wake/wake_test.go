package wake

import (
	"testing"
	"time"
)

func TestSignal(t *testing.T) {
	var s Signal
	s.Wake() // nobody waiting: nothing to do, and no panic
	a, b := s.C(), s.C()
	s.Wake()
	for _, c := range []<-chan struct{}{a, b} {
		select {
		case <-c:
		case <-time.After(10 * time.Second):
			t.Fatal("waiter not woken")
		}
	}
	select {
	case <-s.C():
		t.Fatal("a new waiter is woken by an old Wake")
	default:
	}
}
