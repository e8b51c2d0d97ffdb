package sidebar

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"
)

// 来源: where a user came from. A mini program's contact button carries
// session-from="…", which WeChat passes to the push gateway in
// user_enter_tempsession's SessionFrom and never shows in the console.
// The shop's patterns read it: order:{order_no} names an order (the
// sidebar opens it in the customer card), goods:{sku} a product.

// SourcePattern is one of the shop's 来源 patterns, as configured
// ([[gateway.sources]] in kfsidebar.toml).
type SourcePattern struct {
	// Pattern is the SessionFrom it matches: literal text and {name}
	// placeholders, each matching one or more characters, e.g.
	// "order:{order_no}". {order_no} opens that order in the sidebar,
	// {sku} shows the product; other names are shown as they are.
	Pattern string
	// Label is what the sidebar says, e.g. "从订单进入".
	Label string
}

// Sources reads SessionFrom values with the shop's patterns, the first
// that matches winning. The zero value matches nothing.
type Sources struct {
	rules []sourceRule
}

type sourceRule struct {
	re    *regexp.Regexp
	names []string
	label string
}

var placeholderRE = regexp.MustCompile(`\{([^{}]*)\}`)
var placeholderNameRE = regexp.MustCompile(`^[a-z_][a-z0-9_]*$`)

// NewSources compiles the patterns, saying what is wrong with a bad one
// in words the shop can act on.
func NewSources(patterns []SourcePattern) (*Sources, error) {
	s := &Sources{}
	for i, p := range patterns {
		r, err := compileSource(p)
		if err != nil {
			return nil, fmt.Errorf("pattern %d %q: %w", i+1, p.Pattern, err)
		}
		s.rules = append(s.rules, r)
	}
	return s, nil
}

func compileSource(p SourcePattern) (sourceRule, error) {
	if strings.TrimSpace(p.Pattern) == "" {
		return sourceRule{}, fmt.Errorf("empty; write it like \"order:{order_no}\"")
	}
	if strings.TrimSpace(p.Label) == "" {
		return sourceRule{}, fmt.Errorf("no label; say what the agent should read, e.g. \"从订单进入\"")
	}
	r := sourceRule{label: strings.TrimSpace(p.Label)}
	var expr strings.Builder
	expr.WriteString("^")
	last := 0
	for _, m := range placeholderRE.FindAllStringSubmatchIndex(p.Pattern, -1) {
		literal := p.Pattern[last:m[0]]
		name := p.Pattern[m[2]:m[3]]
		switch {
		case strings.ContainsAny(literal, "{}"):
			return sourceRule{}, fmt.Errorf("an unclosed { or a stray }")
		case !placeholderNameRE.MatchString(name):
			return sourceRule{}, fmt.Errorf("{%s}: a placeholder is a name like {order_no} or {sku}", name)
		case slices.Contains(r.names, name):
			return sourceRule{}, fmt.Errorf("{%s} appears twice", name)
		case last > 0 && literal == "":
			return sourceRule{}, fmt.Errorf("{%s} follows another placeholder directly: put text between them", name)
		}
		expr.WriteString(regexp.QuoteMeta(literal))
		expr.WriteString("(.+?)")
		r.names = append(r.names, name)
		last = m[1]
	}
	if strings.ContainsAny(p.Pattern[last:], "{}") {
		return sourceRule{}, fmt.Errorf("an unclosed { or a stray }")
	}
	expr.WriteString(regexp.QuoteMeta(p.Pattern[last:]))
	expr.WriteString("$")
	re, err := regexp.Compile(expr.String())
	if err != nil {
		return sourceRule{}, err
	}
	r.re = re
	return r, nil
}

// sourceInfo is a 来源 as the page shows it.
type sourceInfo struct {
	// Raw is SessionFrom as it came.
	Raw string `json:"raw"`
	// Label is the matching pattern's label, "" when none matched.
	Label string `json:"label,omitempty"`
	// Fields are the pattern's placeholders and their values, in the
	// pattern's order.
	Fields []sourceField `json:"fields,omitempty"`
	// At is when the user entered the chat (the push's CreateTime).
	At time.Time `json:"at"`
}

