package scan

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tidwall/gjson"

	"github.com/kfsidebar/kfsidebar/internal/kftest"
	"github.com/kfsidebar/kfsidebar/proxy/console"
)

// seenAt is the fixed time the golden files are written with.
var seenAt = time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)

// scanResult is what a golden file of testdata/scan holds.
type scanResult struct {
	Records []console.Record `json:"records"`
	Error   string           `json:"error,omitempty"`
}

func marshalScan(t *testing.T, recs []console.Record, err error) []byte {
	t.Helper()
	res := scanResult{Records: recs}
	if err != nil {
		res.Error = err.Error()
	}
	if res.Records == nil {
		res.Records = []console.Record{}
	}
	out, jerr := json.MarshalIndent(res, "", "  ")
	if jerr != nil {
		t.Fatal(jerr)
	}
	return append(out, '\n')
}

func TestScanJSONGolden(t *testing.T) {
	inputs, err := filepath.Glob("testdata/scan/*.json")
	if err != nil || len(inputs) == 0 {
		t.Fatalf("no inputs: %v", err)
	}
	for _, in := range inputs {
		name := strings.TrimSuffix(filepath.Base(in), ".json")
		t.Run(name, func(t *testing.T) {
			body, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			recs, err := JSON(body, console.SourceManual, seenAt)
			kftest.Golden(t, "scan/"+name+".golden", marshalScan(t, recs, err))
		})
	}
}

func TestScanPageGolden(t *testing.T) {
	inputs, err := filepath.Glob("testdata/scan/*.html")
	if err != nil || len(inputs) == 0 {
		t.Fatalf("no inputs: %v", err)
	}
	for _, in := range inputs {
		name := strings.TrimSuffix(filepath.Base(in), ".html")
		t.Run(name, func(t *testing.T) {
			page, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			kftest.Golden(t, "scan/"+name+".golden", marshalScan(t, Page(page, seenAt), nil))
		})
	}
}

func TestScanJSONErrors(t *testing.T) {
	for _, body := range []string{"", "   ", "<html>", `{"fans_openid":"o1"`, `{"a":1} {"b":2}`, "\xEF\xBB\xBF", strings.Repeat("[", maxNesting+1) + strings.Repeat("]", maxNesting+1)} {
		if recs, err := JSON([]byte(body), console.SourceOther, seenAt); !errors.Is(err, ErrNotJSON) || recs != nil {
			t.Errorf("ScanJSON(%.20q) = %v, %v; want nil, ErrNotJSON", body, recs, err)
		}
	}
	for _, body := range []string{"{}", "[]", "42", `"fans_openid"`, "null"} {
		if recs, err := JSON([]byte(body), console.SourceOther, seenAt); err != nil || len(recs) != 0 {
			t.Errorf("ScanJSON(%q) = %v, %v; want no records, nil", body, recs, err)
		}
	}
}

func TestScanJSONSourceAndTime(t *testing.T) {
	recs, err := JSON([]byte(`{"fans_openid":"o1"}`), console.SourceTransfer, seenAt)
	if err != nil || len(recs) != 1 {
		t.Fatalf("ScanJSON = %v, %v", recs, err)
	}
	if recs[0].Source != console.SourceTransfer || !recs[0].SeenAt.Equal(seenAt) {
		t.Errorf("record = %+v; want source %q seen at %v", recs[0], console.SourceTransfer, seenAt)
	}
}

func TestScanPageSource(t *testing.T) {
	recs := Page([]byte(`<script>x = {fans_openid: "o1"}</script>`), seenAt)
	if len(recs) != 1 || recs[0].Source != console.SourcePage || recs[0].OpenID != "o1" {
		t.Errorf("ScanPage = %+v; want one page record for o1", recs)
	}
}

