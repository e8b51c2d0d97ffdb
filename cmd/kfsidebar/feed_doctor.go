package main

import (
	"strings"

	"github.com/kfsidebar/kfsidebar/internal/msg"
)

// checkGateway reports the running kfsidebar's subscription to the shop's
// push gateway, when [gateway] names one. A refused token or an untrusted
// certificate is a setup to fix; a gateway that cannot be reached may be
// down for a while, and kfsidebar keeps trying.
func (d *doctor) checkGateway() {
	what := d.s(msg.DoctorPushGateway)
	g := d.cfg.Gateway
	if !g.enabled() {
		return
	}
	switch {
	case d.status == nil:
		d.add(checkWarn, what, d.s(msg.DoctorUnknown), d.s(msg.DoctorStartAgain))
		return
	case d.status.Gateway == nil:
		d.add(checkWarn, what, d.s(msg.DoctorNotSubscribed, g.URL), d.s(msg.DoctorRestartConfig))
		return
	}
	h := d.status.Gateway
	if h.Connected {
		detail := d.s(msg.DoctorSubscribed, h.URL)
		if h.Events > 0 {
			detail += d.s(msg.DoctorEvents, h.Events, h.LastEventAt.Local().Format("15:04:05"))
		}
		d.add(checkOK, what, detail, "")
		return
	}
	detail := d.s(msg.DoctorCannotReach, h.URL)
	if !h.Since.IsZero() {
		detail += d.s(msg.DoctorReachSince, h.Since.Local().Format("2006-01-02 15:04:05"))
	}
	if h.LastError != "" {
		detail += d.s(msg.DoctorReachError, h.LastError)
	}
	detail += d.s(msg.DoctorFeedWaits)
	switch e := strings.ToLower(h.LastError); {
	case strings.Contains(e, "token"):
		d.add(checkFail, what, detail, d.s(msg.DoctorGatewayToken))
	case strings.Contains(e, "certificate"):
		d.add(checkFail, what, detail, d.s(msg.DoctorGatewayCA))
	default:
		d.add(checkWarn, what, detail, d.s(msg.DoctorGatewayDown, h.URL))
	}
}
