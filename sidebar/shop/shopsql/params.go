package shopsql

import (
	"fmt"
	"strconv"
	"strings"
)

// SQL dialects: how a bound parameter is written.
const (
	dialectPostgres = "postgres" // $1, $2, … (one number per name)
	dialectMySQL    = "mysql"    // ?, repeated for every use
)

// namedQuery is a configured query with :name parameters rewritten to the
// driver's placeholders. Values are always bound, never spliced in.
type namedQuery struct {
	key   string   // the configuration key, for errors
	text  string   // the query with placeholders
	names []string // the parameter bound to each placeholder, in order
}

// parseNamedQuery rewrites the :name parameters of query for dialect.
// Parameters must be among allowed. Quoted strings and identifiers,
// comments, PostgreSQL casts (::) and dollar-quoted strings are left alone;
// a positional placeholder ($1 or ?) is an error, so that every value has
// a name docs/backends.md documents.
func parseNamedQuery(key, query, dialect string, allowed ...string) (*namedQuery, error) {
	q := &namedQuery{key: key}
	if strings.TrimSpace(query) == "" {
		return nil, fmt.Errorf("%s: the query is empty", key)
	}
	var b strings.Builder
	index := map[string]int{} // postgres: name → its $n
	s := query
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '\'' || c == '"' || c == '`':
			j := skipQuoted(s, i, dialect)
			if j < 0 {
				return nil, fmt.Errorf("%s: unterminated %c quote", key, c)
			}
			b.WriteString(s[i:j])
			i = j
		case c == '-' && strings.HasPrefix(s[i:], "--"):
			j := strings.IndexByte(s[i:], '\n')
			if j < 0 {
				j = len(s) - i
			}
			b.WriteString(s[i : i+j])
			i += j
		case c == '/' && strings.HasPrefix(s[i:], "/*"):
			j := strings.Index(s[i+2:], "*/")
			if j < 0 {
				return nil, fmt.Errorf("%s: unterminated /* comment", key)
			}
			b.WriteString(s[i : i+2+j+2])
			i += 2 + j + 2
		case c == '$' && dialect == dialectPostgres && i+1 < len(s) && s[i+1] >= '0' && s[i+1] <= '9':
			return nil, fmt.Errorf("%s: use a named parameter like :openid instead of %s", key, positional(s[i:]))
		case c == '$' && dialect == dialectPostgres:
			j := skipDollarQuoted(s, i)
			b.WriteString(s[i:j])
			i = j
		case c == '?' && dialect == dialectMySQL:
			return nil, fmt.Errorf("%s: use a named parameter like :openid instead of ?", key)
		case c == ':' && i+1 < len(s) && s[i+1] == ':':
			b.WriteString("::")
			i += 2
		case c == ':' && i+1 < len(s) && isNameStart(s[i+1]):
			j := i + 1
			for j < len(s) && isNamePart(s[j]) {
				j++
			}
			name := s[i+1 : j]
			if !contains(allowed, name) {
				return nil, fmt.Errorf("%s: unknown parameter :%s; this query can use :%s", key, name, strings.Join(allowed, ", :"))
			}
			if dialect == dialectPostgres {
				n, ok := index[name]
				if !ok {
					q.names = append(q.names, name)
					n = len(q.names)
					index[name] = n
				}
				b.WriteString("$" + strconv.Itoa(n))
			} else {
				q.names = append(q.names, name)
				b.WriteByte('?')
			}
			i = j
		default:
			b.WriteByte(c)
			i++
		}
	}
	q.text = b.String()
	return q, nil
}

// args binds the named values in placeholder order.
func (q *namedQuery) args(values map[string]any) []any {
	out := make([]any, len(q.names))
	for i, n := range q.names {
		out[i] = values[n]
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func isNameStart(c byte) bool { return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isNamePart(c byte) bool  { return isNameStart(c) || c >= '0' && c <= '9' }

func positional(s string) string {
	j := 1
	for j < len(s) && s[j] >= '0' && s[j] <= '9' {
		j++
	}
	return s[:j]
}

// skipQuoted returns the index just past the quoted string or identifier
// starting at i, or -1 if it does not end. A doubled quote is an escaped
// quote; MySQL also escapes with a backslash in strings.
func skipQuoted(s string, i int, dialect string) int {
	q := s[i]
	for j := i + 1; j < len(s); j++ {
		switch {
		case s[j] == '\\' && dialect == dialectMySQL && q != '`':
			j++
		case s[j] == q && j+1 < len(s) && s[j+1] == q:
			j++
		case s[j] == q:
			return j + 1
		}
	}
	return -1
}

// skipDollarQuoted returns the index past a PostgreSQL $tag$…$tag$ string
// starting at i, or i+1 when the $ starts none.
func skipDollarQuoted(s string, i int) int {
	j := i + 1
	for j < len(s) && isNamePart(s[j]) {
		j++
	}
	if j >= len(s) || s[j] != '$' {
		return i + 1
	}
	tag := s[i : j+1]
	if k := strings.Index(s[j+1:], tag); k >= 0 {
		return j + 1 + k + len(tag)
	}
	return len(s)
}
