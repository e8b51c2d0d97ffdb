package inject

import (
	"net"
	"slices"
	"strings"

	"github.com/kfsidebar/kfsidebar/proxy/console"
)

// cspSpace is the ASCII whitespace CSP separates source expressions with.
const cspSpace = " \t\n\f\r"

// PatchCSP extends a Content-Security-Policy value so that exactly the
// sidebar's script and websocket are allowed, loosening nothing else: a
// policy that would block them would break the sidebar, and a looser one
// would weaken the console's protection. Several comma-separated policies
// are each patched on their own; every directive not edited stays byte for
// byte, and edits append to the end of a directive's source list.
//
// Scripts: script-src-elem and script-src (for browsers without
// script-src-elem) are each extended if present and not already allowing
// https://ConsoleHost/__kfsidebar/sidebar.js; if script-src is absent but
// default-src present, a script-src copied from default-src is added rather
// than editing default-src, which also governs images, styles and more.
// A list with 'strict-dynamic' ignores host sources, so it gets
// 'nonce-<Nonce>'; any other list gets the path-restricted source
// https://ConsoleHost/__kfsidebar/ and never a nonce, because a nonce would
// disable 'unsafe-inline' and with it the page's own inline scripts.
//
// Websocket: connect-src (or a copy of default-src) gets
// wss://ConsoleHost/__kfsidebar/ws unless a wss source already allows it.
// 'self' covers same-origin wss only in CSP3 browsers, so it does not count.
//
// 'none' is dropped from a list that gets a source, as 'none' alongside a
// source is invalid. A policy without the relevant directives, an invalid
// ConsoleHost or (for 'strict-dynamic') no usable Nonce leaves the policy
// unchanged. Report-only policies are the caller's decision.
func PatchCSP(policy string, inj Injection) (patched string, changed bool) {
	host, port, ok := splitConsoleHost(inj.ConsoleHost)
	if !ok {
		return policy, false
	}
	p := cspPatcher{
		host:   host,
		port:   port,
		script: "https://" + inj.ConsoleHost + console.ReservedPrefix,
		ws:     "wss://" + inj.ConsoleHost + console.ReservedPrefix + "ws",
	}
	if validNonce(inj.Nonce) {
		p.nonce = "'nonce-" + inj.Nonce + "'"
	}
	parts := strings.Split(policy, ",")
	for i, part := range parts {
		if out, ok := p.patchPolicy(part); ok {
			parts[i] = out
			changed = true
		}
	}
	if !changed {
		return policy, false
	}
	return strings.Join(parts, ","), true
}

// cspPatcher holds what PatchCSP adds, for one console host.
type cspPatcher struct {
	host, port string // lower-case host; port, "443" by default
	script, ws string // the source expressions to add
	nonce      string // "'nonce-…'", or "" when the Injection has no usable nonce
}

// cspDirective is one directive of a policy as written.
type cspDirective struct {
	raw     string   // as written, surrounding whitespace included
	name    string   // lower-cased
	sources []string // as written
}

func (p *cspPatcher) patchPolicy(policy string) (string, bool) {
	raws := strings.Split(policy, ";")
	dirs := make([]cspDirective, len(raws))
	first := map[string]int{} // browsers obey the first of duplicate directives
	for i, raw := range raws {
		f := strings.FieldsFunc(raw, isCSPSpace)
		dirs[i].raw = raw
		if len(f) == 0 {
			continue
		}
		dirs[i].name = strings.ToLower(f[0])
		dirs[i].sources = f[1:]
		if _, dup := first[dirs[i].name]; !dup {
			first[dirs[i].name] = i
		}
	}
	changed := false
	var added []string // new directives, appended to the policy
	extend := func(name string, add func([]string) string) {
		i, ok := first[name]
		if !ok {
			return
		}
		if src := add(dirs[i].sources); src != "" {
			dirs[i].raw = withSource(dirs[i], src)
			changed = true
		}
	}
	copyDefault := func(name string, add func([]string) string) {
		if _, ok := first[name]; ok {
			return
		}
		i, ok := first["default-src"]
		if !ok {
			return
		}
		if src := add(dirs[i].sources); src != "" {
			added = append(added, strings.Join(append(append([]string{name}, withoutNone(dirs[i].sources)...), src), " "))
		}
	}
	extend("script-src-elem", p.scriptAddition)
	extend("script-src", p.scriptAddition)
	copyDefault("script-src", p.scriptAddition)
	extend("connect-src", p.wsAddition)
	copyDefault("connect-src", p.wsAddition)
	if !changed && len(added) == 0 {
		return policy, false
	}
	for i := range dirs {
		raws[i] = dirs[i].raw
	}
	out := strings.Join(raws, ";")
	if len(added) > 0 {
		core := strings.TrimRight(out, cspSpace)
		sep := "; "
		if strings.HasSuffix(core, ";") {
			sep = " "
		}
		out = core + sep + strings.Join(added, "; ") + out[len(core):]
	}
	return out, true
}

