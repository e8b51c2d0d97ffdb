package mpkftest

import (
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"context"
	"crypto/tls"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/andybalholm/brotli"
	"github.com/kfsidebar/kfsidebar/internal/kftest"
)

// newServer starts a console for one test; it is closed when the test
// ends.
func newServer(t *testing.T, opts Options) *Server {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = kftest.Logger(t)
	}
	s, err := NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// client dials the server whatever the URL's host, and verifies its
// certificate against the server's CA for that host. It does not decode
// compressed bodies by itself, so tests see what the server sent.
func client(s *Server) *http.Client {
	return &http.Client{
		Transport: &http.Transport{
			DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
				var d net.Dialer
				return d.DialContext(ctx, network, s.Addr())
			},
			TLSClientConfig:    &tls.Config{RootCAs: s.CA().Pool()},
			DisableCompression: true,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Timeout:       time.Minute,
	}
}

// cgiURL is a console API URL as the page builds it.
func cgiURL(s *Server, name, action string, params url.Values) string {
	q := url.Values{"action": {action}, "token": {s.opts.Token}, "f": {"json"}, "r": {"1732330000000"}}
	for k, v := range params {
		q[k] = v
	}
	return "https://" + Host + "/cgi-bin/" + name + "?" + q.Encode()
}

// fetch does a request and returns the response with its body decoded.
func fetch(t *testing.T, c *http.Client, method, u string, form url.Values, header http.Header) (*http.Response, []byte) {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=UTF-8")
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, decode(t, resp.Header.Get("Content-Encoding"), raw)
}

// fetchNoFatal GETs u from any goroutine; a failed request is a nil
// response.
func fetchNoFatal(c *http.Client, u string) (*http.Response, []byte) {
	resp, err := c.Get(u)
	if err != nil {
		return nil, nil
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, nil
	}
	return resp, body
}

func decode(t *testing.T, coding string, raw []byte) []byte {
	t.Helper()
	var r io.Reader
	var err error
	switch coding {
	case "":
		return raw
	case "gzip":
		r, err = gzip.NewReader(bytes.NewReader(raw))
	case "deflate":
		r, err = zlib.NewReader(bytes.NewReader(raw))
	case "br":
		r = brotli.NewReader(bytes.NewReader(raw))
	default:
		t.Fatalf("unexpected Content-Encoding %q", coding)
	}
	if err != nil {
		t.Fatal(err)
	}
	out, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("decode %s: %v", coding, err)
	}
	return out
}

// getJSON fetches a cgi URL and decodes its JSON into v.
func getJSON(t *testing.T, c *http.Client, method, u string, form url.Values, v any) []byte {
	t.Helper()
	resp, body := fetch(t, c, method, u, form, http.Header{"Accept-Encoding": {"gzip, deflate, br"}})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s %s: %s: %s", method, u, resp.Status, body)
	}
	if err := json.Unmarshal(body, v); err != nil {
		t.Fatalf("%s %s: %v: %s", method, u, err, body)
	}
	return body
}

// requestsFor returns the logged requests of one cgi endpoint.
func requestsFor(s *Server, path, action string) []RequestInfo {
	var out []RequestInfo
	for _, r := range s.Requests() {
		if r.Path == path && r.Action == action {
			out = append(out, r)
		}
	}
	return out
}

// The wire types below mirror the documented fields independently of the
// server's own structs, so a renamed tag breaks a test.

type wBase struct {
	Ret    int    `json:"ret"`
	ErrMsg string `json:"err_msg"`
}

type wSession struct {
	FansUIN    int64  `json:"fans_uin"`
	Nickname   string `json:"nickname"`
	FansOpenID string `json:"fans_openid"`
	SessionID  int64  `json:"session_id"`
	StartTime  int64  `json:"start_time"`
	HeadImgURL string `json:"headimgurl"`
}

type wMsg struct {
	MsgID      int64  `json:"msgid"`
	FromUIN    int64  `json:"fromuin"`
	Content    string `json:"content"`
	CreateTime int64  `json:"createtime"`
}

type wSummary struct {
	Msg wMsg `json:"msg"`
}

type wCreate struct {
	BaseResp wBase `json:"base_resp"`
	Items    []struct {
		BaseResp   wBase     `json:"base_resp"`
		KFSession  wSession  `json:"kfsession"`
		MsgSummary *wSummary `json:"msgsummary"`
	} `json:"kfcreatesession_resp"`
}

type wNewMsg struct {
	BaseResp   wBase                `json:"base_resp"`
	Seq        int64                `json:"seq"`
	MsgList    []struct{ Msg wMsg } `json:"msglist"`
	Unaccepted struct {
		Count int   `json:"count"`
		Seq   int64 `json:"seq"`
	} `json:"unaccepted"`
	TransferCnt int `json:"transfer_cnt"`
}

type wCGIData struct {
	Token  string `json:"token"`
	KFInfo struct {
		Nickname string `json:"nickname"`
	} `json:"kf_info"`
	Seq      int64 `json:"seq"`
	Sessions struct {
		List []struct {
			KFSession  wSession `json:"kfsession"`
			MsgSummary wSummary `json:"msgsummary"`
		} `json:"kfsession_and_msgsummary"`
	} `json:"sessions"`
}
