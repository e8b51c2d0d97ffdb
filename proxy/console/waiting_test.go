package console

import (
	"net/url"
	"testing"
)

func TestIsWaitingList(t *testing.T) {
	tests := []struct {
		url  string
		want bool
	}{
		{"https://mpkf.weixin.qq.com/cgi-bin/kfunaccepted?action=getmsglist&token=1&f=json&r=2", true},
		{"https://mpkf.weixin.qq.com/cgi-bin/kfunaccepted/?t=1&action=getmsglist", true},
		{"https://mpkf.weixin.qq.com/cgi-bin/kfunaccepted?action=kfbatchcreatesession", false},
		{"https://mpkf.weixin.qq.com/cgi-bin/kfmsg?action=getmsglist", false},
		{"https://mpkf.weixin.qq.com/cgi-bin/kfunaccepted", false},
	}
	for _, tt := range tests {
		u, err := url.Parse(tt.url)
		if err != nil {
			t.Fatal(err)
		}
		if got := IsWaitingList(u); got != tt.want {
			t.Errorf("IsWaitingList(%s) = %v, want %v", tt.url, got, tt.want)
		}
	}
	if IsWaitingList(nil) {
		t.Error("IsWaitingList(nil) = true")
	}
}
