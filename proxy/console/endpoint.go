package console

import (
	"net/url"
	"strings"
)

// Endpoint classifies a console request by its path and its action query
// value, never the full URL: the token, f=json and cache-busting r/t values
// change on every call. For POST the console also puts action in the query.
//
// Any path beginning with /cgi-bin/kfsessionmgr counts as a manual accept,
// /cgi-bin/kfsessionmgrx included: the only evidence is "kfsessionmgr…", so
// the match errs on the side of scanning. The other two need their exact
// path (one trailing slash tolerated, case-sensitive) and action.
func Endpoint(u *url.URL) (source string, target bool) {
	if u == nil {
		return SourceOther, false
	}
	p := u.Path
	if len(p) > 1 {
		p = strings.TrimSuffix(p, "/")
	}
	if strings.HasPrefix(p, "/cgi-bin/kfsessionmgr") {
		return SourceManual, true
	}
	switch action := u.Query().Get("action"); {
	case p == "/cgi-bin/kfunaccepted" && action == "kfbatchcreatesession":
		return SourceAuto, true
	case p == "/cgi-bin/kftransfer" && action == "gettransferinfo":
		return SourceTransfer, true
	}
	return SourceOther, false
}

// IsSettings reports whether u is the console's settings request (its
// own quick replies), matched like Endpoint: path (one trailing slash tolerated) and action only.
func IsSettings(u *url.URL) bool {
	if u == nil {
		return false
	}
	p := u.Path
	if len(p) > 1 {
		p = strings.TrimSuffix(p, "/")
	}
	return p == "/cgi-bin/kfsettings" && u.Query().Get("action") == "getsettings"
}
