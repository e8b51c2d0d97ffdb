package inject

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kfsidebar/kfsidebar/internal/kftest"
)

func TestLooksLikeHTML(t *testing.T) {
	tests := []struct {
		body string
		want bool
	}{
		{"<!DOCTYPE html><html>", true},
		{"<html>", true},
		{"<head><title>x</title>", true},
		{"<!-- comment --><html>", true},
		{"<script>var a = 1;</script>", true},
		{"\xEF\xBB\xBF\r\n\t <html>", true},
		{"  \n<div>fragment</div>", true},
		{`{"base_resp":{"ret":0}}`, false},
		{`[{"fans_openid":"o1"}]`, false},
		{"\xEF\xBB\xBF{}", false},
		{"plain text", false},
		{"", false},
		{"   ", false},
		{"\xEF\xBB\xBF", false},
	}
	for _, tt := range tests {
		if got := LooksLikeHTML([]byte(tt.body)); got != tt.want {
			t.Errorf("LooksLikeHTML(%q) = %v; want %v", tt.body, got, tt.want)
		}
	}
}

func TestInjectHTMLGolden(t *testing.T) {
	inputs, err := filepath.Glob("testdata/inject/*.html")
	if err != nil {
		t.Fatal(err)
	}
	unchanged := map[string]bool{"already_injected": true, "already_injected_body": true}
	n := 0
	for _, in := range inputs {
		if strings.HasSuffix(in, ".golden.html") {
			continue
		}
		n++
		name := strings.TrimSuffix(filepath.Base(in), ".html")
		t.Run(name, func(t *testing.T) {
			doc, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			out, changed := HTML(doc, testInjection)
			if changed == unchanged[name] {
				t.Errorf("changed = %v; want %v", changed, !unchanged[name])
			}
			checkInjection(t, testInjection, doc, out, changed)
			kftest.Golden(t, "inject/"+name+".golden.html", out)
		})
	}
	if n == 0 {
		t.Fatal("no inputs")
	}
}

func TestInjectHTMLTag(t *testing.T) {
	inj := Injection{ScriptSrc: `/__kfsidebar/sidebar.js?v=1&t=a"b`, Nonce: "n&1", ConsoleHost: "mpkf.weixin.qq.com"}
	out, _ := HTML([]byte("<head></head>"), inj)
	want := `<head><script src="/__kfsidebar/sidebar.js?v=1&amp;t=a&quot;b" nonce="n&amp;1" defer></script></head>`
	if string(out) != want {
		t.Errorf("got  %s\nwant %s", out, want)
	}
	inj.Nonce = ""
	out, _ = HTML([]byte("<head></head>"), inj)
	if bytes.Contains(out, []byte("nonce")) {
		t.Errorf("empty nonce written: %s", out)
	}
}

func TestInjectHTMLRecognizesOwnScript(t *testing.T) {
	for _, doc := range []string{
		`<script src="/__kfsidebar/sidebar.js"></script>`,
		`<SCRIPT SRC=/__kfsidebar/sidebar.js?v=2 defer></SCRIPT>`,
		`<script src="https://mpkf.weixin.qq.com/__kfsidebar/sidebar.js?t=x"></script>`,
		`<script defer src=' /__kfsidebar/sidebar.js '></script>`,
	} {
		if out, changed := HTML([]byte(doc), testInjection); changed || string(out) != doc {
			t.Errorf("InjectHTML(%q) changed it: %s", doc, out)
		}
	}
	for _, doc := range []string{
		`<script src="/__kfsidebar/other.js"></script>`,
		`<script data-src="/__kfsidebar/sidebar.js"></script>`,
		`<script>var s = '<script src="/__kfsidebar/sidebar.js">';</script>`,
	} {
		if _, changed := HTML([]byte(doc), testInjection); !changed {
			t.Errorf("InjectHTML(%q) took it for the sidebar script", doc)
		}
	}
}