// scriptAddition returns the source a script list needs to load the
// sidebar, or "" when it needs none (or nothing would help).
func (p *cspPatcher) scriptAddition(sources []string) string {
	if hasSource(sources, "'strict-dynamic'") {
		if p.nonce == "" || slices.ContainsFunc(sources, p.isNonce) {
			return ""
		}
		return p.nonce
	}
	for _, s := range sources {
		switch strings.ToLower(s) {
		case "*", "'self'", "https:":
			return ""
		}
		if p.hostSourceMatches(s, "https", console.ReservedPrefix+"sidebar.js") {
			return ""
		}
	}
	return p.script
}

// isNonce reports whether s is the nonce-source PatchCSP adds: the keyword
// is case-insensitive, the nonce itself is not.
func (p *cspPatcher) isNonce(s string) bool {
	const prefix = len("'nonce-")
	return len(s) == len(p.nonce) && strings.EqualFold(s[:prefix], p.nonce[:prefix]) && s[prefix:] == p.nonce[prefix:]
}

// wsAddition returns the source a connect list needs for the sidebar's
// websocket, or "".
func (p *cspPatcher) wsAddition(sources []string) string {
	for _, s := range sources {
		if strings.EqualFold(s, "wss:") || p.hostSourceMatches(s, "wss", console.ReservedPrefix+"ws") {
			return ""
		}
	}
	return p.ws
}

// hostSourceMatches reports whether the host-source expression s matches
// scheme://ConsoleHost/path. Only an explicit scheme equal to scheme, or
// none for https, counts: the scheme upgrades some browsers apply are not
// relied on.
func (p *cspPatcher) hostSourceMatches(s, scheme, path string) bool {
	rest := s
	srcScheme := ""
	if i := strings.Index(s, "://"); i >= 0 {
		srcScheme, rest = strings.ToLower(s[:i]), s[i+3:]
	}
	if srcScheme != scheme && !(srcScheme == "" && scheme == "https") {
		return false
	}
	hostport, srcPath := rest, ""
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		hostport, srcPath = rest[:i], rest[i:]
	}
	h, port := hostport, ""
	if i := strings.LastIndexByte(hostport, ':'); i >= 0 && !strings.HasSuffix(hostport, "]") {
		h, port = hostport[:i], hostport[i+1:]
	}
	h = strings.ToLower(h)
	switch {
	case h == p.host:
	case strings.HasPrefix(h, "*.") && strings.HasSuffix(p.host, h[1:]):
	default:
		return false
	}
	if port == "" {
		port = "443" // the default port of both https and wss
	}
	if port != "*" && port != p.port {
		return false
	}
	if srcPath == "" || srcPath == "/" {
		return true
	}
	if strings.HasSuffix(srcPath, "/") {
		return strings.HasPrefix(path, srcPath)
	}
	return path == srcPath
}

// withSource returns d's text with src appended to its source list,
// keeping the surrounding whitespace; a list holding 'none' is rewritten
// without it.
func withSource(d cspDirective, src string) string {
	core := strings.Trim(d.raw, cspSpace)
	lead := d.raw[:len(d.raw)-len(strings.TrimLeft(d.raw, cspSpace))]
	trail := d.raw[len(lead)+len(core):]
	if hasSource(d.sources, "'none'") {
		name := strings.FieldsFunc(core, isCSPSpace)[0]
		core = strings.Join(append([]string{name}, withoutNone(d.sources)...), " ")
	}
	return lead + core + " " + src + trail
}

func withoutNone(sources []string) []string {
	out := make([]string, 0, len(sources))
	for _, s := range sources {
		if !strings.EqualFold(s, "'none'") {
			out = append(out, s)
		}
	}
	return out
}

func hasSource(sources []string, want string) bool {
	for _, s := range sources {
		if strings.EqualFold(s, want) {
			return true
		}
	}
	return false
}

func isCSPSpace(r rune) bool { return strings.ContainsRune(cspSpace, r) }

// splitConsoleHost validates ConsoleHost for use in a source expression
// (it must not smuggle in other sources or directives) and returns its host
// as a source expression writes it (lower-cased, IPv6 in brackets) and its
// port.
func splitConsoleHost(hostport string) (host, port string, ok bool) {
	for _, c := range hostport {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune(".-:[]", c)) {
			return "", "", false
		}
	}
	host, port = hostport, "443"
	if h, p, err := net.SplitHostPort(hostport); err == nil {
		host, port = h, p
		if strings.Contains(h, ":") {
			host = "[" + h + "]"
		}
	} else if strings.Contains(hostport, ":") && !(strings.HasPrefix(hostport, "[") && strings.HasSuffix(hostport, "]")) {
		return "", "", false
	}
	if host == "" || host == "[]" || port == "" || strings.Trim(port, "0123456789") != "" {
		return "", "", false
	}
	return strings.ToLower(host), port, true
}

// validNonce reports whether a nonce is base64 (standard or URL), the only
// form a CSP nonce-source accepts.
func validNonce(n string) bool {
	if n == "" {
		return false
	}
	for _, c := range n {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("+/=-_", c)) {
			return false
		}
	}
	return true
}
