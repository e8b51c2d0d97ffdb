package shopsql

import (
	"encoding/json"
	"testing"
	"time"
)

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
