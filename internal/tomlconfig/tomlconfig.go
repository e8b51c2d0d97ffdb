// Package tomlconfig decodes kfsidebar's TOML config files into a struct
// and, when the file is wrong, says where and how in the user's terms:
// every unknown key at once with the keys its table takes and a "did you
// mean", a value of the wrong type with the type it wants, always with the
// file, line and column. It is the only home of go-toml.
package tomlconfig

import (
	"bytes"
	"encoding"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"regexp"
	"sort"
	"strings"

	"github.com/pelletier/go-toml/v2"
	"github.com/pelletier/go-toml/v2/unstable"
)

// Error is one problem in a config file, with where it is and what was
// expected, so that the user can fix it.
type Error struct {
	File      string
	Line, Col int    // 0 when unknown
	Key       string // dotted, e.g. "orders.http.secret"; "" for the file as a whole
	Reason    string
}

// Error reads like "kfsidebar.toml:7:1: orders.http.secert: unknown key; …".
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
		if e.Col > 0 {
			fmt.Fprintf(&b, ":%d", e.Col)
		}
	}
	b.WriteString(": ")
	if e.Key != "" {
		b.WriteString(e.Key + ": ")
	}
	b.WriteString(e.Reason)
	return b.String()
}

// Hinter is implemented by field types whose values are written as text
// in the file (a duration, say): the hint says how, for an error.
type Hinter interface {
	TOMLHint() string
}

// Decode decodes data, the file at path, into v (a pointer to a struct
// whose fields carry toml tags; pointer fields stay nil when their key is
// absent). Unknown keys are refused. The error is one *Error, or several
// joined (every unknown key at once).
func Decode(path string, data []byte, v any) error {
	if errs := windowsPaths(path, data); errs != nil {
		return errs
	}
	// The decoder stops at the first value of the wrong type. To report
	// every problem at once, that value's line is blanked (keeping the
	// positions of the rest) and the file decoded again, a bounded number
	// of times; unknown keys come all together from the last decode.
	root := reflect.TypeOf(v).Elem()
	var errs []error
	for range maxDecodeErrors {
		dec := toml.NewDecoder(bytes.NewReader(data)).DisallowUnknownFields()
		err := dec.Decode(v)
		if err == nil {
			break
		}
		e := decodeErrors(path, data, err, root)
		errs = append(errs, e)
		var one *Error
		if !errors.As(e, &one) || one.Key == "" || one.Line == 0 || errors.As(err, new(*toml.StrictMissingError)) {
			break // unknown keys (all of them), or a syntax error: nothing after it can be read
		}
		data = blankLine(data, one.Line)
	}
	return joinByLine(errs)
}

// joinByLine joins errs (each an *Error or a join of them) in the order
// of their lines in the file.
func joinByLine(errs []error) error {
	var all []error
	for _, e := range errs {
		if j, ok := e.(interface{ Unwrap() []error }); ok {
			all = append(all, j.Unwrap()...)
		} else {
			all = append(all, e)
		}
	}
	line := func(e error) int {
		var te *Error
		if errors.As(e, &te) {
			return te.Line
		}
		return 0
	}
	sort.SliceStable(all, func(i, j int) bool { return line(all[i]) < line(all[j]) })
	return errors.Join(all...)
}

// maxDecodeErrors bounds how many values of the wrong type one Decode
// reports.
const maxDecodeErrors = 20

// blankLine replaces line n (1-based) of data with spaces.
func blankLine(data []byte, n int) []byte {
	out := bytes.Clone(data)
	start := 0
	for i := 1; i < n; i++ {
		j := bytes.IndexByte(out[start:], '\n')
		if j < 0 {
			return out
		}
		start += j + 1
	}
	end := bytes.IndexByte(out[start:], '\n')
	if end < 0 {
		end = len(out) - start
	}
	for i := start; i < start+end; i++ {
		if out[i] != '\r' {
			out[i] = ' '
		}
	}
	return out
}

