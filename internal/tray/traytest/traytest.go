// Package traytest is a desktop's tray for the tests of kfsidebar's tray
// on Linux: a private D-Bus session bus (Bus), and on it a fake tray host
// (Host) that owns org.kde.StatusNotifierWatcher, as a desktop's panel
// does, and reads the icon, the tooltip and the menu (com.canonical.dbusmenu)
// of the item that registers, and clicks its menu items.
//
// The bus also runs the session's settings (dconf, through D-Bus
// activation), so gsettings, and Chromium's reading of GNOME's proxy
// settings, work on it as on a GNOME desktop.
package traytest

import (
	"bufio"
	"fmt"
	"image/color"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
)

// Bus is a private session bus with a home of its own.
type Bus struct {
	// Addr is the bus's address (DBUS_SESSION_BUS_ADDRESS).
	Addr string
	// Home is the session's $HOME; the XDG directories are inside it.
	Home string
}

// StartBus starts a dbus-daemon for the test and stops it when the test
// ends. Without dbus-daemon the test is skipped, or fails on CI (which
// installs Debian's dbus).
func StartBus(t testing.TB) *Bus {
	t.Helper()
	daemon, err := exec.LookPath("dbus-daemon")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("dbus-daemon not found (Debian: dbus); CI installs it")
		}
		t.Skip("dbus-daemon not found (Debian: dbus)")
	}
	home := t.TempDir()
	b := &Bus{Home: home}
	for _, d := range []string{".config", ".local/share", ".cache", "run"} {
		os.MkdirAll(filepath.Join(home, d), 0o700)
	}
	sock := filepath.Join(home, "run", "bus")
	cmd := exec.Command(daemon, "--session", "--nofork", "--nopidfile", "--print-address=1", "--address=unix:path="+sock)
	cmd.Env = b.Env(os.Environ())
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder // the daemon's complaints, shown if the test fails
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() && stderr.Len() > 0 {
			t.Logf("dbus-daemon said:\n%s", stderr.String())
		}
	})
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("dbus-daemon printed no address: %v", err)
	}
	b.Addr = strings.TrimSpace(line)
	return b
}

// Env returns env with the bus and the session's home and XDG
// directories: the environment of a program of this session.
func (b *Bus) Env(env []string) []string {
	set := map[string]string{
		"HOME":            b.Home,
		"XDG_CONFIG_HOME": filepath.Join(b.Home, ".config"),
		"XDG_DATA_HOME":   filepath.Join(b.Home, ".local/share"),
		"XDG_CACHE_HOME":  filepath.Join(b.Home, ".cache"),
		"XDG_RUNTIME_DIR": filepath.Join(b.Home, "run"),
	}
	if b.Addr != "" {
		set["DBUS_SESSION_BUS_ADDRESS"] = b.Addr
	}
	out := make([]string, 0, len(env)+len(set))
	for _, e := range env {
		k, _, _ := strings.Cut(e, "=")
		if _, ok := set[k]; !ok {
			out = append(out, e)
		}
	}
	for k, v := range set {
		out = append(out, k+"="+v)
	}
	return out
}

const (
	watcherName  = "org.kde.StatusNotifierWatcher"
	watcherPath  = "/StatusNotifierWatcher"
	itemIface    = "org.kde.StatusNotifierItem"
	menuIface    = "com.canonical.dbusmenu"
	watcherIface = watcherName
)

// Host is the fake tray host.
type Host struct {
	conn *dbus.Conn

	mu    sync.Mutex
	items []string // "service/path" of the items registered, in order
}

// watcher is the exported org.kde.StatusNotifierWatcher.
type watcher struct{ h *Host }

// RegisterStatusNotifierItem is how an item announces itself: with its
// object path (what fyne.io/systray sends) or its bus name.
func (w watcher) RegisterStatusNotifierItem(sender dbus.Sender, service string) *dbus.Error {
	item := string(sender) + service
	if !strings.HasPrefix(service, "/") {
		item = service + "/StatusNotifierItem"
	}
	w.h.mu.Lock()
	w.h.items = append(w.h.items, item)
	w.h.mu.Unlock()
	return nil
}

func (w watcher) RegisterStatusNotifierHost(dbus.Sender, string) *dbus.Error { return nil }

// NewHost connects to the bus and becomes its tray host.
func NewHost(t testing.TB, b *Bus) *Host {
	t.Helper()
	conn, err := dbus.Connect(b.Addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	h := &Host{conn: conn}
	if err := conn.Export(watcher{h}, watcherPath, watcherIface); err != nil {
		t.Fatal(err)
	}
	reply, err := conn.RequestName(watcherName, dbus.NameFlagDoNotQueue)
	if err != nil || reply != dbus.RequestNameReplyPrimaryOwner {
		t.Fatalf("own %s: %v %v", watcherName, reply, err)
	}
	return h
}

// Items returns the items registered so far.
func (h *Host) Items() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.items...)
}

