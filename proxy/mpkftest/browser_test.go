package mpkftest

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/kfsidebar/kfsidebar/certs"
	"github.com/kfsidebar/kfsidebar/internal/browsertest"
	"github.com/kfsidebar/kfsidebar/internal/kftest"
)

var screenshot = flag.String("screenshot", "", "write PNG screenshots of the console page to this file (and a -narrow variant)")

// One browser serves every test, so every test's server shares one CA (the
// browser pins its key) and one CONNECT forwarder that sends the tunnels
// to the current test's server.
var (
	browserCA *certs.CA
	fwd       *forwarder
	browser   = browsertest.Shared{Options: func() browsertest.Options {
		return browsertest.Options{ProxyServer: fwd.addr(), SPKIList: []string{browserCA.SPKIHash()}}
	}}
)

func TestMain(m *testing.M) {
	var err error
	if browserCA, err = certs.New(certs.Options{Hosts: Hosts, CommonName: "mpkftest browser CA"}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if fwd, err = startForwarder(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	browser.Close()
	fwd.close()
	os.Exit(code)
}

// forwarder is a minimal HTTP proxy that answers every CONNECT, whatever
// host it names, with a tunnel to the current test server: it makes
// https://mpkf.weixin.qq.com and the avatar hosts reach the simulation.
type forwarder struct {
	ln     net.Listener
	target atomic.Pointer[string]
	wg     sync.WaitGroup
	mu     sync.Mutex
	conns  map[net.Conn]bool
}

func startForwarder() (*forwarder, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("forwarder: %w", err)
	}
	f := &forwarder{ln: ln, conns: map[net.Conn]bool{}}
	f.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			f.track(c, true)
			f.wg.Go(func() { f.handle(c) })
		}
	})
	return f, nil
}

func (f *forwarder) addr() string { return f.ln.Addr().String() }

func (f *forwarder) track(c net.Conn, add bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if add {
		f.conns[c] = true
	} else {
		delete(f.conns, c)
	}
}

func (f *forwarder) handle(c net.Conn) {
	defer f.track(c, false)
	defer c.Close()
	br := bufio.NewReader(c)
	req, err := http.ReadRequest(br)
	if err != nil {
		return
	}
	target := f.target.Load()
	if req.Method != http.MethodConnect || target == nil {
		io.WriteString(c, "HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
		return
	}
	up, err := net.Dial("tcp", *target)
	if err != nil {
		io.WriteString(c, "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
		return
	}
	f.track(up, true)
	defer f.track(up, false)
	defer up.Close()
	if _, err := io.WriteString(c, "HTTP/1.1 200 Connection established\r\n\r\n"); err != nil {
		return
	}
	done := make(chan struct{}, 2)
	go func() {
		io.Copy(up, br)
		up.Close()
		done <- struct{}{}
	}()
	go func() {
		io.Copy(c, up)
		c.Close()
		done <- struct{}{}
	}()
	<-done
	<-done
}

func (f *forwarder) close() {
	f.ln.Close()
	f.mu.Lock()
	for c := range f.conns {
		c.Close()
	}
	f.mu.Unlock()
	f.wg.Wait()
}

// openConsole starts a server for the test, points the forwarder at it
// and loads the console page in a new tab.
func openConsole(t *testing.T, opts Options) (*Server, context.Context) {
	t.Helper()
	opts.CA = browserCA
	s := newServer(t, opts)
	ctx := browser.Tab(t)
	addr := s.Addr()
	fwd.target.Store(&addr)
	if err := chromedp.Do(ctx, chromedp.Navigate(s.URL())); err != nil {
		t.Fatal(err)
	}
	// The hook's reactIDs proves the page came from this server and not
	// from a previous one over a connection the browser kept.
	waitJS(t, ctx, `window.__mpkftest.reactIDs === `+strconv.FormatBool(!opts.NoReactID)+
		` && document.querySelectorAll('.card').length === `+strconv.Itoa(len(s.Accepted()))+
		` && document.querySelectorAll('.waiting_item').length === `+strconv.Itoa(len(s.opts.Fans[s.opts.OpenAtLoad:s.opts.OpenAtLoad+s.opts.Waiting])))
	return s, ctx
}

// waitJS polls a JavaScript condition in the page.
func waitJS(t *testing.T, ctx context.Context, expr string) {
	t.Helper()
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](expr, chromedp.WithPollingTimeout(15*time.Second))); err != nil {
		t.Fatalf("waiting for %s: %v", expr, err)
	}
}

