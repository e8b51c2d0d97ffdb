// Package jsonrecord reads JSON records that a person wrote or a shop's
// system produced (an import file, a shop API's answer, a quick reply file)
// strictly, and says what is wrong in words that person can act on: unknown
// keys and values of the wrong type are errors (a misspelt "amout_fen" must
// not read as zero), and every error names the record and the field at
// fault, e.g. "orders[3].items[2].qty: must be a positive integer (got -1)".
//
// It is the one place that knows how a record's Go struct maps to the keys a
// person sees, so the order import, the live order backends and the quick
// reply import all report a bad field the same way. Standard library only.
package jsonrecord

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
)

// ImportError names the bad record and field of an import file, so the user
// can find and fix it. An import that returns one has changed nothing.
type ImportError struct {
	// Section is the top-level array the record is in: "customers" or
	// "orders" in an order import file, "groups" in a quick reply file;
	// "" when the problem is with the file as a whole (not JSON,
	// truncated, an unknown top-level key).
	Section string
	// Index is the 0-based position of the record in its section.
	Index int
	// Field is the JSON path within the record, e.g. "amount_fen",
	// "items[2].qty", "refund.status"; "" for the record as a whole.
	Field string
	// Reason says what is wrong and what was expected.
	Reason string
}

// Error reads like "orders[3].items[2].qty: must be a positive integer (got -1)".
func (e *ImportError) Error() string {
	var b strings.Builder
	if e.Section != "" {
		fmt.Fprintf(&b, "%s[%d]", e.Section, e.Index)
	}
	if e.Field != "" {
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(e.Field)
	}
	if b.Len() > 0 {
		b.WriteString(": ")
	}
	b.WriteString(e.Reason)
	return b.String()
}

// FieldError is a validation failure within one record, before the caller
// gives it the record's place (an ImportError's section and index, a
// backend answer's path). Functions return it as *FieldError, nil when the
// record is valid; compare it with nil before using it as an error.
type FieldError struct {
	// Field is the JSON path within the record ("" for the record as a
	// whole).
	Field string
	// Reason says what is wrong and what was expected.
	Reason string
}

// Errorf is a FieldError for field with a formatted reason.
func Errorf(field, format string, args ...any) *FieldError {
	return &FieldError{field, fmt.Sprintf(format, args...)}
}

// Error reads like "items[2].qty: must be a positive integer (got -1)".
func (e *FieldError) Error() string {
	if e.Field == "" {
		return e.Reason
	}
	return e.Field + ": " + e.Reason
}

// Within puts a sub-record's error under its path in the record.
func (e *FieldError) Within(path string) *FieldError {
	if e.Field == "" {
		return &FieldError{path, e.Reason}
	}
	return &FieldError{path + "." + e.Field, e.Reason}
}

// Decode decodes one JSON object into the record v points to, rejecting
// unknown keys and wrong types, and says which key was at fault. Keys are
// matched as encoding/json matches them; a record may embed another
// record, whose keys it then has.
func Decode(raw json.RawMessage, v any) *FieldError {
	if string(raw) == "null" {
		return &FieldError{"", "must be a JSON object (got null)"}
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil {
		return nil
	}
	fields := jsonFields(v)
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		// Records are flat; the path may name an embedded record's Go
		// type ("orderRecord.amount_fen"), which the file does not have.
		if i := strings.LastIndexByte(te.Field, '.'); i >= 0 {
			te.Field = te.Field[i+1:]
		}
		return &FieldError{te.Field, typeReason(te, fields)}
	}
	if key, ok := unknownKey(raw, fields); ok {
		names := make([]string, len(fields))
		for i, f := range fields {
			names[i] = f.name
		}
		return &FieldError{key, "unknown field; expected one of " + strings.Join(names, ", ")}
	}
	return &FieldError{"", err.Error()}
}

// jsonField is a record struct field as the JSON file names it.
type jsonField struct {
	name string
	typ  reflect.Type
}

// jsonFields lists a record struct's JSON keys and types, those of
// embedded records first, as encoding/json sees them.
func jsonFields(v any) []jsonField {
	return structFields(reflect.TypeOf(v).Elem())
}

func structFields(t reflect.Type) []jsonField {
	var fields []jsonField
	for i := range t.NumField() {
		f := t.Field(i)
		if f.Anonymous && f.Type.Kind() == reflect.Struct {
			fields = append(fields, structFields(f.Type)...)
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		fields = append(fields, jsonField{name: name, typ: f.Type})
	}
	return fields
}

// unknownKey finds the first key of the object that matches no field, the
// way encoding/json matches them (case-insensitively).
func unknownKey(raw []byte, fields []jsonField) (string, bool) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return "", false
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return "", false
		}
		key, _ := tok.(string)
		if !slices.ContainsFunc(fields, func(f jsonField) bool { return strings.EqualFold(f.name, key) }) {
			return key, true
		}
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return "", false
		}
	}
	return "", false
}

// typeReason says what type a field should have had.
func typeReason(te *json.UnmarshalTypeError, fields []jsonField) string {
	got := " (got " + te.Value + ")"
	if te.Field == "" {
		return "must be a JSON object" + got
	}
	want := typeNoun(te.Type)
	if i := slices.IndexFunc(fields, func(f jsonField) bool { return f.name == te.Field }); i >= 0 {
		ft := fields[i].typ
		if ft.Kind() == reflect.Slice && te.Type.Kind() != reflect.Slice {
			want = "an array of " + strings.TrimPrefix(strings.TrimPrefix(typeNoun(ft.Elem()), "a "), "an ") + "s"
		}
	}
	if strings.HasSuffix(te.Field, "_fen") && want == "an integer" {
		want = "a whole number of fen (1 yuan = 100 fen)"
	}
	return "must be " + want + got
}

func typeNoun(t reflect.Type) string {
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "an integer"
	case reflect.Slice:
		return "an array"
	default:
		return "an object"
	}
}
