package push_test

import (
	"bytes"
	"context"
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