// TestScanPageStopsAfterLastMention: the scan ends after the last
// "fans_openid" in the page, and still finds every chat before it, in the
// head and far down the body.
func TestScanPageStopsAfterLastMention(t *testing.T) {
	body := strings.Repeat(`<div class="msg"><img src="a.png"><span>你好</span></div>`, 2000)
	page := `<html><head><script>var a = {fans_openid: "oHead", nickname: "头"}</script></head><body>` +
		body + `<script>var b = {"fans_openid": "oBody", "nickname": "尾"}</script>` +
		body + `<script src="x.js"></script></body></html>`
	var got []string
	for _, r := range Page([]byte(page), seenAt) {
		got = append(got, r.OpenID)
	}
	slices.Sort(got)
	if want := []string{"oBody", "oHead"}; !slices.Equal(got, want) {
		t.Errorf("ScanPage found %v, want %v", got, want)
	}
}

// TestScanPageGarbage feeds pages that are broken in the ways a truncated
// or hostile response could be; ScanPage must return without panicking.
func TestScanPageGarbage(t *testing.T) {
	for _, page := range []string{
		`<script>{fans_openid: "o1"`,
		`<script>{fans_openid: 'o1}</script>`,
		`<script>{{{{{{{{{{ fans_openid`,
		`<script>}}}}]]]))) fans_openid {[(`,
		`<script>/* fans_openid {`,
		"<script>`${{fans_openid: 1}}`</script>",
		`<script>{fans_openid: /re/, a: "\u{110000}", b: "\x4", c: '\u12'}</script>`,
		`<script>{"fans_openid": "o\`,
		"<script>" + strings.Repeat("{a:", 10000) + "{fans_openid:'oDEEP'}" + strings.Repeat("}", 10000) + "</script>",
		"<script>" + strings.Repeat("{", 100000) + "fans_openid</script>",
		"<script>" + strings.Repeat(`'fans_openid{',`, 10000) + "</script>",
	} {
		Page([]byte(page), seenAt)
	}
}

func TestScanPageDeepLiteral(t *testing.T) {
	// Beyond the depth bound the literal cannot be converted; the search
	// then starts again inside it and still finds the record.
	page := "<script>var x = " + strings.Repeat("{a:", 200) + "{fans_openid:'oDEEP'}" + strings.Repeat("}", 200) + ";</script>"
	recs := Page([]byte(page), seenAt)
	if len(recs) != 1 || recs[0].OpenID != "oDEEP" {
		t.Errorf("ScanPage = %+v; want oDEEP", recs)
	}
}

func TestScanJSONDoesNotPinBody(t *testing.T) {
	body := []byte(`{"fans_openid":"oPIN","nickname":"n","headimgurl":"h","fans_uin":1,"session_id":"2"}`)
	recs, err := JSON(body, console.SourceOther, seenAt)
	if err != nil || len(recs) != 1 {
		t.Fatal(recs, err)
	}
	for i := range body {
		body[i] = 'x'
	}
	if r := recs[0]; r.OpenID != "oPIN" || r.Nickname != "n" || r.HeadImgURL != "h" || r.FansUIN != "1" || r.SessionID != "2" {
		t.Errorf("record changed with the body: %+v", r)
	}
}

// TestScanJSONLearnsUINUnderItsOtherNames: any response that carries an
// openid beside the fan's uin under one of the console's names for it
// (fans_uin, its requests' fansuin, the waiting list's useruin) ties the
// two together; a uin alone teaches nothing.
func TestScanJSONLearnsUINUnderItsOtherNames(t *testing.T) {
	for _, tt := range []struct{ body, wantUIN string }{
		{`{"msglist":[{"msg":{"msgid":1,"useruin":3311902618,"fans_openid":"oQ","content":"在吗"}}]}`, "3311902618"},
		{`{"fans":{"fansuin":"3311902618","fans_openid":"oQ"}}`, "3311902618"},
		// The uin in another object than the openid ties nothing.
		{`{"msglist":[{"msg":{"msgid":1,"useruin":3311902618,"content":"在吗"},"fans_openid":"oQ"}]}`, ""},
	} {
		recs, err := JSON([]byte(tt.body), console.SourceOther, seenAt)
		if err != nil || len(recs) != 1 || recs[0].OpenID != "oQ" || recs[0].FansUIN != tt.wantUIN {
			t.Errorf("ScanJSON(%s) = %+v, %v; want oQ with uin %q", tt.body, recs, err, tt.wantUIN)
		}
	}
	recs, err := JSON([]byte(`{"msglist":[{"msg":{"useruin":3311902618,"content":"你好"}}]}`), console.SourceOther, seenAt)
	if err != nil || len(recs) != 0 {
		t.Errorf("a waiting list without openids gave %+v, %v", recs, err)
	}
}

// checkRecords checks what every scan result must satisfy.
func checkRecords(t *testing.T, recs []console.Record) {
	t.Helper()
	seen := map[string]bool{}
	for _, r := range recs {
		if r.OpenID == "" {
			t.Errorf("record without openid: %+v", r)
		}
		if seen[r.OpenID] {
			t.Errorf("openid %q recorded twice", r.OpenID)
		}
		seen[r.OpenID] = true
	}
}

func FuzzScanJSON(f *testing.F) {
	f.Add([]byte(`{"kfcreatesession_resp":[{"base_resp":{"ret":0},"kfsession":{"fans_openid":"o1","fans_uin":1}}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		recs, err := JSON(body, console.SourceOther, seenAt)
		if err != nil && !errors.Is(err, ErrNotJSON) {
			t.Fatalf("unexpected error %v", err)
		}
		if err != nil && recs != nil {
			t.Fatalf("records with an error: %v", recs)
		}
		checkRecords(t, recs)
		if err == nil {
			if want := referenceScan(bytes.TrimPrefix(body, utf8BOM)); !reflect.DeepEqual(recs, want) {
				t.Errorf("ScanJSON = %+v\nreference = %+v", recs, want)
			}
		}
		// The page scanner reads JSON too (JSON is a JavaScript literal):
		// embedded in a script, the same users must be found.
		trimmed := bytes.TrimLeft(bytes.TrimPrefix(body, utf8BOM), " \t\r\n")
		lower := bytes.ToLower(body)
		if err != nil || len(trimmed) == 0 || trimmed[0] != '{' || jsonNesting(body) >= maxScanDepth-2 ||
			bytes.Contains(lower, []byte("</script")) || bytes.Contains(lower, []byte("<!--")) {
			return
		}
		page := Page([]byte("<script>MCS.cgiData = "+string(trimmed)+";</script>"), seenAt)
		found := map[string]bool{}
		for _, r := range page {
			found[r.OpenID] = true
		}
		for _, r := range recs {
			if !found[r.OpenID] {
				t.Errorf("ScanPage missed %q that ScanJSON found", r.OpenID)
			}
		}
	})
}

func FuzzScanPage(f *testing.F) {
	f.Add([]byte(`<script>MCS.cgiData = {sessions: {kfsession_and_msgsummary: [{kfsession: {fans_openid: 'o1', fans_uin: 1,}}]}};</script>`))
	f.Fuzz(func(t *testing.T, page []byte) {
		checkRecords(t, Page(page, seenAt))
	})
}

// acceptResponse1MB is an accept response of about 1 MB: many kfsessions
// with Chinese nicknames and escaped URLs, as the console sends them.
func acceptResponse1MB() []byte {
	var b bytes.Buffer
	b.WriteString(`{"base_resp":{"ret":0,"err_msg":"ok"},"kfcreatesession_resp":[`)
	for i := 0; b.Len() < 1<<20; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"base_resp":{"ret":0,"err_msg":"ok"},"kfsession":{"fans_uin":%d,"nickname":"用户\u5c0f%d 🌸","fans_openid":"oABCDEFGHIJKLMNOPQRSTUVW%05d","session_id":%d,"start_time":1700000000,"headimgurl":"http:\/\/wx.qlogo.cn\/mmhead\/Q3auHgzwzM4fJ2bO5ticXiaQ%05d"},"msgsummary":{"msg":{"msgid":%d,"createtime":1700000000,"content":"你好，我想问一下订单什么时候发货？"}}}`,
			2851234567+i, i, i, 1700000000+i, i, 6000+i)
	}
	b.WriteString(`]}`)
	return b.Bytes()
}

func BenchmarkScanJSON1MB(b *testing.B) {
	body := acceptResponse1MB()
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		recs, err := JSON(body, console.SourceManual, seenAt)
		if err != nil || len(recs) == 0 {
			b.Fatal(len(recs), err)
		}
	}
}

func BenchmarkScanPage1MB(b *testing.B) {
	page := []byte("<html><head><script>MCS.cgiData = " + string(acceptResponse1MB()) + ";</script></head></html>")
	b.SetBytes(int64(len(page)))
	b.ReportAllocs()
	for b.Loop() {
		if recs := Page(page, seenAt); len(recs) == 0 {
			b.Fatal("no records")
		}
	}
}

func TestAppendUnquoted(t *testing.T) {
	for _, lit := range []string{
		`""`, `"plain"`, `"\u5c0f\u7ea2"`, `"\ud83c\udf38"`, `"a\"b\\c\/d\b\f\n\r\t"`,
		`"lone \ud83c high"`, `"lone \udf38 low"`, `"\ud83c\u0041"`, `"end \ud83c"`, `"\u00e9\u0000"`,
	} {
		var want string
		if err := json.Unmarshal([]byte(lit), &want); err != nil {
			t.Fatal(lit, err)
		}
		if got := string(appendUnquoted(nil, []byte(lit))); got != want {
			t.Errorf("appendUnquoted(%s) = %q; want %q", lit, got, want)
		}
	}
}

// referenceScan is ScanJSON written the slow, obvious way (gjson's ForEach,
// level by level), for FuzzScanJSON to compare with.
func referenceScan(body []byte) []console.Record {
	type found struct {
		at  int
		rec console.Record
	}
	var all []found
	str := func(v gjson.Result) string {
		if v.Type != gjson.String {
			return ""
		}
		return string(appendUnquoted(nil, []byte(v.Raw)))
	}
	id := func(v gjson.Result) string {
		if v.Type == gjson.Number {
			return strings.Trim(v.Raw, " \t\n\r")
		}
		return strings.Trim(str(v), " \t\n\r\v\f")
	}
	failed := func(resp gjson.Result) bool {
		bad := false
		resp.ForEach(func(k, v gjson.Result) bool {
			if k.Str == "ret" {
				switch v.Type {
				case gjson.Number:
					f, err := strconv.ParseFloat(strings.TrimSpace(v.Raw), 64)
					bad = err != nil || f != 0
				case gjson.String:
					s := strings.TrimSpace(str(v))
					bad = s != "" && s != "0"
				default:
					bad = false
				}
			}
			return true
		})
		return bad
	}
	var walk func(v gjson.Result, depth int) bool
	walk = func(v gjson.Result, depth int) bool {
		var r console.Record
		bad := false
		var children []gjson.Result
		v.ForEach(func(k, e gjson.Result) bool {
			if v.IsObject() {
				switch k.Str {
				case "base_resp":
					bad = e.IsObject() && failed(e)
				case "fans_openid":
					r.OpenID = str(e)
				case "nickname":
					r.Nickname = str(e)
				case "headimgurl":
					r.HeadImgURL = str(e)
				case "fans_uin", "fansuin", "useruin":
					r.FansUIN = id(e)
				case "session_id":
					r.SessionID = id(e)
				}
			}
			if e.IsObject() || e.IsArray() {
				children = append(children, e)
			}
			return true
		})
		if bad {
			return false
		}
		if depth < maxScanDepth && r.OpenID != "" && v.IsObject() {
			all = append(all, found{v.Index, r})
		}
		for _, c := range children {
			walk(c, depth+1)
		}
		return true
	}
	walk(gjson.ParseBytes(body), 0)
	slices.SortStableFunc(all, func(a, b found) int { return a.at - b.at })
	var recs []console.Record
	index := map[string]int{}
	for _, f := range all {
		r := f.rec
		i, ok := index[r.OpenID]
		if !ok {
			index[r.OpenID] = len(recs)
			r.Source, r.SeenAt = console.SourceOther, seenAt
			recs = append(recs, r)
			continue
		}
		for _, p := range []struct {
			dst *string
			src string
		}{{&recs[i].Nickname, r.Nickname}, {&recs[i].HeadImgURL, r.HeadImgURL}, {&recs[i].FansUIN, r.FansUIN}, {&recs[i].SessionID, r.SessionID}} {
			if p.src != "" {
				*p.dst = p.src
			}
		}
	}
	return recs
}
