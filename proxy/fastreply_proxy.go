package proxy

import (
	"net/url"

	"github.com/kfsidebar/kfsidebar/proxy/console"
	"github.com/kfsidebar/kfsidebar/proxy/scan"
)

// wantsFastReplies reports whether a response to u must be kept and
// scanned for quick replies, whatever ScanTargetsOnly says.
func (p *Proxy) wantsFastReplies(u *url.URL) bool {
	return p.cfg.FastReplies != nil && console.IsSettings(u)
}

// scanFastReplies hands the quick replies of a settings response to
// Config.FastReplies. A response without any fastreply_list (a failed or
// expired session) leaves the known replies as they are.
func (p *Proxy) scanFastReplies(u *url.URL, doc []byte) {
	if !p.wantsFastReplies(u) {
		return
	}
	replies := scan.FastReplies(doc)
	if replies == nil {
		p.log.Debug("settings response without quick replies", "path", u.Path)
		return
	}
	p.log.Debug("scanned console quick replies", "count", len(replies))
	p.cfg.FastReplies(replies)
}
