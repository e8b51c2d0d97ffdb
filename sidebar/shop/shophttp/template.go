package shophttp

import (
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strings"
)

// urlTemplate is a URL with {name} placeholders.
type urlTemplate struct {
	raw   string
	query int // index of the "?", or len(raw): placeholders after it are query-escaped
}

var placeholderRE = regexp.MustCompile(`\{[^{}]*\}`)

// parseURLTemplate checks that the template is an absolute http(s) URL
// whose placeholders are among names, with the first name required when
// the parameters go in the URL.
func parseURLTemplate(key, raw string, required bool, names ...string) (*urlTemplate, error) {
	if raw == "" {
		return nil, fmt.Errorf("%s: required, e.g. \"https://shop.example/kfsidebar/customers/by-openid/{openid}\"", key)
	}
	t := &urlTemplate{raw: raw, query: len(raw)}
	if i := strings.IndexByte(raw, '?'); i >= 0 {
		t.query = i
	}
	seen := map[string]bool{}
	for _, p := range placeholderRE.FindAllString(raw, -1) {
		name := p[1 : len(p)-1]
		ok := false
		for _, n := range names {
			ok = ok || n == name
		}
		if !ok {
			return nil, fmt.Errorf("%s: unknown placeholder %s; this URL can use {%s}", key, p, strings.Join(names, "}, {"))
		}
		seen[name] = true
	}
	if required && !seen[names[0]] {
		return nil, fmt.Errorf("%s: must contain {%s} where the %s goes", key, names[0], names[0])
	}
	example := map[string]string{}
	for _, n := range names {
		example[n] = "x"
	}
	u, err := url.Parse(t.expand(example))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%s %q: must be an absolute http(s) URL", key, raw)
	}
	return t, nil
}

// expand fills in the placeholders, path-escaped in the path and
// query-escaped in the query.
func (t *urlTemplate) expand(params map[string]string) string {
	var b strings.Builder
	last := 0
	for _, loc := range placeholderRE.FindAllStringIndex(t.raw, -1) {
		b.WriteString(t.raw[last:loc[0]])
		v := params[t.raw[loc[0]+1:loc[1]-1]]
		if loc[0] > t.query {
			b.WriteString(url.QueryEscape(v))
		} else {
			b.WriteString(url.PathEscape(v))
		}
		last = loc[1]
	}
	b.WriteString(t.raw[last:])
	return b.String()
}

// plainRemote says whether the template sends data unencrypted to another
// machine.
func (t *urlTemplate) plainRemote() bool {
	u, err := url.Parse(t.expand(nil))
	if err != nil || u.Scheme != "http" {
		return false
	}
	host := u.Hostname()
	if host == "localhost" {
		return false
	}
	ip := net.ParseIP(host)
	return ip == nil || !ip.IsLoopback()
}
