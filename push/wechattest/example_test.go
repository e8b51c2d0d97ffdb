package wechattest_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/kfsidebar/kfsidebar/push/wechattest"
	"github.com/kfsidebar/kfsidebar/push/wire"
)

// A user's message goes to a gateway in safe mode; the sender says
// whether WeChat would hand it to the web console.
func Example() {
	gateway := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("success")) // a gateway that transfers nothing
	}))
	defer gateway.Close()
	s := &wechattest.Sender{URL: gateway.URL, Account: acct, Mode: wire.Safe, Format: wire.JSON}
	r, err := s.Send(context.Background(), wechattest.Text("oUser", "在吗", time.Now(), wechattest.NextMsgID()))
	if err != nil {
		panic(err)
	}
	fmt.Println("reaches the console:", r.Transferred)
	// Output: reaches the console: false
}
