package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/kfsidebar/kfsidebar/certs"
	"github.com/kfsidebar/kfsidebar/internal/browsertest"
	"github.com/kfsidebar/kfsidebar/proxy/mpkftest"
)

// buildKfsidebar builds the kfsidebar command of this module into dir: it
// is package main, so the harness runs it as the agent's PC does, as a
// separate process.
func buildKfsidebar(ctx context.Context, dir string) (string, error) {
	bin := filepath.Join(dir, "kfsidebar")
	out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/kfsidebar/kfsidebar/cmd/kfsidebar").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build ./cmd/kfsidebar: %w\n%s", err, out)
	}
	return bin, nil
}

// stack is one world: the simulated console, `kfsidebar run` in front of
// it with the shop imported, and Chromium with one tab on the console.
type stack struct {
	sim     *mpkftest.Server
	dir     string
	proc    *exec.Cmd
	done    chan error // proc's exit
	addr    string     // kfsidebar's listener
	logPath string     // kfsidebar's standard error
	tab     context.Context
	cancel  func() // stops the browser
}

// startStack starts a world with fans (the first atLoad open when the page
// loads, the next waiting ones waiting) and the shop.
func startStack(ctx context.Context, bin string, fans []mpkftest.Fan, atLoad, waiting int, noReactID bool, shop []byte) (_ *stack, err error) {
	dir, err := os.MkdirTemp("", "identitybench-*")
	if err != nil {
		return nil, err
	}
	s := &stack{dir: dir, logPath: filepath.Join(dir, "kfsidebar.log")}
	defer func() {
		if err != nil {
			s.stop()
		}
	}()
	s.sim, err = mpkftest.NewServer(mpkftest.Options{Fans: fans, OpenAtLoad: atLoad, Waiting: waiting, NoReactID: noReactID,
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return nil, err
	}
	simCA, shopFile, data := filepath.Join(dir, "sim-ca.pem"), filepath.Join(dir, "shop.json"), filepath.Join(dir, "data")
	if err := os.WriteFile(simCA, s.sim.CA().CertPEM, 0o600); err != nil {
		return nil, err
	}
	if err := os.WriteFile(shopFile, shop, 0o600); err != nil {
		return nil, err
	}
	if out, err := exec.CommandContext(ctx, bin, "orders", "import", "--data-dir", data, shopFile).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("kfsidebar orders import: %w\n%s", err, out)
	}
	ready := filepath.Join(dir, "ready")
	args := []string{"run", "--listen", "127.0.0.1:0", "--data-dir", data, "--upstream-ca", simCA, "--ready-file", ready}
	for _, h := range mpkftest.Hosts {
		args = append(args, "--dial", h+":443="+s.sim.Addr())
	}
	logFile, err := os.Create(s.logPath)
	if err != nil {
		return nil, err
	}
	s.proc = exec.Command(bin, args...)
	s.proc.Stdout, s.proc.Stderr = io.Discard, logFile
	if err := s.proc.Start(); err != nil {
		return nil, fmt.Errorf("kfsidebar run: %w", err)
	}
	s.done = make(chan error, 1)
	go func() {
		s.done <- s.proc.Wait()
		logFile.Close()
	}()
	// kfsidebar writes its address to the ready file once it serves.
	deadline := time.Now().Add(30 * time.Second)
	for s.addr == "" {
		if b, err := os.ReadFile(ready); err == nil && strings.HasSuffix(string(b), "\n") {
			s.addr = strings.TrimSpace(string(b))
			break
		}
		select {
		case err := <-s.done:
			s.done <- err
			return nil, fmt.Errorf("kfsidebar run exited: %v\n%s", err, tail(s.logPath))
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("kfsidebar run did not start\n%s", tail(s.logPath))
		}
	}
	ca, err := certs.LoadExisting(data)
	if err != nil {
		return nil, err
	}
	if err := s.startBrowser(ctx, []string{ca.SPKIHash(), s.sim.CA().SPKIHash()}); err != nil {
		return nil, err
	}
	return s, nil
}

