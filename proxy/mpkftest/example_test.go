package mpkftest_test

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"log"
	"net"
	"net/http"

	"github.com/kfsidebar/kfsidebar/proxy/mpkftest"
)

// A client reaches the simulated console by dialing Addr for any host and
// trusting the server's CA, exactly as it would trust the real one.
func ExampleNewServer() {
	s, err := mpkftest.NewServer(mpkftest.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	c := &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, s.Addr())
		},
		TLSClientConfig: &tls.Config{RootCAs: s.CA().Pool()},
	}}

	s.AddWaiting(mpkftest.Roster[7]) // 李想, who has no avatar
	resp, err := c.Get("https://mpkf.weixin.qq.com/cgi-bin/kfunaccepted?action=getmsglist&token=1234567890&f=json&r=1")
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	var list struct {
		MsgList []struct {
			Nickname   string `json:"nickname"`
			HeadImgURL string `json:"headimgurl"`
		} `json:"msglist"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil {
		log.Fatal(err)
	}
	for _, m := range list.MsgList {
		fmt.Printf("%s %q\n", m.Nickname, m.HeadImgURL)
	}
	// Output:
	// 王建国 "http://wx.qlogo.cn/mmhead/Q3auHgzwzM6icHTp8hkqdlm7tOtHWnsCGRlrwZbqcabUGJmGEp7CgQw"
	// 周周 "http://wx.qlogo.cn/mmhead/Q3auHgzwzM5sT6yRTQKyd5rV5hnBhiaHBnMfJsb1Ia6cicXF5l3QfKxyA"
	// 阿杰 "http://wx.qlogo.cn/mmhead/Q3auHgzwzM5sT6yRTQKyd5rV5hnBhiaHBnMfJsb1Ia6cicXF5l3QfKxyA"
	// 李想 ""
}
