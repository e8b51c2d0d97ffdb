package hostport

import "testing"

func TestHost(t *testing.T) {
	tests := []struct{ in, want string }{
		{"mpkf.weixin.qq.com", "mpkf.weixin.qq.com"},
		{"MPKF.Weixin.QQ.com:443", "mpkf.weixin.qq.com"},
		{"mpkf.weixin.qq.com.", "mpkf.weixin.qq.com"},
		{"mpkf.weixin.qq.com.:8443", "mpkf.weixin.qq.com"},
		{"[::1]:443", "::1"},
		{"[::1]", "::1"},
		{"127.0.0.1:80", "127.0.0.1"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := Host(tt.in); got != tt.want {
			t.Errorf("Host(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
