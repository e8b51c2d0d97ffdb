package scan

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/kfsidebar/kfsidebar/internal/kftest"
)

// TestScanFastRepliesGolden scans testdata/fastreply/*.json, among them the
// simulated console's own settings response, into *.golden (null: no
// fastreply_list found; []: found, but no text replies).
func TestScanFastRepliesGolden(t *testing.T) {
	inputs, err := filepath.Glob("testdata/fastreply/*.json")
	if err != nil || len(inputs) == 0 {
		t.Fatalf("no inputs: %v", err)
	}
	for _, in := range inputs {
		name := strings.TrimSuffix(filepath.Base(in), ".json")
		t.Run(name, func(t *testing.T) {
			doc, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			out, err := json.MarshalIndent(FastReplies(doc), "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			kftest.Golden(t, "fastreply/"+name+".golden", append(out, '\n'))
		})
	}
}

func TestScanFastRepliesDeepAndHuge(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want []string
	}{
		{"too deep to be settings", strings.Repeat(`{"a":`, maxScanDepth+1) +
			`{"fastreply_list":[{"content":"deep"}]}` + strings.Repeat(`}`, maxScanDepth+1), nil},
		{"nesting bomb", strings.Repeat("[", maxNesting+1) + `"fastreply_list"` + strings.Repeat("]", maxNesting+1), nil},
	}
	for _, tt := range tests {
		got := FastReplies([]byte(tt.doc))
		if (got == nil) != (tt.want == nil) || !slices.Equal(got, tt.want) {
			t.Errorf("%s: ScanFastReplies = %#v, want %#v", tt.name, got, tt.want)
		}
	}
}

func FuzzScanFastReplies(f *testing.F) {
	inputs, _ := filepath.Glob("testdata/fastreply/*.json")
	for _, in := range inputs {
		if doc, err := os.ReadFile(in); err == nil {
			f.Add(doc)
		}
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		for _, text := range FastReplies(doc) {
			if text == "" || strings.TrimSpace(text) != text {
				t.Fatalf("reply %q is blank or untrimmed", text)
			}
		}
	})
}
