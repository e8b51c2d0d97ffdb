package sysproxy

import (
	"context"
	"fmt"
	"net"
	"os/exec"
	"regexp"
	"strings"

	"github.com/kfsidebar/kfsidebar/internal/nowindow"
)

// gnomeProxy is the GNOME desktop's proxy settings (also read by Chrome,
// Chromium and Firefox's "use system proxy settings" on GNOME, Cinnamon,
// Budgie and Unity), changed with gsettings.
type gnomeProxy struct {
	gsettings string
	run       func(ctx context.Context, name string, args ...string) ([]byte, error)
}

const gnomeSchema = "org.gnome.system.proxy"

func (g *gnomeProxy) Name() string { return "GNOME proxy settings" }

func (g *gnomeProxy) read(ctx context.Context, schema, key string) (string, error) {
	out, err := g.run(ctx, g.gsettings, "get", schema, key)
	if err != nil {
		return "", fmt.Errorf("gsettings get %s %s: %w", schema, key, err)
	}
	return strings.TrimSpace(string(out)), nil
}

func (g *gnomeProxy) Get(ctx context.Context) (Setting, error) {
	mode, err := g.read(ctx, gnomeSchema, "mode")
	if err != nil {
		return Setting{}, err
	}
	autoURL, err := g.read(ctx, gnomeSchema, "autoconfig-url")
	if err != nil {
		return Setting{}, err
	}
	mode, autoURL = gvariantString(mode), gvariantString(autoURL)
	p := Setting{Saved: map[string]string{"mode": mode, "autoconfig-url": autoURL}}
	switch mode {
	case "auto":
		p.PACURL = autoURL // "" is WPAD discovery: restored, but nothing to chain to
	case "manual":
		for _, schema := range []string{gnomeSchema + ".https", gnomeSchema + ".http"} {
			host, err := g.read(ctx, schema, "host")
			if err != nil {
				return Setting{}, err
			}
			port, err := g.read(ctx, schema, "port")
			if err != nil {
				return Setting{}, err
			}
			if h := gvariantString(host); h != "" && port != "0" {
				p.Proxy = net.JoinHostPort(h, strings.TrimPrefix(port, "uint32 "))
				break
			}
		}
		ignore, err := g.read(ctx, gnomeSchema, "ignore-hosts")
		if err != nil {
			return Setting{}, err
		}
		p.Bypass = gvariantStrings(ignore)
	}
	return p, nil
}

func (g *gnomeProxy) set(ctx context.Context, key, value string) error {
	if _, err := g.run(ctx, g.gsettings, "set", gnomeSchema, key, gvariantQuote(value)); err != nil {
		return fmt.Errorf("gsettings set %s %s: %w", gnomeSchema, key, err)
	}
	return nil
}

func (g *gnomeProxy) SetPAC(ctx context.Context, pacURL string) error {
	if err := g.set(ctx, "autoconfig-url", pacURL); err != nil {
		return err
	}
	return g.set(ctx, "mode", "auto")
}

func (g *gnomeProxy) Restore(ctx context.Context, prev Setting) error {
	mode := prev.Saved["mode"]
	if mode == "" {
		mode = "none"
	}
	// The URL first, so no moment has mode 'auto' with our URL gone and
	// an empty one in its place (which would mean WPAD discovery).
	if err := g.set(ctx, "autoconfig-url", prev.Saved["autoconfig-url"]); err != nil {
		return err
	}
	return g.set(ctx, "mode", mode)
}

// gvariantString reads a GVariant string as gsettings prints it: 'text'.
func gvariantString(v string) string {
	v = strings.TrimSpace(v)
	if len(v) >= 2 && (v[0] == '\'' || v[0] == '"') && v[len(v)-1] == v[0] {
		v = v[1 : len(v)-1]
		v = strings.NewReplacer(`\'`, `'`, `\"`, `"`, `\\`, `\`).Replace(v)
	}
	return v
}

var gvariantItemRE = regexp.MustCompile(`'((?:[^'\\]|\\.)*)'`)

// gvariantStrings reads an array of strings: ['a', 'b'] or @as [].
func gvariantStrings(v string) []string {
	var out []string
	for _, m := range gvariantItemRE.FindAllStringSubmatch(v, -1) {
		out = append(out, gvariantString("'"+m[1]+"'"))
	}
	return out
}

// gvariantQuote writes s as a GVariant string for gsettings set.
func gvariantQuote(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

// gnomeLike reports whether the desktop reads org.gnome.system.proxy.
func gnomeLike(desktop string) bool {
	for _, d := range strings.Split(strings.ToUpper(desktop), ":") {
		switch d {
		case "GNOME", "UNITY", "CINNAMON", "X-CINNAMON", "BUDGIE", "BUDGIE-DESKTOP", "PANTHEON", "UBUNTU", "POP", "COSMIC":
			return true
		}
	}
	return false
}

// newGnomeProxy returns the GNOME settings when this desktop uses them
// and gsettings is installed.
func newGnomeProxy(desktop string) (System, error) {
	if !gnomeLike(desktop) {
		return nil, &UnsupportedError{Why: NotGNOME, Desktop: desktop}
	}
	p, err := exec.LookPath("gsettings")
	if err != nil {
		return nil, &UnsupportedError{Why: NoGSettings}
	}
	return &gnomeProxy{gsettings: p, run: runTool}, nil
}

// runTool runs a settings tool and returns its standard output; on
// failure the error carries what it printed on standard error.
func runTool(ctx context.Context, name string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	nowindow.Apply(cmd)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		if msg := strings.TrimSpace(stderr.String()); msg != "" {
			return out, fmt.Errorf("%w: %s", err, msg)
		}
		return out, err
	}
	return out, nil
}
