package jsonrecord

import "testing"

func TestImportErrorMessage(t *testing.T) {
	tests := []struct {
		err  ImportError
		want string
	}{
		{ImportError{Section: "orders", Index: 3, Field: "items[2].qty", Reason: "must be a positive integer (got -1)"},
			"orders[3].items[2].qty: must be a positive integer (got -1)"},
		{ImportError{Section: "customers", Index: 0, Reason: "must be a JSON object (got null)"},
			"customers[0]: must be a JSON object (got null)"},
		{ImportError{Field: "custmers", Reason: "unknown top-level key"}, "custmers: unknown top-level key"},
		{ImportError{Reason: "the file is empty"}, "the file is empty"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("got %q, want %q", got, tt.want)
		}
	}
}

func TestDecodeNamesTheField(t *testing.T) {
	type inner struct {
		Name string `json:"name"`
	}
	type record struct {
		inner
		AmountFen *int64   `json:"amount_fen"`
		Tags      []string `json:"tags"`
	}
	tests := []struct{ in, want string }{
		{`{"name": "a", "amount_fen": 1, "tags": ["x"]}`, ""},
		{`null`, "must be a JSON object (got null)"},
		{`[1]`, "must be a JSON object (got array)"},
		{`{"amout_fen": 1}`, "amout_fen: unknown field; expected one of name, amount_fen, tags"},
		{`{"amount_fen": 1.5}`, "amount_fen: must be a whole number of fen (1 yuan = 100 fen) (got number 1.5)"},
		{`{"name": 1}`, "name: must be a string (got number)"},
		{`{"tags": "x"}`, "tags: must be an array (got string)"},
	}
	for _, tt := range tests {
		var rec record
		got := ""
		if e := Decode([]byte(tt.in), &rec); e != nil {
			got = e.Error()
		}
		if got != tt.want {
			t.Errorf("Decode(%s) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestFieldErrorWithin(t *testing.T) {
	if got := Errorf("qty", "must be positive (got %d)", 0).Within("items[2]").Error(); got != "items[2].qty: must be positive (got 0)" {
		t.Errorf("got %q", got)
	}
	if got := (&FieldError{Reason: "must be a JSON object (got null)"}).Within("extra[0]").Error(); got != "extra[0]: must be a JSON object (got null)" {
		t.Errorf("got %q", got)
	}
}
