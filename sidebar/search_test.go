package sidebar

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/kfsidebar/kfsidebar/sidebar/shop"
)

func TestSearchSupersededAndTimedOut(t *testing.T) {
	started := make(chan string, 4)
	backend := fakeBackend{lookup: standardBackend().lookup,
		search: func(ctx context.Context, q string, _ int) ([]shop.Customer, error) {
			started <- q
			if q == "fast" {
				return []shop.Customer{*custA}, nil
			}
			<-ctx.Done()
			return nil, fmt.Errorf("shop api: %w", ctx.Err())
		}}
	th := newTestHub(t, HubOptions{Resolver: standardResolver(), Backend: backend, LookupTimeout: 300 * time.Millisecond})
	conn := th.dial(t)
	send(t, conn, request{Type: typeSearch, Seq: 1, Query: "slow"})
	<-started
	send(t, conn, request{Type: typeSearch, Seq: 2, Query: "fast"})
	// The slow search was cancelled and never answers: the next message
	// is the fast one's.
	if m := recv(t, conn); m.Seq != 2 || m.Type != typeResults || len(m.Customers) != 1 {
		t.Fatalf("got %s, want results of seq 2", summary(m))
	}
	send(t, conn, request{Type: typeSearch, Seq: 3, Query: "slow again"})
	expect(t, conn, message{Type: typeError, Seq: 3, Message: msgSearchTimeout})
}
