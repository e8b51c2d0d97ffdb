// Package sysproxy reads and changes the operating system's proxy
// settings, as far as kfsidebar needs them: it points the system's
// automatic proxy configuration at kfsidebar's PAC file and puts back
// exactly what was there. It knows GNOME's settings (gsettings), macOS's
// (networksetup) and Windows' (the Internet Settings registry key); on any
// other desktop New returns ErrUnsupported (an UnsupportedError) and the
// user sets the PAC by hand.
//
// What On replaced is remembered in a state file in the data directory,
// written before anything changes, so that Off can restore it even after a
// failure halfway, and so that kfsidebar can chain to the office proxy
// that was in force.
package sysproxy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/kfsidebar/kfsidebar/internal/atomicfile"
)

// Setting is the operating system's proxy configuration, as far as
// kfsidebar needs it: whether an automatic configuration URL is in force,
// the manual proxy kfsidebar may have to chain to, and the platform's own
// values so that Restore puts back exactly what was there.
type Setting struct {
	// PACURL is the automatic configuration URL in force; "" for none.
	PACURL string `json:"pac_url,omitempty"`
	// Proxy is the manual proxy for HTTPS as "host:port"; "" for none.
	Proxy string `json:"proxy,omitempty"`
	// Bypass are the hosts that skip Proxy, as the system writes them.
	Bypass []string `json:"bypass,omitempty"`
	// Saved holds the platform's values kfsidebar changes, to restore.
	Saved map[string]string `json:"saved,omitempty"`
}

// Describe says what the setting is, for a person.
func (p Setting) Describe() string {
	switch {
	case p.PACURL != "":
		return "automatic configuration " + p.PACURL
	case p.Proxy != "":
		return "manual proxy " + p.Proxy
	}
	return "no proxy"
}

// System reads and changes one platform's proxy settings.
type System interface {
	// Name says which settings: "GNOME proxy settings".
	Name() string
	// Get reads the setting in force.
	Get(ctx context.Context) (Setting, error)
	// SetPAC makes pacURL the automatic configuration in force.
	SetPAC(ctx context.Context, pacURL string) error
	// Restore puts back what Get returned before SetPAC.
	Restore(ctx context.Context, prev Setting) error
}

// ErrUnsupported means kfsidebar does not know this system's proxy
// settings; the message says what to do by hand.
var ErrUnsupported = errors.New("cannot change the proxy settings of this system")

// UnsupportedError is ErrUnsupported with why, as facts, so that the
// command line can say it in the user's language; Error says it in
// English, for the logs and for English users.
type UnsupportedError struct {
	Why Unsupported
	// Desktop is $XDG_CURRENT_DESKTOP (NotGNOME); "" when there is no
	// desktop session.
	Desktop string
}

// Unsupported is why kfsidebar cannot change the proxy settings.
type Unsupported int

const (
	// NotGNOME: the desktop does not read GNOME's settings, or there is
	// no desktop session.
	NotGNOME Unsupported = iota
	// NoGSettings: a GNOME desktop without the gsettings tool.
	NoGSettings
	// NoNetworkService: macOS's networksetup lists no enabled network
	// service.
	NoNetworkService
)

func (e *UnsupportedError) Error() string {
	switch e.Why {
	case NoGSettings:
		return ErrUnsupported.Error() + ": gsettings not found (Debian, Ubuntu: sudo apt install libglib2.0-bin), or use `kfsidebar open`"
	case NoNetworkService:
		return ErrUnsupported.Error() + ": networksetup lists no enabled network service"
	}
	what := e.Desktop
	if what == "" {
		what = "no desktop session (XDG_CURRENT_DESKTOP is empty)"
	}
	return ErrUnsupported.Error() + " (" + what + "): set the automatic proxy configuration URL in your desktop's or browser's network settings by hand (KDE: System Settings → Network → Proxy; Firefox: Settings → Network Settings), or use `kfsidebar open`"
}

// Unwrap makes the error ErrUnsupported for errors.Is.
func (e *UnsupportedError) Unwrap() error { return ErrUnsupported }

// StateFile remembers, in the data directory, what On replaced, for Off
// and for `kfsidebar run` (which chains to the proxy that was there
// before).
const StateFile = "system-proxy.json"

// State is the content of StateFile.
type State struct {
	System   string    `json:"system"`
	PACURL   string    `json:"pac_url"`
	Previous Setting   `json:"previous"`
	SetAt    time.Time `json:"set_at"`
}

// ReadState reads dataDir's StateFile; nil when there is none.
func ReadState(dataDir string) (*State, error) {
	b, err := os.ReadFile(filepath.Join(dataDir, StateFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read proxy state: %w", err)
	}
	var st State
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("read proxy state %s: %w (delete the file if the proxy settings are as you want them)", filepath.Join(dataDir, StateFile), err)
	}
	return &st, nil
}

// WriteState replaces dataDir's StateFile, atomically and private.
func WriteState(dataDir string, st State) error {
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return fmt.Errorf("write proxy state: %w", err)
	}
	return atomicfile.Write(filepath.Join(dataDir, StateFile), append(b, '\n'), 0o600)
}

// OtherPACError is On's refusal to replace an automatic configuration
// that is not kfsidebar's: it may come from the IT department.
type OtherPACError struct {
	System string // the settings' name
	URL    string // the PAC in force
}

func (e *OtherPACError) Error() string {
	return fmt.Sprintf("%s already use the automatic configuration %s", e.System, e.URL)
}