func evalJS[T any](t *testing.T, ctx context.Context, expr string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// selectedUIN is the fans_uin of the selected card, read from its
// data-reactid as a sidebar would.
const selectedUIN = `(() => { const c = document.querySelector('.card_selected'); return c ? c.getAttribute('data-reactid').split('$').pop() : ''; })()`

func uinString(f Fan) string { return strconv.FormatInt(f.UIN, 10) }

// pressEnter sends Enter as a keyboard does, without the char event that
// chromedp's SendKeys adds (which would insert a line break after a
// handler cancelled the keydown).
var pressEnter = chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
	for _, typ := range []input.DispatchKeyEventType{input.DispatchKeyEventTypeRawKeyDown, input.DispatchKeyEventTypeKeyUp} {
		_, err := cdp.Call(ctx, t, input.DispatchKeyEvent, input.DispatchKeyEventParams{
			Type: typ, Key: "Enter", Code: "Enter", WindowsVirtualKeyCode: 13, NativeVirtualKeyCode: 13,
		})
		if err != nil {
			return err
		}
	}
	return nil
})

func TestBrowserRendersOpenChats(t *testing.T) {
	s, ctx := openConsole(t, Options{})
	type card struct {
		ReactID string `json:"reactid"`
		Src     string `json:"src"`
		Nick    string `json:"nick"`
		Detail  string `json:"detail"`
	}
	cards := evalJS[[]card](t, ctx, `[...document.querySelectorAll('.card')].map(c => ({
		reactid: c.getAttribute('data-reactid'),
		src: c.querySelector('.card_pic img').getAttribute('src'),
		nick: c.querySelector('.card_content_nick').textContent,
		detail: c.querySelector('.card_content_detail').textContent}))`)
	for i, f := range s.Accepted() {
		c := cards[i]
		if !strings.HasSuffix(c.ReactID, "$"+uinString(f)) || c.Src != f.AvatarPage() || c.Nick != f.Nickname || c.Detail == "" {
			t.Errorf("card %d = %+v, want reactid ending $%d, src %s, nick %s", i, c, f.UIN, f.AvatarPage(), f.Nickname)
		}
	}
	checks := map[string]string{
		`!!document.querySelector('.main > .main_content > .main_header + .main_body')`: "true",
		`document.querySelector('.state_description').textContent`:                      me.Nickname,
		selectedUIN: uinString(Roster[0]),
		`document.querySelector('.chat_header_name').textContent`:                         Roster[0].Nickname,
		`!!document.querySelector('.chat_edit_input > pre#editor[contenteditable=true]')`: "true",
		`document.querySelectorAll('.message_box.message_box_fans').length > 0`:           "true",
	}
	for expr, want := range checks {
		if got := fmt.Sprint(evalJS[any](t, ctx, expr)); got != want {
			t.Errorf("%s = %q, want %q", expr, got, want)
		}
	}
}

func TestBrowserClickSelects(t *testing.T) {
	_, ctx := openConsole(t, Options{})
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`.card[data-reactid$="$`+uinString(Roster[1])+`"]`))); err != nil {
		t.Fatal(err)
	}
	waitJS(t, ctx, selectedUIN+` === '`+uinString(Roster[1])+`'`)
	if got := evalJS[string](t, ctx, `document.querySelector('.chat_header_name').textContent`); got != Roster[1].Nickname {
		t.Errorf("chat header = %q, want %q", got, Roster[1].Nickname)
	}
	if n := evalJS[int](t, ctx, `document.querySelectorAll('.card_selected').length`); n != 1 {
		t.Errorf("%d selected cards, want 1", n)
	}
}

func TestBrowserArrowKeysMoveSelection(t *testing.T) {
	_, ctx := openConsole(t, Options{})
	steps := []struct {
		key  string
		want Fan
	}{
		{kb.ArrowDown, Roster[1]},
		{kb.ArrowDown, Roster[1]}, // stays on the last chat
		{kb.ArrowUp, Roster[0]},
	}
	for _, st := range steps {
		if err := chromedp.Do(ctx, chromedp.KeyEvent(st.key)); err != nil {
			t.Fatal(err)
		}
		waitJS(t, ctx, selectedUIN+` === '`+uinString(st.want)+`'`)
	}
}