// startBrowser starts a headless Chromium of its own (a fresh profile, so
// nothing carries over from another world) through the proxy, trusting
// the two test CAs by their keys, as internal/browsertest does for tests;
// its tabs there live 90 s, which a day of chats outlasts.
func (s *stack) startBrowser(ctx context.Context, spki []string) error {
	path := browsertest.Path()
	if path == "" {
		return errors.New("chromium not found (install Debian's chromium package or set KFSIDEBAR_CHROMIUM)")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.UserDataDir(filepath.Join(s.dir, "chromium")),
		chromedp.WindowSize(1400, 900),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.ProxyServer(s.addr),
		chromedp.Flag("proxy-bypass-list", "<-loopback>"), // Chromium bypasses proxies for loopback by default
		chromedp.Flag("ignore-certificate-errors-spki-list", strings.Join(spki, ",")),
		chromedp.Env("TZ=Asia/Shanghai"),
	)
	alloc, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	tab, cancelTab := chromedp.NewContext(alloc)
	s.cancel = func() { cancelTab(); cancelAlloc() }
	if err := chromedp.Do(tab); err != nil {
		return fmt.Errorf("start chromium: %w", err)
	}
	s.tab = tab
	if err := installRecorder(tab); err != nil {
		return fmt.Errorf("install the recorder: %w", err)
	}
	return nil
}

// openConsole loads the console page and waits for the sidebar.
func (s *stack) openConsole() error {
	ctx, cancel := context.WithTimeout(s.tab, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.Navigate(s.sim.URL())); err != nil {
		return fmt.Errorf("open the console: %w", err)
	}
	return waitSidebarReady(s.tab)
}

// reload reloads the console page and waits for the sidebar.
func (s *stack) reload() error {
	ctx, cancel := context.WithTimeout(s.tab, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.Reload()); err != nil {
		return fmt.Errorf("reload: %w", err)
	}
	return waitSidebarReady(s.tab)
}

// stop ends the browser, kfsidebar (interrupted, as Ctrl+C does) and the
// console, and removes the world's files.
func (s *stack) stop() {
	if s.cancel != nil {
		s.cancel()
	}
	if s.proc != nil && s.proc.Process != nil {
		s.proc.Process.Signal(os.Interrupt)
		select {
		case <-s.done:
		case <-time.After(10 * time.Second):
			s.proc.Process.Kill()
			<-s.done
		}
	}
	if s.sim != nil {
		s.sim.Close()
	}
	os.RemoveAll(s.dir)
}

// tail is the end of a log file, for errors.
func tail(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

// shopJSON is the import file of `kfsidebar orders import`: one customer
// with one order per fan.
func shopJSON(customers []customer) ([]byte, error) {
	type item struct {
		Title    string `json:"title"`
		SKU      string `json:"sku"`
		Qty      int    `json:"qty"`
		PriceFen int64  `json:"price_fen"`
	}
	type refund struct {
		Status    string `json:"status"`
		AmountFen int64  `json:"amount_fen"`
	}
	type order struct {
		OrderNo   string `json:"order_no"`
		OpenID    string `json:"openid"`
		CreatedAt string `json:"created_at"`
		Status    string `json:"status"`
		AmountFen int64  `json:"amount_fen"`
		Items     []item `json:"items"`
		Address   string `json:"address"`
		Refund    refund `json:"refund"`
	}
	type cust struct {
		OpenID string `json:"openid"`
		Name   string `json:"name"`
		Phone  string `json:"phone"`
		Level  string `json:"level"`
	}
	var file struct {
		Customers []cust  `json:"customers"`
		Orders    []order `json:"orders"`
	}
	for i, c := range customers {
		file.Customers = append(file.Customers, cust{OpenID: c.OpenID, Name: c.Name, Phone: c.Phone, Level: "普通会员"})
		file.Orders = append(file.Orders, order{
			OrderNo:   fmt.Sprintf("IB2026%014d", i+1),
			OpenID:    c.OpenID,
			CreatedAt: time.Date(2026, 11, 1+i%28, 9+i%10, i%60, 0, 0, time.FixedZone("CST", 8*3600)).Format(time.RFC3339),
			Status:    "已发货",
			AmountFen: c.PriceFen,
			Items:     []item{{Title: c.Item, SKU: fmt.Sprintf("IB-%04d", i%50), Qty: 1, PriceFen: c.PriceFen}},
			Address:   c.Address,
			Refund:    refund{Status: "none"},
		})
	}
	return json.MarshalIndent(file, "", " ")
}
