package proxy

import (
	"net/url"

	"github.com/kfsidebar/kfsidebar/proxy/console"
	"github.com/kfsidebar/kfsidebar/proxy/scan"
)

// wantsWaitingList reports whether a response to u must be kept and
// scanned for the queued users' messages, whatever ScanTargetsOnly says.
func (p *Proxy) wantsWaitingList(u *url.URL) bool {
	return p.cfg.WaitingList != nil && console.IsWaitingList(u)
}

// scanWaitingList hands the messages of a waiting list response to
// Config.WaitingList. A response without any (a failed request, an empty
// queue) hands nothing: a message once seen stays evidence.
func (p *Proxy) scanWaitingList(u *url.URL, doc []byte) {
	if !p.wantsWaitingList(u) {
		return
	}
	msgs := scan.WaitingList(doc)
	if len(msgs) == 0 {
		return
	}
	p.log.Debug("scanned the waiting list", "messages", len(msgs))
	p.cfg.WaitingList(msgs)
}
