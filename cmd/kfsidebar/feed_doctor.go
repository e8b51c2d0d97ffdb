package main

import (
	"fmt"
	"strings"
)

// checkGateway reports the running kfsidebar's subscription to the shop's
// push gateway, when [gateway] names one. A refused token or an untrusted
// certificate is a setup to fix; a gateway that cannot be reached may be
// down for a while, and kfsidebar keeps trying.
func (d *doctor) checkGateway() {
	const what = "push gateway"
	g := d.cfg.Gateway
	if !g.enabled() {
		return
	}
	switch {
	case d.status == nil:
		d.add(checkWarn, what, "unknown while kfsidebar is not running", "start kfsidebar run, then run doctor again")
		return
	case d.status.Gateway == nil:
		d.add(checkWarn, what, "the running kfsidebar does not subscribe to "+g.URL, "restart kfsidebar run with this configuration")
		return
	}
	h := d.status.Gateway
	if h.Connected {
		detail := "subscribed to " + h.URL
		if h.Events > 0 {
			detail += fmt.Sprintf("; %d events, the last at %s", h.Events, h.LastEventAt.Local().Format("15:04:05"))
		}
		d.add(checkOK, what, detail, "")
		return
	}
	detail := "cannot reach " + h.URL
	if !h.Since.IsZero() {
		detail += " since " + h.Since.Local().Format("2006-01-02 15:04:05")
	}
	if h.LastError != "" {
		detail += ": " + h.LastError
	}
	detail += "; 来源 and tracking updates wait"
	switch e := strings.ToLower(h.LastError); {
	case strings.Contains(e, "token"):
		d.add(checkFail, what, detail, "set [gateway] token (or token_env) to this workstation's token in the gateway's configuration")
	case strings.Contains(e, "certificate"):
		d.add(checkFail, what, detail, "give the gateway's CA with [gateway] ca_file, or give the gateway a certificate this computer trusts")
	default:
		d.add(checkWarn, what, detail, "check that the gateway runs and that this computer reaches "+h.URL+" (through the office proxy, if any); kfsidebar keeps trying")
	}
}
