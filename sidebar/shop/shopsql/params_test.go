package shopsql

import (
	"strings"
	"testing"
)

func TestParseNamedQuery(t *testing.T) {
	allowed := []string{"openid", "customer_id", "limit"}
	tests := []struct {
		name, dialect, in string
		want              string
		names             []string
		err               string
	}{
		{"postgres numbers each name once", dialectPostgres,
			"SELECT * FROM o WHERE a = :customer_id OR b = :customer_id LIMIT :limit",
			"SELECT * FROM o WHERE a = $1 OR b = $1 LIMIT $2", []string{"customer_id", "limit"}, ""},
		{"mysql repeats", dialectMySQL,
			"SELECT * FROM o WHERE a = :customer_id OR b = :customer_id LIMIT :limit",
			"SELECT * FROM o WHERE a = ? OR b = ? LIMIT ?", []string{"customer_id", "customer_id", "limit"}, ""},
		{"casts are not parameters", dialectPostgres,
			"SELECT c.points::text AS x FROM c WHERE c.id = :customer_id::bigint",
			"SELECT c.points::text AS x FROM c WHERE c.id = $1::bigint", []string{"customer_id"}, ""},
		{"strings, identifiers and comments are left alone", dialectPostgres,
			"SELECT ':openid', \"a:openid\", 'it''s :limit' -- :nope\n/* :nor */ FROM t WHERE x = :openid",
			"SELECT ':openid', \"a:openid\", 'it''s :limit' -- :nope\n/* :nor */ FROM t WHERE x = $1", []string{"openid"}, ""},
		{"dollar quotes", dialectPostgres,
			"SELECT $$ :openid $$, $tag$ :x $tag$ FROM t WHERE x = :openid",
			"SELECT $$ :openid $$, $tag$ :x $tag$ FROM t WHERE x = $1", []string{"openid"}, ""},
		{"mysql backslash and backticks", dialectMySQL,
			"SELECT 'a\\' :x', `b:openid` FROM t WHERE x = :openid",
			"SELECT 'a\\' :x', `b:openid` FROM t WHERE x = ?", []string{"openid"}, ""},
		{"unknown parameter", dialectPostgres, "SELECT 1 WHERE x = :customerid", "", nil,
			"orders: unknown parameter :customerid; this query can use :openid, :customer_id, :limit"},
		{"positional postgres", dialectPostgres, "SELECT 1 WHERE x = $1", "", nil,
			"orders: use a named parameter like :openid instead of $1"},
		{"positional mysql", dialectMySQL, "SELECT 1 WHERE x = ?", "", nil,
			"orders: use a named parameter like :openid instead of ?"},
		{"unterminated quote", dialectPostgres, "SELECT 'x", "", nil, "orders: unterminated ' quote"},
		{"unterminated comment", dialectPostgres, "SELECT 1 /* x", "", nil, "orders: unterminated /* comment"},
		{"empty", dialectPostgres, "  ", "", nil, "orders: the query is empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, err := parseNamedQuery("orders", tt.in, tt.dialect, allowed...)
			if tt.err != "" {
				if err == nil || err.Error() != tt.err {
					t.Fatalf("err = %v, want %s", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if q.text != tt.want || strings.Join(q.names, ",") != strings.Join(tt.names, ",") {
				t.Errorf("got %q %v\nwant %q %v", q.text, q.names, tt.want, tt.names)
			}
		})
	}
}

func FuzzParseNamedQuery(f *testing.F) {
	f.Add("SELECT * FROM t WHERE a = :openid AND b::text = 'x' -- c")
	f.Add("SELECT $$:openid$$, `x`, \"y\" /* :z */")
	f.Fuzz(func(t *testing.T, s string) {
		for _, d := range []string{dialectPostgres, dialectMySQL} {
			q, err := parseNamedQuery("q", s, d, "openid", "limit")
			if err != nil {
				continue
			}
			// Every placeholder is bound: as many as the names.
			n := strings.Count(q.text, "?") - strings.Count(s, "?")
			if d == dialectMySQL && n != len(q.names) {
				t.Fatalf("%q → %q: %d placeholders for %d names", s, q.text, n, len(q.names))
			}
		}
	})
}
