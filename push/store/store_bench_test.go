package store_test

import (
	"context"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/kfsidebar/kfsidebar/push"
	"github.com/kfsidebar/kfsidebar/push/store"
)

// BenchmarkPushLifecycle is one push's storage on SQLite, as the gateway
// does it: accepted with its outbox row and feed item, claimed, delivered.
func BenchmarkPushLifecycle(b *testing.B) {
	ctx := context.Background()
	st, err := store.OpenSQLite(ctx, filepath.Join(b.TempDir(), "gateway.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	payload := make([]byte, 1200)
	reply := make([]byte, 400)
	var accept, claim, deliver time.Duration
	b.ResetTimer()
	for i := range b.N {
		now := time.Now()
		a := &push.Accepted{Key: strconv.Itoa(i) + "-0123456789abcdef0123456789abcdef0123456789abcdef0123456789ab",
			Reply: push.Reply{ContentType: "application/xml", Body: reply}, Targets: []string{"erp"}, Payload: payload,
			Feed: []byte(`{"kind":"message","openid":"o9AgO5Kd5ggOC-bXrbNODIiE3bGY","text":"在吗"}`), At: now}
		if _, _, err := st.Accept(ctx, a); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		ds, err := st.Claim(ctx, "erp", t1, t1.Add(time.Minute), 4)
		if err != nil || len(ds) != 1 {
			b.Fatal(err, len(ds))
		}
		t2 := time.Now()
		if err := st.Delivered(ctx, ds[0].ID); err != nil {
			b.Fatal(err)
		}
		t3 := time.Now()
		accept, claim, deliver = accept+t1.Sub(now), claim+t2.Sub(t1), deliver+t3.Sub(t2)
	}
	b.ReportMetric(float64(accept.Microseconds())/float64(b.N), "accept-µs/op")
	b.ReportMetric(float64(claim.Microseconds())/float64(b.N), "claim-µs/op")
	b.ReportMetric(float64(deliver.Microseconds())/float64(b.N), "delivered-µs/op")
}