type sourceField struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// read matches raw against the patterns.
func (s *Sources) read(raw string, at time.Time) *sourceInfo {
	info := &sourceInfo{Raw: raw, At: at}
	if s == nil {
		return info
	}
	for _, r := range s.rules {
		m := r.re.FindStringSubmatch(raw)
		if m == nil {
			continue
		}
		info.Label = r.label
		for i, name := range r.names {
			info.Fields = append(info.Fields, sourceField{Name: name, Value: m[i+1]})
		}
		break
	}
	return info
}

// How long and how many 来源 and tracking updates the hub remembers: a
// chat is answered within its 48 h window, and a workstation sees a few
// thousand users a day at most.
const (
	liveKeep = 48 * time.Hour
	liveMax  = 20_000
)

// live is what the push gateway told the hub: each user's latest 来源
// and each waybill's latest tracking step. Memory only: the gateway's
// feed hands the recent ones again after a restart.
type live struct {
	mu      sync.Mutex
	sources map[string]*sourceInfo    // openid →
	tracks  map[string]TrackingUpdate // trackKey →
}

// SessionFrom records where a user came from (user_enter_tempsession's
// SessionFrom, at its CreateTime) and shows it at once in every sidebar
// showing that user. It never blocks.
func (h *Hub) SessionFrom(openid, raw string, at time.Time) {
	openid, raw = strings.TrimSpace(openid), strings.TrimSpace(raw)
	if openid == "" || raw == "" {
		return
	}
	info := h.sources.read(raw, at)
	l := &h.live
	l.mu.Lock()
	if old := l.sources[openid]; old != nil && old.At.After(at) {
		l.mu.Unlock()
		return // an older entry, replayed
	}
	if l.sources == nil {
		l.sources = map[string]*sourceInfo{}
	}
	l.sources[openid] = info
	pruneOldest(l.sources, func(s *sourceInfo) time.Time { return s.At })
	l.mu.Unlock()
	h.log.Debug("来源", "openid", openid, "session_from", raw, "label", info.Label)
	for _, c := range h.clientList() {
		c.mu.Lock()
		if c.conv.shownID == openid && (c.conv.answer == answerCustomer || c.conv.answer == answerNotInShop) {
			c.enqueue(message{Type: typeSource, Seq: c.conv.seq, OpenID: openid, Source: info})
		}
		c.mu.Unlock()
	}
}

// sourceOf is the user's latest 来源, nil when there is none.
func (h *Hub) sourceOf(openid string) *sourceInfo {
	l := &h.live
	l.mu.Lock()
	defer l.mu.Unlock()
	s := l.sources[openid]
	if s == nil || time.Since(s.At) > liveKeep {
		return nil
	}
	return s
}

// followLocked sends what goes with an answer naming a user: their 来源.
// c.mu is held.
func (c *client) followLocked(kind answer, msg message) {
	if (kind != answerCustomer && kind != answerNotInShop) || msg.OpenID == "" {
		return
	}
	if s := c.hub.sourceOf(msg.OpenID); s != nil {
		c.enqueue(message{Type: typeSource, Seq: msg.Seq, OpenID: msg.OpenID, Source: s})
	}
}

// clientList is the connected clients now.
func (h *Hub) clientList() []*client {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]*client, 0, len(h.clients))
	for c := range h.clients {
		out = append(out, c)
	}
	return out
}

// pruneOldest keeps m within liveMax entries and liveKeep of age.
func pruneOldest[V any](m map[string]V, at func(V) time.Time) {
	if len(m) <= liveMax {
		return
	}
	cutoff := time.Now().Add(-liveKeep)
	for k, v := range m {
		if at(v).Before(cutoff) {
			delete(m, k)
		}
	}
	if extra := len(m) - liveMax; extra > 0 {
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		slices.SortFunc(keys, func(a, b string) int { return at(m[a]).Compare(at(m[b])) })
		for _, k := range keys[:extra] {
			delete(m, k)
		}
	}
}
