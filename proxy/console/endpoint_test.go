package console

import (
	"net/url"
	"testing"
)

func TestEndpoint(t *testing.T) {
	tests := []struct {
		url        string
		wantSource string
		wantTarget bool
	}{
		{"/cgi-bin/kfsessionmgr?action=kfcreatesession&token=1234567890&f=json&r=1700000000000", SourceManual, true},
		{"/cgi-bin/kfsessionmgr", SourceManual, true},
		{"/cgi-bin/kfsessionmgr/", SourceManual, true},
		{"/cgi-bin/kfsessionmgr/create?x=1", SourceManual, true},
		// The evidence says "kfsessionmgr…": any continuation counts.
		{"/cgi-bin/kfsessionmgrx", SourceManual, true},
		{"/cgi-bin/KFSESSIONMGR", SourceOther, false},
		{"/cgi-bin/kfsessionmg", SourceOther, false},
		{"/kfsessionmgr", SourceOther, false},

		{"/cgi-bin/kfunaccepted?action=kfbatchcreatesession&token=1&f=json&t=17", SourceAuto, true},
		{"/cgi-bin/kfunaccepted?token=1&action=kfbatchcreatesession", SourceAuto, true},
		{"/cgi-bin/kfunaccepted/?action=kfbatchcreatesession", SourceAuto, true},
		{"/cgi-bin/kfunaccepted?action=getmsglist&token=1", SourceOther, false},
		{"/cgi-bin/kfunaccepted", SourceOther, false},
		{"/cgi-bin/kfunaccepted?action=KFBATCHCREATESESSION", SourceOther, false},
		{"/cgi-bin/kfunacceptedx?action=kfbatchcreatesession", SourceOther, false},
		{"/cgi-bin/kfunaccepted?xaction=kfbatchcreatesession", SourceOther, false},
		{"/cgi-bin/kfunaccepted?q=action%3Dkfbatchcreatesession", SourceOther, false},

		{"/cgi-bin/kftransfer?action=gettransferinfo&token=1&f=json", SourceTransfer, true},
		{"/cgi-bin/kftransfer/?f=json&action=gettransferinfo", SourceTransfer, true},
		{"/cgi-bin/kftransfer?action=transfer", SourceOther, false},
		{"/cgi-bin/kftransfer2?action=gettransferinfo", SourceOther, false},
		{"/cgi-bin/kftransfer//?action=gettransferinfo", SourceOther, false},

		{"/cgi-bin/kfindex?token=1234567890", SourceOther, false},
		{"/", SourceOther, false},
		{"", SourceOther, false},
	}
	for _, tt := range tests {
		u, err := url.Parse("https://mpkf.weixin.qq.com" + tt.url)
		if err != nil {
			t.Fatal(err)
		}
		if source, target := Endpoint(u); source != tt.wantSource || target != tt.wantTarget {
			t.Errorf("Endpoint(%q) = %q, %v; want %q, %v", tt.url, source, target, tt.wantSource, tt.wantTarget)
		}
	}
	if source, target := Endpoint(nil); source != SourceOther || target {
		t.Errorf("Endpoint(nil) = %q, %v", source, target)
	}
}
