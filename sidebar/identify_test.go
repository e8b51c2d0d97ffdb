package sidebar

import (
	"reflect"
	"testing"

	"github.com/kfsidebar/kfsidebar/proxy/console"
)

func TestChatKeys(t *testing.T) {
	rec := &console.Record{OpenID: "oA"}
	tests := []struct {
		name string
		q    console.Query
		rec  *console.Record
		want []string
	}{
		{"openid and uin", console.Query{UIN: "7", Avatar: avatarAlice}, rec, []string{"oA", "uin:7"}},
		{"uin", console.Query{UIN: "7", Avatar: avatarAlice}, nil, []string{"uin:7"}},
		{"opened uin", console.Query{Opened: "7", Avatar: avatarAlice}, nil, []string{"uin:7"}},
		{"card and history request agree", console.Query{Opened: "7", UIN: "7"}, nil, []string{"uin:7"}},
		{"card and history request disagree", console.Query{Opened: "7", UIN: "8"}, nil, nil},
		{"never the avatar", console.Query{Avatar: avatarAlice, Nickname: "x"}, nil, nil},
		{"nothing", console.Query{Nickname: "x"}, nil, nil},
	}
	for _, tt := range tests {
		if got := chatKeys(tt.q, tt.rec); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: chatKeys = %q, want %q", tt.name, got, tt.want)
		}
	}
}