// OnResult is what On found and did.
type OnResult struct {
	// Already is true when pacURL was in force already: nothing changed.
	Already bool
	// Previous is the setting On replaced (or found, when Already).
	Previous Setting
}

// On makes pacURL the system's automatic proxy configuration. It refuses
// (OtherPACError) to replace another PAC; it writes the state file before
// changing anything, and reads the setting back to check that the change
// took.
func On(ctx context.Context, sys System, dataDir, pacURL string) (OnResult, error) {
	cur, err := sys.Get(ctx)
	if err != nil {
		return OnResult{}, err
	}
	if SamePAC(cur.PACURL, pacURL) {
		return OnResult{Already: true, Previous: cur}, nil
	}
	if cur.PACURL != "" {
		return OnResult{}, &OtherPACError{System: sys.Name(), URL: cur.PACURL}
	}
	// Remember first: if setting fails halfway, Off still knows what to
	// restore.
	if err := WriteState(dataDir, State{System: sys.Name(), PACURL: pacURL, Previous: cur, SetAt: time.Now()}); err != nil {
		return OnResult{}, err
	}
	if err := sys.SetPAC(ctx, pacURL); err != nil {
		forgetIfUnchanged(ctx, sys, dataDir, cur)
		return OnResult{}, fmt.Errorf("set %s: %w", sys.Name(), err)
	}
	after, err := sys.Get(ctx)
	if err != nil {
		return OnResult{}, err
	}
	if after.PACURL != pacURL {
		forgetIfUnchanged(ctx, sys, dataDir, cur)
		return OnResult{}, fmt.Errorf("set %s: the setting still reads %q; set the automatic proxy configuration to %s by hand", sys.Name(), after.Describe(), pacURL)
	}
	return OnResult{Previous: cur}, nil
}

// forgetIfUnchanged removes the state file On wrote when the setting is
// still exactly what On found: a failed On that changed nothing leaves
// nothing behind. When anything changed, the record stays for Off.
func forgetIfUnchanged(ctx context.Context, sys System, dataDir string, before Setting) {
	now, err := sys.Get(ctx)
	if err != nil || now.PACURL != before.PACURL || now.Proxy != before.Proxy || !maps.Equal(now.Saved, before.Saved) {
		return
	}
	os.Remove(filepath.Join(dataDir, StateFile))
}

// OffOutcome says what Off did.
type OffOutcome int

const (
	// Restored: the setting On replaced is back.
	Restored OffOutcome = iota
	// RemovedUnrecorded: pacURL was in force with no record of what was
	// before (set by hand, or the state file was lost); it is removed,
	// leaving no proxy.
	RemovedUnrecorded
	// NothingToUndo: kfsidebar did not change the setting.
	NothingToUndo
	// ChangedSince: the setting changed since On; it is left alone and
	// the record forgotten.
	ChangedSince
)

// OffResult is what Off found and did.
type OffResult struct {
	Outcome OffOutcome
	// Current is the setting Off found.
	Current Setting
	// Restored is the setting put back (Outcome Restored).
	Restored Setting
}

// Off undoes On: it restores the recorded setting if pacURL is still the
// one in force, and checks that it took.
func Off(ctx context.Context, sys System, dataDir, pacURL string) (OffResult, error) {
	st, err := ReadState(dataDir)
	if err != nil {
		return OffResult{}, err
	}
	cur, err := sys.Get(ctx)
	if err != nil {
		return OffResult{}, err
	}
	statePath := filepath.Join(dataDir, StateFile)
	if st == nil {
		if !SamePAC(cur.PACURL, pacURL) {
			return OffResult{Outcome: NothingToUndo, Current: cur}, nil
		}
		if err := sys.Restore(ctx, Setting{}); err != nil {
			return OffResult{}, fmt.Errorf("restore %s: %w", sys.Name(), err)
		}
		return OffResult{Outcome: RemovedUnrecorded, Current: cur}, nil
	}
	if !SamePAC(cur.PACURL, st.PACURL) {
		os.Remove(statePath)
		return OffResult{Outcome: ChangedSince, Current: cur}, nil
	}
	if err := sys.Restore(ctx, st.Previous); err != nil {
		return OffResult{}, fmt.Errorf("restore %s: %w", sys.Name(), err)
	}
	after, err := sys.Get(ctx)
	if err != nil {
		return OffResult{}, err
	}
	if after.PACURL != st.Previous.PACURL {
		return OffResult{}, fmt.Errorf("restore %s: the setting reads %q, want %q; set it by hand", sys.Name(), after.Describe(), st.Previous.Describe())
	}
	if err := os.Remove(statePath); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return OffResult{}, err
	}
	return OffResult{Outcome: Restored, Current: cur, Restored: st.Previous}, nil
}

// parseWindowsProxyServer reads Internet Settings' ProxyServer: one
// "host:port" for every protocol, or "http=h:p;https=h:p;socks=h:p". The
// proxy for HTTPS is what kfsidebar chains to.
func parseWindowsProxyServer(v string) string {
	v = strings.TrimSpace(v)
	if v == "" || !strings.Contains(v, "=") {
		return v
	}
	byProto := map[string]string{}
	for _, part := range strings.Split(v, ";") {
		if k, val, ok := strings.Cut(strings.TrimSpace(part), "="); ok {
			byProto[strings.ToLower(strings.TrimSpace(k))] = strings.TrimSpace(val)
		}
	}
	for _, k := range []string{"https", "http"} {
		if byProto[k] != "" {
			return strings.TrimPrefix(strings.TrimPrefix(byProto[k], "http://"), "https://")
		}
	}
	return ""
}
