package sysproxy

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// SamePAC reports whether a and b name the same PAC file: equal but for
// the query string and fragment, which Refresh changes on every start of
// kfsidebar so that browsers fetch the file again at once.
func SamePAC(a, b string) bool {
	return withoutQuery(a) == withoutQuery(b)
}

func withoutQuery(u string) string {
	if i := strings.IndexAny(u, "?#"); i >= 0 {
		return u[:i]
	}
	return u
}

// FreshURL is pacURL with a query string of its own, ?t=<unix
// milliseconds of at>: a URL no browser has fetched yet. Chromium fetches
// a PAC again at once when the setting changes, but retries one it could
// not fetch only after 8 s, 32 s, 2 min and then every 4 hours: a
// kfsidebar started after the browser would go unused for hours.
func FreshURL(pacURL string, at time.Time) string {
	return withoutQuery(pacURL) + "?t=" + strconv.FormatInt(at.UnixMilli(), 10)
}

// RefreshOutcome says what Refresh did.
type RefreshOutcome int

const (
	// Refreshed: the fresh URL is in force.
	Refreshed RefreshOutcome = iota
	// NotOn: `kfsidebar proxy on` was never run (or was undone), so the
	// system's setting is not kfsidebar's to change: the agent uses
	// `kfsidebar open`, or set the PAC by hand.
	NotOn
	// NotOurs: the setting in force is no longer kfsidebar's PAC (someone
	// changed it since On): it is left alone.
	NotOurs
)

func (o RefreshOutcome) String() string {
	switch o {
	case Refreshed:
		return "refreshed"
	case NotOn:
		return "proxy not on"
	case NotOurs:
		return "setting changed since proxy on"
	}
	return "RefreshOutcome(" + strconv.Itoa(int(o)) + ")"
}

// Refresh points the system at pacURL again under a fresh query string
// (FreshURL at now), but only while the setting On made is in force: it
// never takes over a setting kfsidebar did not make. The state file keeps
// what On replaced, so Off still restores it.
func Refresh(ctx context.Context, sys System, dataDir, pacURL string, now time.Time) (RefreshOutcome, string, error) {
	st, err := ReadState(dataDir)
	if err != nil {
		return 0, "", err
	}
	if st == nil {
		return NotOn, "", nil
	}
	cur, err := sys.Get(ctx)
	if err != nil {
		return 0, "", err
	}
	if !SamePAC(cur.PACURL, st.PACURL) {
		return NotOurs, cur.PACURL, nil
	}
	if _, err := url.Parse(pacURL); err != nil {
		return 0, "", fmt.Errorf("refresh %s: %w", sys.Name(), err)
	}
	fresh := FreshURL(pacURL, now)
	st.PACURL = fresh
	if err := WriteState(dataDir, *st); err != nil {
		return 0, "", err
	}
	if err := sys.SetPAC(ctx, fresh); err != nil {
		return 0, "", fmt.Errorf("refresh %s: %w", sys.Name(), err)
	}
	return Refreshed, fresh, nil
}
