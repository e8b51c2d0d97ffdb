package store

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/kfsidebar/kfsidebar/push"
)

// TestBatchClaimsLast: a claim that reached the writer before an accept
// of the same batch still takes the accept's outbox row, since claims run
// after the batch's other writes; a duplicate later in the batch gets the
// first copy's reply.
func TestBatchClaimsLast(t *testing.T) {
	ctx := context.Background()
	st, err := OpenSQLite(ctx, filepath.Join(t.TempDir(), "gateway.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	at := time.UnixMilli(1_700_000_000_000)
	push1 := func(body string) *acceptOp {
		return &acceptOp{ctx: ctx, done: make(chan error, 1), a: &push.Accepted{Key: "k", At: at,
			Reply: push.Reply{ContentType: "text/plain", Body: []byte(body)}, Targets: []string{"erp"}, Payload: []byte(`{}`)}}
	}
	first, second := push1("first"), push1("second")
	c := &claimOp{ctx: ctx, target: "erp", now: at, leaseUntil: at.Add(time.Minute), limit: 4, done: make(chan error, 1)}
	st.commitBatch([]op{c, first, second})
	for _, o := range []*acceptOp{first, second} {
		if err := <-o.done; err != nil {
			t.Fatal(err)
		}
	}
	if err := <-c.done; err != nil {
		t.Fatal(err)
	}
	if len(c.deliveries) != 1 || c.deliveries[0].Attempts != 1 {
		t.Errorf("claim took %+v, want the accepted push's row", c.deliveries)
	}
	if first.dup || !second.dup || string(second.reply.Body) != "first" {
		t.Errorf("first dup %t; second dup %t, reply %q", first.dup, second.dup, second.reply.Body)
	}
}
