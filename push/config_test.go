package push_test

import (
	"testing"

	"github.com/kfsidebar/kfsidebar/push"
)

func TestParsePattern(t *testing.T) {
	for _, tt := range []struct {
		in      string
		want    push.Pattern
		wantErr bool
	}{
		{"text", push.Pattern{MsgType: "text"}, false},
		{"event:add_express_path", push.Pattern{MsgType: "event", Event: "add_express_path"}, false},
		{"event:trade_manage_*", push.Pattern{MsgType: "event", Event: "trade_manage_*"}, false},
		{"*", push.Pattern{MsgType: "*"}, false},
		{"", push.Pattern{}, true},
		{":x", push.Pattern{}, true},
		{"event:[", push.Pattern{}, true},
	} {
		got, err := push.ParsePattern(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("ParsePattern(%q) = %+v, %v", tt.in, got, err)
		}
	}
}