// decodeErrors turns the decoder's errors into Errors: every unknown key
// with a "did you mean", or the one syntax or type error. root is the
// struct decoded into.
func decodeErrors(path string, data []byte, err error, root reflect.Type) error {
	var strict *toml.StrictMissingError
	if errors.As(err, &strict) {
		var errs []error
		for _, e := range strict.Errors {
			line, col := e.Position()
			key := strings.Join(e.Key(), ".")
			errs = append(errs, &Error{File: path, Line: line, Col: col, Key: key, Reason: unknownKeyReason(root, e.Key())})
		}
		return errors.Join(errs...)
	}
	var de *toml.DecodeError
	if errors.As(err, &de) {
		line, col := de.Position()
		reason := strings.TrimPrefix(de.Error(), "toml: ")
		if strings.Contains(reason, "escape") {
			reason += "; " + windowsPathHint
		}
		if strings.Contains(reason, "cannot decode TOML") {
			reason = typeReason(root, de.Key(), reason)
		}
		return &Error{File: path, Line: line, Col: col, Key: strings.Join(de.Key(), "."), Reason: reason}
	}
	// A TextUnmarshaler's error on a bare number comes without a position:
	// find the text value that is not a string.
	cerr := &Error{File: path, Reason: err.Error()}
	text := reflect.TypeFor[encoding.TextUnmarshaler]()
	eachKeyValue(data, func(key []string, kv *unstable.Node, pos unstable.Position) bool {
		if t := keyType(root, key); t != nil && reflect.PointerTo(t).Implements(text) && kv.Value().Kind != unstable.String {
			cerr.Line, cerr.Col, cerr.Key = pos.Line, pos.Column, strings.Join(key, ".")
			return false
		}
		return true
	})
	return cerr
}

// windowsPathHint says how to write a Windows path in TOML: in double
// quotes a backslash starts an escape, so "C:\Users\张三" is an error (\U
// wants hex digits) and "D:\new\tmp" silently reads as D:, a line break,
// "ew", a tab and "mp".
const windowsPathHint = `in double quotes a backslash starts an escape (\U, \n, \t, …): ` +
	`write a Windows path in single quotes, 'C:\Users\张三\kfsidebar', ` +
	`or with forward slashes, "C:/Users/张三/kfsidebar"`

// doubleQuotedWindowsPath is a key whose value is a double-quoted string
// starting with a drive letter and one backslash.
var doubleQuotedWindowsPath = regexp.MustCompile(`^\s*([A-Za-z0-9_.\-]+)\s*=\s*"[A-Za-z]:\\[^\\]`)

// windowsPaths finds every Windows path written in double quotes, before
// decoding: the decoder would fail on some with a bare "invalid escape"
// and read others wrong without a word.
func windowsPaths(path string, data []byte) error {
	var errs []error
	for i, line := range strings.Split(string(data), "\n") {
		if m := doubleQuotedWindowsPath.FindStringSubmatch(line); m != nil {
			errs = append(errs, &Error{File: path, Line: i + 1, Key: m[1], Reason: "a Windows path in double quotes; " + windowsPathHint})
		}
	}
	return errors.Join(errs...)
}

// typeReason says what type the key wants, in the file's terms.
func typeReason(root reflect.Type, key []string, msg string) string {
	t := keyType(root, key)
	if t == nil {
		return msg
	}
	want := ""
	switch {
	case t.Implements(reflect.TypeFor[Hinter]()):
		want = reflect.Zero(t).Interface().(Hinter).TOMLHint()
	case t == reflect.TypeOf(slog.Level(0)):
		want = `one of "debug", "info", "warn", "error"`
	case t.Kind() == reflect.String:
		want = "a string in quotes"
	case t.Kind() == reflect.Bool:
		want = "true or false"
	case t.Kind() == reflect.Int || t.Kind() == reflect.Int64:
		want = "a whole number"
	case t.Kind() == reflect.Slice:
		want = `a list of strings, like ["a", "b"]`
	case t.Kind() == reflect.Map && deref(t.Elem()).Kind() == reflect.Struct:
		want = "a table of named tables, like [" + strings.Join(key, ".") + ".NAME]"
	case t.Kind() == reflect.Map:
		want = `a table of strings, like { "X-Shop" = "7" }`
	case t.Kind() == reflect.Struct:
		want = "a table"
	default:
		return msg
	}
	got := msg
	if i := strings.Index(msg, "cannot decode TOML "); i >= 0 {
		got = strings.Fields(msg[i+len("cannot decode TOML "):])[0]
	}
	return fmt.Sprintf("must be %s (got a %s)", want, got)
}

