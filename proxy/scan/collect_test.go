package scan

import (
	"bytes"
	"fmt"
	"runtime/debug"
	"slices"
	"strings"
	"testing"
	"unsafe"

	"github.com/tidwall/gjson"

	"github.com/kfsidebar/kfsidebar/proxy/console"
)

// acceptResponse is an accept response of about size bytes, shaped like
// acceptResponse1MB: one record per kfcreatesession_resp item.
func acceptResponse(size int) []byte {
	var b bytes.Buffer
	b.WriteString(`{"base_resp":{"ret":0,"err_msg":"ok"},"kfcreatesession_resp":[`)
	for i := 0; b.Len() < size-2; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"base_resp":{"err_msg":"ok","ret":0},"kfsession":{"fans_openid":"oABCDEFGHIJKLMNOPQRSTUVW%05d","fans_uin":%d,"headimgurl":"http://wx.qlogo.cn/mmhead/Q3auHgzwzM4fJ2bO5ticXiaQ%05d","kf_account":"kf2001@shop","nickname":"用户小%d 🌸","session_id":%d,"start_time":1700000000,"status":1},"msgsummary":{"msg":{"content":"你好，我想问一下订单什么时候发货？我的订单号是 2026112200%d","createtime":%d,"msgid":%d,"msgtype":1}}}`,
			i, 2851234567+i, i, i, 1700000000+i, i%100, 1700000000+i, 6000+i)
	}
	b.WriteString(`]}`)
	return b.Bytes()
}

// recordsSize is what the records themselves take: the slice and the
// strings, which JSON must allocate because its caller keeps them.
func recordsSize(recs []console.Record) int {
	n := cap(recs) * recordSize
	for _, r := range recs {
		n += len(r.OpenID) + len(r.Nickname) + len(r.HeadImgURL) + len(r.FansUIN) + len(r.SessionID)
	}
	return n
}

func BenchmarkScanJSON10KB(b *testing.B) {
	body := acceptResponse(10 << 10)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		recs, err := JSON(body, console.SourceAuto, seenAt)
		if err != nil || len(recs) == 0 {
			b.Fatal(len(recs), err)
		}
	}
}

func BenchmarkScanJSONNoRecords10KB(b *testing.B) {
	body := bytes.ReplaceAll(acceptResponse(10<<10), []byte("fans_openid"), []byte("fans_other_"))
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := JSON(body, console.SourceAuto, seenAt); err != nil {
			b.Fatal(err)
		}
	}
}

const recordSize = int(unsafe.Sizeof(console.Record{}))

// TestScanJSONAllocatesOnlyRecords: a response costs the records it yields
// (their slice, and one string per record holding its values) and nothing
// else: the walker's stack, the decoded values and the dedupe table are
// reused from one response to the next.
func TestScanJSONAllocatesOnlyRecords(t *testing.T) {
	if raceEnabled() {
		t.Skip("sync.Pool drops items at random under the race detector")
	}
	accept := acceptResponse(10 << 10)
	dup := []byte(`{"a":[{"fans_openid":"o1","nickname":"n"},{"fans_openid":"o2"},{"fans_openid":"o1","fans_uin":" 7 "}]}`)
	for _, tt := range []struct {
		name       string
		body       []byte
		recs, want int // records, allocations per call
	}{
		{"10 KB accept response", accept, 22, 23},
		{"a duplicate openid", dup, 2, 3},
		{"no fans_openid", bytes.ReplaceAll(accept, []byte("fans_openid"), []byte("fans_other_")), 0, 0},
		{"not JSON", accept[:len(accept)-1], 0, 0},
		{"too deep", []byte(strings.Repeat("[", maxNesting+1) + strings.Repeat("]", maxNesting+1)), 0, 0},
	} {
		var recs []console.Record
		n := testing.AllocsPerRun(200, func() { recs, _ = JSON(tt.body, console.SourceAuto, seenAt) })
		if len(recs) != tt.recs || n != float64(tt.want) {
			t.Errorf("%s: %d records in %v allocations per call, want %d in %d", tt.name, len(recs), n, tt.recs, tt.want)
		}
	}
	recs, _ := JSON(accept, console.SourceAuto, seenAt)
	allocs := testing.Benchmark(func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			JSON(accept, console.SourceAuto, seenAt)
		}
	})
	if got, want := allocs.AllocedBytesPerOp(), int64(recordsSize(recs)); got > want+want/4 {
		t.Errorf("10 KB accept response: %d bytes allocated per call; the records take %d", got, want)
	}
}

// raceEnabled reports whether the test binary was built with -race.
func raceEnabled() bool {
	bi, ok := debug.ReadBuildInfo()
	return ok && slices.ContainsFunc(bi.Settings, func(s debug.BuildSetting) bool { return s.Key == "-race" && s.Value == "true" })
}

// FuzzJSONValidity: JSON's walker judges a body exactly as the separate
// passes it replaced did, gjson.ValidBytes and the nesting bound.
func FuzzJSONValidity(f *testing.F) {
	for _, s := range []string{`{"a":[1,-0.5e+3,true,false,null,"\u00e9\n"]}`, `[01]`, `{"a":1,}`, `"\x01"`, `-`, `1.`, `1e`, `[1]]`, " \r\n\t{}"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		_, err := JSON(body, console.SourceOther, seenAt)
		trimmed := bytes.TrimPrefix(body, utf8BOM)
		want := jsonNesting(trimmed) <= maxNesting && gjson.ValidBytes(trimmed)
		if got := err == nil; got != want {
			t.Errorf("JSON(%q): valid %v, gjson and the nesting bound say %v", body, got, want)
		}
	})
}

// TestFastRepliesDoNotPinDoc: the proxy reuses the buffer a response was
// decoded into once the scans return, so nothing they return may share
// its bytes.
func TestFastRepliesDoNotPinDoc(t *testing.T) {
	doc := []byte(`{"base_resp":{"ret":0},"fastreply_list":[{"msgtype":1,"content":"您好，在的"},"plain"]}`)
	replies := FastReplies(doc)
	for i := range doc {
		doc[i] = 'x'
	}
	if !slices.Equal(replies, []string{"您好，在的", "plain"}) {
		t.Errorf("replies changed with the document: %q", replies)
	}
}
