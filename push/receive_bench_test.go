package push_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/kfsidebar/kfsidebar/push"
	"github.com/kfsidebar/kfsidebar/push/wechattest"
	"github.com/kfsidebar/kfsidebar/push/wire"
)

// memStore is a Store that keeps only the dedupe keys, in memory: the
// handler's own cost, without the database.
type memStore struct {
	push.Store
	seen map[string]push.Reply
}

func (m *memStore) Accept(_ context.Context, a *push.Accepted) (push.Reply, bool, error) {
	if r, ok := m.seen[a.Key]; ok {
		return r, true, nil
	}
	m.seen[a.Key] = a.Reply
	return a.Reply, false, nil
}

// BenchmarkReceive is the reply path of one new user message: verify,
// decrypt, parse, decide, build (and in safe mode encrypt) the reply.
func BenchmarkReceive(b *testing.B) {
	for _, mode := range []wire.Mode{wire.Plain, wire.Safe} {
		for _, f := range []wire.Format{wire.XML, wire.JSON} {
			b.Run(mode.String()+"/"+f.String(), func(b *testing.B) {
				cfg := testConfig(b)
				cfg.Logger = nil
				srv, err := push.New(cfg, &memStore{seen: map[string]push.Reply{}})
				if err != nil {
					b.Fatal(err)
				}
				s := &wechattest.Sender{URL: "http://gateway.example/wechat", Account: testAccount, Mode: mode, Format: f}
				prs := make([]*wechattest.Prepared, b.N)
				for i := range prs {
					if prs[i], err = s.Prepare(wechattest.Text("oBench", "在吗", time.Now(), wechattest.NextMsgID())); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportAllocs()
				b.ResetTimer()
				for _, pr := range prs {
					req := httptest.NewRequest(http.MethodPost, pr.URL, bytes.NewReader(pr.Body))
					w := httptest.NewRecorder()
					srv.ServeHTTP(w, req)
					if w.Code != 200 {
						b.Fatal(w.Code)
					}
				}
			})
		}
	}
}

// BenchmarkReceiveStored is the gateway's whole cost of a push, as it runs:
// pushes from parallel senders recorded on SQLite (dedupe, outbox, feed),
// then delivered to a target that accepts everything. ns/op is the reply
// path's; cpu-µs/op is the process's CPU time (the target's included) per
// push once the outbox has drained, where the system tells it.
func BenchmarkReceiveStored(b *testing.B) {
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.Copy(io.Discard, r.Body) }))
	defer hook.Close()
	cfg := testConfig(b)
	cfg.Logger = nil
	cfg.Targets = []push.Target{{Name: "shop", URL: hook.URL, Secret: []byte("bench-secret-0123456789")}}
	st := tempSQLite(b)
	srv, err := push.New(cfg, st)
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan struct{})
	go func() { srv.Run(ctx); close(ran) }()
	defer func() { cancel(); <-ran }()
	s := &wechattest.Sender{URL: "http://gateway.example/wechat", Account: testAccount, Mode: wire.Plain, Format: wire.XML}
	prs := make(chan *wechattest.Prepared, b.N)
	for range b.N {
		pr, err := s.Prepare(wechattest.Text("oBench", "在吗", time.Now(), wechattest.NextMsgID()))
		if err != nil {
			b.Fatal(err)
		}
		prs <- pr
	}
	close(prs)
	before := cpuTime()
	b.ReportAllocs()
	b.ResetTimer()
	b.SetParallelism(8)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			pr := <-prs
			w := httptest.NewRecorder()
			srv.ServeHTTP(w, httptest.NewRequest(http.MethodPost, pr.URL, bytes.NewReader(pr.Body)))
			if w.Code != 200 {
				b.Error(w.Code)
			}
		}
	})
	b.StopTimer()
	for {
		d, err := st.Depth(context.Background())
		if err != nil {
			b.Fatal(err)
		}
		if d["shop"].Pending == 0 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if before >= 0 {
		b.ReportMetric(float64((cpuTime()-before).Microseconds())/float64(b.N), "cpu-µs/op")
	}
}