func TestBrowserAcceptWaiting(t *testing.T) {
	s, ctx := openConsole(t, Options{})
	fan := Roster[2]
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`.waiting_item[data-reactid$="$`+uinString(fan)+`"] .btn_accept`))); err != nil {
		t.Fatal(err)
	}
	waitJS(t, ctx, `document.querySelectorAll('.card').length === 3 && `+selectedUIN+` === '`+uinString(fan)+`'`)
	got := requestsFor(s, "/cgi-bin/kfsessionmgr", "kfcreatesession")
	if len(got) != 1 || got[0].Method != http.MethodGet || got[0].Form.Get("fansuinlist") != uinString(fan) || got[0].Form.Get("f") != "json" {
		t.Errorf("kfcreatesession requests = %+v, want one GET for %d", got, fan.UIN)
	}
	waitJS(t, ctx, `document.querySelectorAll('.waiting_item').length === 2`)
}

func TestBrowserEnterSends(t *testing.T) {
	s, ctx := openConsole(t, Options{})
	const text = "您好，已为您加急处理 OK"
	if err := chromedp.Do(ctx, chromedp.SendKeys(chromedp.CSS("pre#editor"), text), pressEnter); err != nil {
		t.Fatal(err)
	}
	kftest.Poll(t, "kfmsg send", func() bool { return len(requestsFor(s, "/cgi-bin/kfmsg", "send")) == 1 })
	sent := requestsFor(s, "/cgi-bin/kfmsg", "send")[0]
	want := map[string]string{"content": text, "fans_openid": Roster[0].OpenID, "msgtype": "1", "isfastreply": "0"}
	for k, v := range want {
		if got := sent.Form.Get(k); got != v {
			t.Errorf("send %s = %q, want %q", k, got, v)
		}
	}
	if sent.Method != http.MethodPost || sent.Form.Get("sessionid") == "" || sent.Form.Get("clientmsgid") == "" {
		t.Errorf("send = %+v, want a POST with sessionid and clientmsgid", sent)
	}
	waitJS(t, ctx, `[...document.querySelectorAll('.message_box_kf .message_text')].some(e => e.textContent === `+jsString(text)+`)`)
	if got := evalJS[string](t, ctx, `document.querySelector('#editor').textContent`); got != "" {
		t.Errorf("editor after send = %q, want empty", got)
	}
}

func TestBrowserEditorIsReactControlled(t *testing.T) {
	s, ctx := openConsole(t, Options{})
	const silent = "未触发input的文字"
	if err := chromedp.Do(ctx,
		chromedp.Evaluate[chromedp.Void](`document.querySelector('#editor').textContent = `+jsString(silent)),
		chromedp.Focus(chromedp.CSS("pre#editor")),
		pressEnter,
	); err != nil {
		t.Fatal(err)
	}
	// The draft in the page's state is still empty, so Enter sent nothing.
	// Typing one character fires input, which copies the whole DOM text
	// into the draft; only that is sent.
	if err := chromedp.Do(ctx, chromedp.SendKeys(chromedp.CSS("pre#editor"), "好"), pressEnter); err != nil {
		t.Fatal(err)
	}
	kftest.Poll(t, "kfmsg send", func() bool { return len(requestsFor(s, "/cgi-bin/kfmsg", "send")) > 0 })
	sends := requestsFor(s, "/cgi-bin/kfmsg", "send")
	if len(sends) != 1 {
		t.Fatalf("%d sends, want 1", len(sends))
	}
	if got := sends[0].Form.Get("content"); !strings.Contains(got, silent) || !strings.Contains(got, "好") {
		t.Errorf("sent %q, want the silent text plus the typed character", got)
	}
}

func TestBrowserFastReply(t *testing.T) {
	s, ctx := openConsole(t, Options{})
	want := myFastReplies[1].Content
	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(".chat_tool_fastreply")),
		chromedp.Click(chromedp.CSS(`.fastreply_item[data-fastreply=`+jsString(want)+`]`)),
		pressEnter,
	); err != nil {
		t.Fatal(err)
	}
	kftest.Poll(t, "kfmsg send", func() bool { return len(requestsFor(s, "/cgi-bin/kfmsg", "send")) == 1 })
	sent := requestsFor(s, "/cgi-bin/kfmsg", "send")[0]
	if sent.Form.Get("content") != want || sent.Form.Get("isfastreply") != "1" {
		t.Errorf("sent content %q isfastreply %s, want %q and 1", sent.Form.Get("content"), sent.Form.Get("isfastreply"), want)
	}
}