// knownKeys lists the keys of the table at prefix (nil: the top level).
func knownKeys(root reflect.Type, prefix []string) []string {
	t := tableType(root, prefix)
	if t == nil {
		return nil
	}
	var keys []string
	for i := range t.NumField() {
		if name, _, _ := strings.Cut(t.Field(i).Tag.Get("toml"), ","); name != "" {
			keys = append(keys, name)
		}
	}
	return keys
}

// tableType is the struct type of the table at path. A map of structs is
// a table of named tables ([gateway.targets.erp]): the part after the
// map's key names an entry, whose keys are the struct's.
func tableType(root reflect.Type, path []string) reflect.Type {
	t := root
	for i := 0; i < len(path); i++ {
		f := fieldByTag(t, path[i])
		if f == nil {
			return nil
		}
		t = deref(f.Type)
		if t.Kind() == reflect.Map && i+1 < len(path) {
			i++ // the entry's name
			t = deref(t.Elem())
		}
		if t.Kind() != reflect.Struct {
			return nil
		}
	}
	return t
}

func deref(t reflect.Type) reflect.Type {
	if t.Kind() == reflect.Pointer {
		return t.Elem()
	}
	return t
}

// keyType is the type of the field the dotted key decodes into.
func keyType(root reflect.Type, key []string) reflect.Type {
	if len(key) == 0 {
		return nil
	}
	t := tableType(root, key[:len(key)-1])
	if t == nil {
		return nil
	}
	f := fieldByTag(t, key[len(key)-1])
	if f == nil {
		return nil
	}
	if f.Type.Kind() == reflect.Pointer {
		return f.Type.Elem()
	}
	return f.Type
}

func fieldByTag(t reflect.Type, name string) *reflect.StructField {
	for i := range t.NumField() {
		f := t.Field(i)
		if tag, _, _ := strings.Cut(f.Tag.Get("toml"), ","); tag == name {
			return &f
		}
	}
	return nil
}

// unknownKeyReason names the keys the table does know, and the closest
// one when the key looks like a typo.
func unknownKeyReason(root reflect.Type, key []string) string {
	known := knownKeys(root, key[:len(key)-1])
	if len(known) == 0 {
		return "unknown key"
	}
	last := key[len(key)-1]
	best, bestDist := "", 1<<30
	for _, k := range known {
		if d := editDistance(strings.ToLower(last), k); d < bestDist {
			best, bestDist = k, d
		}
	}
	reason := "unknown key"
	if bestDist <= 2 || bestDist*3 <= len(best) {
		reason += fmt.Sprintf("; did you mean %q?", best)
	}
	sorted := append([]string(nil), known...)
	sort.Strings(sorted)
	return reason + " (this table takes " + strings.Join(sorted, ", ") + ")"
}

// editDistance is the Levenshtein distance, in bytes.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// KeyLines maps each dotted key in the document to its line, for errors
// found after decoding.
func KeyLines(data []byte) map[string]int {
	lines := map[string]int{}
	eachKeyValue(data, func(key []string, _ *unstable.Node, pos unstable.Position) bool {
		lines[strings.Join(key, ".")] = pos.Line
		return true
	})
	return lines
}

// eachKeyValue calls fn with the full key (table and key parts), the node
// and the position of every key/value in data, until fn returns false.
func eachKeyValue(data []byte, fn func(key []string, kv *unstable.Node, pos unstable.Position) bool) {
	var p unstable.Parser
	p.Reset(data)
	var table []string
	for p.NextExpression() {
		e := p.Expression()
		switch e.Kind {
		case unstable.Table:
			table = keyParts(e.Key())
		case unstable.KeyValue:
			key := append(append([]string(nil), table...), keyParts(e.Key())...)
			if !fn(key, e, p.Shape(e.Raw).Start) {
				return
			}
		}
	}
}

func keyParts(it unstable.Iterator) []string {
	var parts []string
	for it.Next() {
		parts = append(parts, string(it.Node().Data))
	}
	return parts
}
