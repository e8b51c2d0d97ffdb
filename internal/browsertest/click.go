package browsertest

import (
	"context"
	"strings"
	"time"

	"github.com/chromedp/chromedp"
)

// Click clicks the element sel names with a real mouse click, as a user
// would. The console re-renders its lists on every poll: when the element
// found was replaced before the click reached it (Chromium's "Could not
// find node with given id"), no click happened, so Click finds it again
// and clicks, up to five times.
func Click(ctx context.Context, sel string) error {
	var err error
	for range 5 {
		err = chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(sel)), chromedp.Click(chromedp.CSS(sel)))
		if err == nil || !nodeReplaced(err) {
			return err
		}
		time.Sleep(20 * time.Millisecond)
	}
	return err
}

// nodeReplaced says whether err is Chromium's answer about a node that
// left the document between being found and being used.
func nodeReplaced(err error) bool {
	s := err.Error()
	return strings.Contains(s, "Could not find node with given id") || strings.Contains(s, "No node with given id found")
}
