package sidebar

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
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

func TestColumnValue(t *testing.T) {
	shanghai, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		col  string
		in   any
		want string // JSON of the value, or "error: …"
	}{
		{"amount_fen", int64(12900), `12900`},
		{"amount_fen", []byte("12900.00"), `12900`},
		{"amount_fen", []byte("129.50"), `error: must be a whole number (got "129.50"); amounts are in fen: multiply yuan by 100 in the query`},
		{"amount_fen", float64(3), `3`},
		{"qty", "two", `error: must be a whole number (got "two"); amounts are in fen: multiply yuan by 100 in the query`},
		{"created_at", time.Date(2026, 11, 20, 2, 0, 0, 0, time.UTC), `"2026-11-20T10:00:00+08:00"`},
		{"created_at", []byte("2026-11-20 10:00:00"), `"2026-11-20T10:00:00+08:00"`},
		{"created_at", "2026-11-20 10:00:00.123456", `"2026-11-20T10:00:00+08:00"`},
		{"created_at", "2026-11-20 02:00:00+00", `"2026-11-20T10:00:00+08:00"`},
		{"tracking_at", "2026-11-20T10:00:00Z", `"2026-11-20T18:00:00+08:00"`},
		{"last_order_at", "yesterday", `error: must be a time like 2026-11-20 10:00:00 (got "yesterday")`},
		{"tags", "回头客,偏爱绿茶", `["回头客","偏爱绿茶"]`},
		{"tags", "回头客，偏爱绿茶", `["回头客","偏爱绿茶"]`},
		{"tags", `["a","b"]`, `["a","b"]`},
		{"tags", `{a,"b c"}`, `["a","b c"]`},
		{"tags", "", `[]`},
		{"extra", []byte(`[{"label":"积分","value":"1"}]`), `[{"label":"积分","value":"1"}]`},
		{"extra", "null", `null`},
		{"extra", "{", `error: must be JSON text (got "{")`},
		{"id", int64(10023), `"10023"`},
		{"name", []byte("林小满"), `"林小满"`},
		{"note", true, `"true"`},
	}
	for _, tt := range tests {
		v, err := columnValue(tt.col, tt.in, shanghai)
		got := ""
		if err != nil {
			got = "error: " + err.Error()
		} else {
			b, _ := json.Marshal(v)
			got = string(b)
		}
		if got != tt.want {
			t.Errorf("%s %#v: got %s, want %s", tt.col, tt.in, got, tt.want)
		}
	}
}

func TestPhoneDigits(t *testing.T) {
	for in, want := range map[string]string{"3349": "3349", "186-2710-3349": "18627103349", "+86 186": "86186",
		"334": "", "张伟": "", "E2026": ""} {
		if got := phoneDigits(in); got != want {
			t.Errorf("phoneDigits(%q) = %q, want %q", in, got, want)
		}
	}
}
