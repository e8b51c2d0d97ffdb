package scan

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kfsidebar/kfsidebar/internal/kftest"
)

// TestScanWaitingListGolden scans testdata/waiting/*.json, among them the
// simulated console's own waiting list, into *.golden.
func TestScanWaitingListGolden(t *testing.T) {
	inputs, err := filepath.Glob("testdata/waiting/*.json")
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
			msgs := WaitingList(doc)
			for i := range msgs {
				msgs[i].CreateTime = msgs[i].CreateTime.UTC()
			}
			out, err := json.MarshalIndent(msgs, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			kftest.Golden(t, "waiting/"+name+".golden", append(out, '\n'))
		})
	}
}

func FuzzScanWaitingList(f *testing.F) {
	inputs, _ := filepath.Glob("testdata/waiting/*.json")
	for _, in := range inputs {
		if doc, err := os.ReadFile(in); err == nil {
			f.Add(doc)
		}
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		seen := map[string]bool{}
		for _, m := range WaitingList(doc) {
			if m.UIN == "" || strings.Trim(m.UIN, "0123456789") != "" || seen[m.UIN] {
				t.Fatalf("uin %q is empty, not decimal or repeated", m.UIN)
			}
			seen[m.UIN] = true
			if m.Text == "" || strings.TrimSpace(m.Text) != m.Text || m.CreateTime.Unix() <= 0 {
				t.Fatalf("message %+v: blank or untrimmed text, or no time", m)
			}
		}
	})
}
