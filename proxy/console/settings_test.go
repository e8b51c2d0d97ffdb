package console

import (
	"net/url"
	"testing"
)

func TestIsSettings(t *testing.T) {
	tests := []struct {
		url  string
		want bool
	}{
		{"https://mpkf.weixin.qq.com/cgi-bin/kfsettings?action=getsettings&token=1&f=json&r=2", true},
		{"https://mpkf.weixin.qq.com/cgi-bin/kfsettings/?t=1&action=getsettings", true},
		{"https://mpkf.weixin.qq.com/cgi-bin/kfsettings?action=setsettings", false},
		{"https://mpkf.weixin.qq.com/cgi-bin/kfsettings", false},
		{"https://mpkf.weixin.qq.com/cgi-bin/KFSETTINGS?action=getsettings", false},
		{"https://mpkf.weixin.qq.com/cgi-bin/kfsettingsx?action=getsettings", false},
	}
	for _, tt := range tests {
		u, err := url.Parse(tt.url)
		if err != nil {
			t.Fatal(err)
		}
		if got := IsSettings(u); got != tt.want {
			t.Errorf("IsSettings(%s) = %v, want %v", tt.url, got, tt.want)
		}
	}
	if IsSettings(nil) {
		t.Error("IsSettings(nil) = true")
	}
}