// WaitItem waits (up to timeout) for an item to register and returns the
// latest.
func (h *Host) WaitItem(t testing.TB, timeout time.Duration) *Item {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		if items := h.Items(); len(items) > 0 {
			it := items[len(items)-1]
			i := strings.Index(it, "/")
			return &Item{h: h, service: it[:i], path: dbus.ObjectPath(it[i:])}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no tray item registered within %v", timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Item is one StatusNotifierItem, as the host sees it.
type Item struct {
	h       *Host
	service string
	path    dbus.ObjectPath
}

func (i *Item) prop(name string) (dbus.Variant, error) {
	return i.h.conn.Object(i.service, i.path).GetProperty(itemIface + "." + name)
}

// Title is the item's Title.
func (i *Item) Title() (string, error) {
	v, err := i.prop("Title")
	if err != nil {
		return "", err
	}
	s, _ := v.Value().(string)
	return s, nil
}

// Tooltip is the title of the item's ToolTip.
func (i *Item) Tooltip() (string, error) {
	v, err := i.prop("ToolTip")
	if err != nil {
		return "", err
	}
	parts, ok := v.Value().([]any)
	if !ok || len(parts) < 3 {
		return "", fmt.Errorf("ToolTip is %T %v", v.Value(), v.Value())
	}
	s, _ := parts[2].(string)
	return s, nil
}

// IconColor is the icon's main colour: the commonest opaque colour that
// is not white (the sign drawn on it).
func (i *Item) IconColor() (color.RGBA, error) {
	v, err := i.prop("IconPixmap")
	if err != nil {
		return color.RGBA{}, err
	}
	var pixmaps []struct {
		W, H int32
		Pix  []byte
	}
	if err := dbus.Store([]any{v.Value()}, &pixmaps); err != nil || len(pixmaps) == 0 {
		return color.RGBA{}, fmt.Errorf("IconPixmap %v: %v", v.Value(), err)
	}
	count := map[color.RGBA]int{}
	pix := pixmaps[0].Pix // ARGB32, network byte order
	for j := 0; j+3 < len(pix); j += 4 {
		c := color.RGBA{pix[j+1], pix[j+2], pix[j+3], pix[j]}
		if c.A == 0xff && c != (color.RGBA{0xff, 0xff, 0xff, 0xff}) {
			count[c]++
		}
	}
	var best color.RGBA
	for c, n := range count {
		if n > count[best] {
			best = c
		}
	}
	return best, nil
}

// MenuItem is one entry of the item's menu.
type MenuItem struct {
	ID        int32
	Label     string
	Enabled   bool
	Separator bool
	// Checkbox and Checked: a check mark item, and whether it is ticked.
	Checkbox, Checked bool
}

func (i *Item) menuPath() (dbus.ObjectPath, error) {
	v, err := i.prop("Menu")
	if err != nil {
		return "", err
	}
	p, ok := v.Value().(dbus.ObjectPath)
	if !ok {
		return "", fmt.Errorf("Menu is %T", v.Value())
	}
	return p, nil
}

// Menu reads the menu's top level, as a panel does when it is opened.
func (i *Item) Menu() ([]MenuItem, error) {
	path, err := i.menuPath()
	if err != nil {
		return nil, err
	}
	var rev uint32
	var layout struct {
		ID       int32
		Props    map[string]dbus.Variant
		Children []dbus.Variant
	}
	if err := i.h.conn.Object(i.service, path).Call(menuIface+".GetLayout", 0, int32(0), int32(-1), []string{}).Store(&rev, &layout); err != nil {
		return nil, err
	}
	var items []MenuItem
	for _, c := range layout.Children {
		var child struct {
			ID       int32
			Props    map[string]dbus.Variant
			Children []dbus.Variant
		}
		if err := dbus.Store([]any{c.Value()}, &child); err != nil {
			return nil, fmt.Errorf("menu child %v: %w", c.Value(), err)
		}
		it := MenuItem{ID: child.ID, Enabled: true}
		for k, v := range child.Props {
			switch k {
			case "label":
				it.Label, _ = v.Value().(string)
			case "enabled":
				it.Enabled, _ = v.Value().(bool)
			case "type":
				it.Separator = v.Value() == "separator"
			case "toggle-type":
				it.Checkbox = v.Value() == "checkmark"
			case "toggle-state":
				n, _ := v.Value().(int32)
				if n == 0 {
					if m, ok := v.Value().(int); ok {
						n = int32(m)
					}
				}
				it.Checked = n == 1
			}
		}
		items = append(items, it)
	}
	return items, nil
}

// Click chooses the menu item labelled label.
func (i *Item) Click(label string) error {
	items, err := i.Menu()
	if err != nil {
		return err
	}
	path, err := i.menuPath()
	if err != nil {
		return err
	}
	for _, it := range items {
		if it.Label == label {
			return i.h.conn.Object(i.service, path).Call(menuIface+".Event", 0, it.ID, "clicked", dbus.MakeVariant(""), uint32(time.Now().Unix())).Err
		}
	}
	return fmt.Errorf("no menu item %q in %+v", label, items)
}
