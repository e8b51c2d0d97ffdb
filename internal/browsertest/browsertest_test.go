package browsertest

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/chromedp/chromedp"
)

func TestSharedTab(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `<!doctype html><title>t</title><p id="p">hello</p><script>console.log("ready")</script>`)
	}))
	defer srv.Close()
	var shared Shared
	defer shared.Close()
	for i := 0; i < 2; i++ {
		ctx := shared.Tab(t)
		if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL)); err != nil {
			t.Fatal(err)
		}
		got, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#p")))
		if err != nil {
			t.Fatal(err)
		}
		if got != "hello" {
			t.Fatalf("tab %d: text = %q, want hello", i, got)
		}
	}
}
