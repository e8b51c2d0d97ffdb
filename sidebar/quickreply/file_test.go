package quickreply

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"golang.org/x/text/encoding/simplifiedchinese"

	"github.com/kfsidebar/kfsidebar/internal/jsonrecord"
)

// TestImportFileAsWindowsSavesIt: a quick reply file saved by Notepad with
// a BOM, or in GBK (Chinese Windows' "ANSI"), imports with its Chinese
// intact, saying when it was converted; a file in an encoding kfsidebar
// cannot tell is refused with how to save it as UTF-8, changing nothing.
func TestImportFileAsWindowsSavesIt(t *testing.T) {
	const file = `{"groups": [{"name": "售后", "replies": [{"title": "物流", "text": "您好，已发顺丰"}]}]}`
	gbk, err := simplifiedchinese.GBK.NewEncoder().Bytes([]byte(file))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name     string
		data     []byte
		wantNote bool
		wantErr  string
	}{
		{name: "UTF-8 with BOM", data: append([]byte("\xEF\xBB\xBF"), file...)},
		{name: "GBK", data: gbk, wantNote: true},
		{name: "Latin-1", data: []byte(`{"groups": [{"name": "caf` + "\xe9" + `", "replies": []}]}`), wantErr: "neither UTF-8 nor GBK"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			q := newStore(t)
			before := exportString(t, q)
			res, err := q.ImportFile(context.Background(), bytes.NewReader(tt.data))
			if tt.wantErr != "" {
				var ie *jsonrecord.ImportError
				if !errors.As(err, &ie) || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), "UTF-8") {
					t.Fatalf("ImportFile = %+v, %v; want an ImportError with %q", res, err, tt.wantErr)
				}
				if exportString(t, q) != before {
					t.Error("a refused file changed the replies")
				}
				return
			}
			if err != nil || res.Added != 1 || (res.Note != "") != tt.wantNote {
				t.Fatalf("ImportFile = %+v, %v", res, err)
			}
			if got := exportString(t, q); !strings.Contains(got, "您好，已发顺丰") || !strings.Contains(got, `"售后"`) {
				t.Errorf("after import: %s", got)
			}
		})
	}
}