// checkInjection checks the properties every injection must have: exactly
// one more sidebar tag, the input otherwise unchanged (unless a meta CSP was
// patched), and nothing more to do on a second pass.
func checkInjection(t *testing.T, inj Injection, in, out []byte, changed bool) {
	t.Helper()
	if !changed {
		if !bytes.Equal(in, out) {
			t.Errorf("changed = false but the document differs")
		}
		return
	}
	tag := []byte(scriptTag(inj, false))
	if !bytes.Contains(out, tag) {
		tag = []byte(scriptTag(inj, true))
	}
	if got, want := bytes.Count(out, tag), bytes.Count(in, tag)+1; got != want {
		t.Errorf("output holds the tag %d times; want %d", got, want)
	}
	if !bytes.Contains(bytes.ToLower(in), []byte("content-security-policy")) && !isInsertion(in, out, tag) {
		t.Errorf("output is not the input plus the tag:\n%q", out)
	}
	if again, changed := HTML(out, inj); changed || !bytes.Equal(again, out) {
		t.Errorf("second injection changed the document:\n%q", again)
	}
}

// isInsertion reports whether out is in with tag inserted at one place.
func isInsertion(in, out, tag []byte) bool {
	if len(out) != len(in)+len(tag) {
		return false
	}
	prefix := 0
	for prefix < len(in) && in[prefix] == out[prefix] {
		prefix++
	}
	for k := prefix; k >= 0; k-- {
		if bytes.Equal(out[k:k+len(tag)], tag) && bytes.Equal(out[k+len(tag):], in[k:]) {
			return true
		}
		if len(in)-k > len(out) {
			break
		}
	}
	return false
}

// page100KB is a console-like page of about 100 KB with the head at the
// end, the worst case for the tokenizer.
func page100KB() []byte {
	var b bytes.Buffer
	b.WriteString("<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>客服</title>\n")
	for b.Len() < 100<<10 {
		b.WriteString(`<script>var cfg = {a: "</div>", b: [1, 2, 3]};</script><link rel="stylesheet" href="/static/a.css">` + "\n")
		b.WriteString("<!-- a comment with </head> in it -->\n")
	}
	b.WriteString("</head><body><div id=\"app\"></div></body></html>\n")
	return b.Bytes()
}

func BenchmarkInjectHTML100KB(b *testing.B) {
	doc := page100KB()
	b.SetBytes(int64(len(doc)))
	b.ReportAllocs()
	for b.Loop() {
		if _, changed := HTML(doc, testInjection); !changed {
			b.Fatal("not injected")
		}
	}
}

func FuzzInjectHTML(f *testing.F) {
	f.Add([]byte("<html><head><title>x</title></head><body></body></html>"))
	f.Fuzz(func(t *testing.T, doc []byte) {
		out, changed := HTML(doc, testInjection)
		checkInjection(t, testInjection, doc, out, changed)
	})
}

// TestMayMatterAfterHead: InjectHTML stops tokenizing at </head> only when
// the rest holds no <base>, no <meta> and no sidebar script.
func TestMayMatterAfterHead(t *testing.T) {
	for rest, want := range map[string]bool{
		"":                                      false,
		"<body><p>x</p><img src=a.png>":         false,
		"<body><script src=app.js></script><b>": false,
		"<body><BASE href=/x/>":                 true,
		"<body><Meta http-equiv=x>":             true,
		`<script src="/__kfsidebar/sidebar.js?t=1"></script>`: true,
		"<body>a < b, x <bas": false,
		"<":                   false,
	} {
		if got := mayMatterAfterHead([]byte(rest)); got != want {
			t.Errorf("mayMatterAfterHead(%q) = %v, want %v", rest, got, want)
		}
	}
}

// TestInjectHTMLCutOff covers documents that end inside a token: inserting
// after such a token would put the tag inside it.
func TestInjectHTMLCutOff(t *testing.T) {
	for _, doc := range []string{"<!DOCTYPE", "<!DOCTYPE html", "<html", "<html><body", "<head></head", "<!--", "<script>", "<html><head><title>x"} {
		out, changed := HTML([]byte(doc), testInjection)
		if !changed {
			t.Errorf("InjectHTML(%q) did not inject", doc)
		}
		checkInjection(t, testInjection, []byte(doc), out, changed)
	}
}