func TestBrowserCloseSession(t *testing.T) {
	s, ctx := openConsole(t, Options{})
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(".btn_close_session"))); err != nil {
		t.Fatal(err)
	}
	waitJS(t, ctx, `document.querySelectorAll('.card').length === 1 && `+selectedUIN+` === '`+uinString(Roster[1])+`'`)
	if acc := s.Accepted(); len(acc) != 1 || acc[0].UIN != Roster[1].UIN {
		t.Errorf("Accepted() = %v, want only %d", acc, Roster[1].UIN)
	}
}

func TestBrowserAutoAccept(t *testing.T) {
	s, ctx := openConsole(t, Options{})
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(".auto_accept"))); err != nil {
		t.Fatal(err)
	}
	waitJS(t, ctx, `document.querySelectorAll('.card').length === 5 && document.querySelectorAll('.waiting_item').length === 0`)
	newcomer := Roster[5]
	s.AddWaiting(newcomer)
	waitJS(t, ctx, `!!document.querySelector('.card[data-reactid$="$`+uinString(newcomer)+`"]')`)

	batches := requestsFor(s, "/cgi-bin/kfunaccepted", "kfbatchcreatesession")
	if len(batches) != 2 {
		t.Fatalf("%d batch requests, want 2 (the switch, then the newcomer)", len(batches))
	}
	wantLists := []string{uinString(Roster[2]) + "," + uinString(Roster[3]) + "," + uinString(Roster[4]), uinString(newcomer)}
	for i, b := range batches {
		if b.Method != http.MethodPost || b.Form.Get("isauto") != "1" || b.Form.Get("fansuinlist") != wantLists[i] {
			t.Errorf("batch %d = %s isauto=%s fansuinlist=%s, want POST isauto=1 fansuinlist=%s", i, b.Method, b.Form.Get("isauto"), b.Form.Get("fansuinlist"), wantLists[i])
		}
	}
	if manual := requestsFor(s, "/cgi-bin/kfsessionmgr", "kfcreatesession"); len(manual) != 0 {
		t.Errorf("auto accept used kfcreatesession %d times", len(manual))
	}
	if got := len(s.Accepted()); got != 6 {
		t.Errorf("%d open chats on the server, want 6", got)
	}
}

func TestBrowserTransferIn(t *testing.T) {
	s, ctx := openConsole(t, Options{})
	fan := Roster[10]
	s.TransferIn(fan)
	waitJS(t, ctx, `!!document.querySelector('.card[data-reactid$="$`+uinString(fan)+`"] .card_pic img[src=`+jsString(fan.AvatarPage())+`]')`)
	if got := requestsFor(s, "/cgi-bin/kftransfer", "gettransferinfo"); len(got) != 1 {
		t.Errorf("%d gettransferinfo requests, want 1", len(got))
	}
	s.SendFromFan(fan.UIN, "麻烦快点处理")
	waitJS(t, ctx, `document.querySelector('.card[data-reactid$="$`+uinString(fan)+`"] .card_content_detail').textContent === '麻烦快点处理'`)
}

func TestBrowserScreenshot(t *testing.T) {
	if *screenshot == "" {
		t.Skip("no -screenshot file given")
	}
	s, ctx := openConsole(t, Options{})
	s.TransferIn(Roster[10])
	waitJS(t, ctx, `document.querySelectorAll('.card').length === 3`)
	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`.card[data-reactid$="$`+uinString(Roster[0])+`"]`)),
		chromedp.SendKeys(chromedp.CSS("pre#editor"), "您好，包裹已经在路上了"),
	); err != nil {
		t.Fatal(err)
	}
	waitJS(t, ctx, `[...document.querySelectorAll('img')].every(i => i.complete && i.naturalWidth > 0)`)
	for _, shot := range []struct{ file, js string }{
		{*screenshot, ""},
		{strings.TrimSuffix(*screenshot, ".png") + "-narrow.png", `document.body.style.marginRight = '360px'`},
	} {
		if shot.js != "" {
			if err := chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](shot.js)); err != nil {
				t.Fatal(err)
			}
		}
		png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(shot.file, png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// jsString quotes s as a JavaScript string literal.
func jsString(s string) string { return strconv.Quote(s) }
