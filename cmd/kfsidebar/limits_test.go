package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/kfsidebar/kfsidebar/certs"
	"github.com/kfsidebar/kfsidebar/internal/kftest"
	"github.com/kfsidebar/kfsidebar/proxy/admin"
	"github.com/kfsidebar/kfsidebar/proxy/console"
	"github.com/kfsidebar/kfsidebar/proxy/mpkftest"
)

// The limits tests run kfsidebar where it runs out of something: file
// descriptors (a child process under a small RLIMIT_NOFILE, flooded with
// idle tunnels to other sites) and disk space (a small tmpfs as the data
// directory). In both the console must keep working, the trouble must show
// on the status page and in the log, and it must clear by itself.

// childArgsEnv carries the command line of a kfsidebar child process (see
// TestChildProcess), as JSON.
const childArgsEnv = "KFSIDEBAR_TEST_CHILD_ARGS"

// TestChildProcess is not a test: it is kfsidebar's main, in a child
// process of the test binary, for the tests that need a process of its
// own. It runs only with childArgsEnv set.
func TestChildProcess(t *testing.T) {
	env := os.Getenv(childArgsEnv)
	if env == "" {
		t.Skip("kfsidebar in a child process of another test; nothing to do on its own")
	}
	var args []string
	if err := json.Unmarshal([]byte(env), &args); err != nil {
		fmt.Fprintln(os.Stderr, "kfsidebar child:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := Run(ctx, args, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "kfsidebar:", err)
		os.Exit(1)
	}
	os.Exit(0)
}

// child is kfsidebar running in a child process.
type child struct {
	addr string
	pid  int
	log  *syncBuffer // its standard error: the log
}

// startLimited runs args (a kfsidebar command and its flags) in a child
// process whose descriptor limit is nofile, soft and hard (Go raises the
// soft limit to the hard one at start), and returns once it serves. It
// stops when the test ends.
func startLimited(t *testing.T, nofile int, args ...string) *child {
	t.Helper()
	prlimit, err := exec.LookPath("prlimit")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("prlimit (util-linux) is needed to start kfsidebar under a small descriptor limit")
		}
		t.Skip("prlimit (util-linux) is not installed: cannot start kfsidebar under a small descriptor limit")
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	ready := filepath.Join(t.TempDir(), "ready")
	argv, _ := json.Marshal(append(args, "--ready-file", ready))
	cmd := exec.Command(prlimit, fmt.Sprintf("--nofile=%d:%d", nofile, nofile), "--", self, "-test.run=^TestChildProcess$")
	cmd.Env = append(os.Environ(), childArgsEnv+"="+string(argv))
	c := &child{log: &syncBuffer{}}
	cmd.Stdout, cmd.Stderr = io.Discard, c.log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c.pid = cmd.Process.Pid // prlimit execs the test binary: the same process
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-exited:
			if err != nil {
				t.Errorf("kfsidebar child: %v\n%s", err, c.log)
			}
		case <-time.After(15 * time.Second):
			cmd.Process.Kill()
			t.Errorf("kfsidebar child did not stop within 15 s of SIGTERM")
		}
	})
	deadline := time.Now().Add(startTimeout)
	for {
		if b, err := os.ReadFile(ready); err == nil && strings.HasSuffix(string(b), "\n") {
			c.addr = strings.TrimSpace(string(b))
			return c
		}
		select {
		case err := <-exited:
			t.Fatalf("kfsidebar child exited before serving: %v\n%s", err, c.log)
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("kfsidebar child did not serve within %v\n%s", startTimeout, c.log)
		}
	}
}

// descriptors counts the open descriptors of process pid.
func descriptors(t *testing.T, pid int) int {
	t.Helper()
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		t.Fatal(err)
	}
	return len(fds)
}

// consoleClient is a browser stand-in for the console through kfsidebar
// at addr, trusting its CA in dataDir. Every request opens a new
// connection (a CONNECT, a TLS handshake): what a new tab costs the proxy.
func consoleClient(t *testing.T, addr, dataDir string) *http.Client {
	t.Helper()
	ca, err := certs.LoadExisting(dataDir)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		Proxy:             http.ProxyURL(&url.URL{Scheme: "http", Host: addr}),
		TLSClientConfig:   &tls.Config{RootCAs: ca.Pool()},
		DisableKeepAlives: true,
	}}
}

// consoleVisit loads the console page and accepts fan's chat, as an agent
// does, and returns how long each took.
func consoleVisit(c *http.Client, sim *mpkftest.Server, f mpkftest.Fan) (page, accept time.Duration, err error) {
	fetch := func(u string) (time.Duration, string, error) {
		t0 := time.Now()
		resp, err := c.Get(u)
		if err != nil {
			return 0, "", err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err == nil && resp.StatusCode != http.StatusOK {
			err = errors.New(resp.Status)
		}
		return time.Since(t0), string(b), err
	}
	page, body, err := fetch(sim.URL())
	if err == nil && !strings.Contains(body, console.ReservedPrefix+"sidebar.js") {
		err = errors.New("the console page has no sidebar script")
	}
	if err != nil {
		return 0, 0, fmt.Errorf("console page: %w", err)
	}
	sim.AddWaiting(f)
	accept, body, err = fetch(fmt.Sprintf("https://%s/cgi-bin/kfsessionmgr?action=kfcreatesession&token=1234567890&f=json&fansuinlist=%d", mpkftest.Host, f.UIN))
	if err == nil && !strings.Contains(body, f.OpenID) {
		err = fmt.Errorf("the accept response does not name %s: %.200s", f.OpenID, body)
	}
	if err != nil {
		return 0, 0, fmt.Errorf("accept: %w", err)
	}
	return page, accept, nil
}

// status reads the running kfsidebar's /status.json.
func status(t *testing.T, addr string) admin.Status {
	t.Helper()
	var st admin.Status
	if err := json.Unmarshal([]byte(getLocal(t, addr, "/status.json")), &st); err != nil {
		t.Fatal(err)
	}
	return st
}

// silentSite is a site that accepts connections and never says a word;
// it closes a connection when the other end does, as a real server would.
func silentSite(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	conns := map[net.Conn]struct{}{}
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns[c] = struct{}{}
			mu.Unlock()
			wg.Go(func() {
				io.Copy(io.Discard, c)
				c.Close()
				mu.Lock()
				delete(conns, c)
				mu.Unlock()
			})
		}
	})
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return ln.Addr().String()
}

// openTunnel sends CONNECT host through the proxy at addr and returns the
// connection with the answer's status and body.
func openTunnel(addr, host string) (net.Conn, int, string, error) {
	c, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		return nil, 0, "", err
	}
	c.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(c, "CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n", host, host)
	resp, err := http.ReadResponse(bufio.NewReader(c), &http.Request{Method: http.MethodConnect})
	if err != nil {
		c.Close()
		return nil, 0, "", err
	}
	var body []byte
	if resp.StatusCode != http.StatusOK { // a tunnel's "body" is the tunnel
		body, _ = io.ReadAll(io.LimitReader(resp.Body, 1<<10))
	}
	c.SetDeadline(time.Time{})
	return c, resp.StatusCode, string(body), nil
}

// TestRunUnderDescriptorLimit floods kfsidebar, limited to 1,024
// descriptors, with 1,200 idle tunnels to a silent site. The proxy keeps a
// quarter of its descriptors for the console: the page and an accept
// answer well under a second throughout, the descriptors never pass 90%
// of the limit, the refused tunnels get 503 and the log says so at the
// default level; once the tunnels close, the descriptors are back at the
// baseline.
func TestRunUnderDescriptorLimit(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("counts the child's descriptors in /proc: Linux only")
	}
	const (
		limit   = 1024
		tunnels = 1200
		workers = 32 // CONNECTs under way at once
		site    = "blind.example:443"
	)
	sim, consoleFlags := simulatedConsole(t)
	data := filepath.Join(t.TempDir(), "data")
	args := append([]string{"run", "--listen", "127.0.0.1:0", "--data-dir", data, "--dial", site + "=" + silentSite(t)}, consoleFlags...)
	k := startLimited(t, limit, args...)
	c := consoleClient(t, k.addr, data)
	fans := mpkftest.LookAlikes(2000) // a new one for every accept
	var nextFan atomic.Int32
	visit := func() (time.Duration, time.Duration, error) {
		return consoleVisit(c, sim, fans[int(nextFan.Add(1)-1)%len(fans)])
	}
	if _, _, err := visit(); err != nil { // warm up: the leaf, the upstream connection
		t.Fatalf("console before the flood: %v\n%s", err, k.log)
	}
	base := descriptors(t, k.pid)

	// The peak, sampled every few milliseconds while anything runs.
	var peak atomic.Int64
	sampling := make(chan struct{})
	var sampler sync.WaitGroup
	sampler.Go(func() {
		for {
			n := int64(descriptors(t, k.pid))
			if n > peak.Load() {
				peak.Store(n)
			}
			select {
			case <-sampling:
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	})

	// The console, visited over and over while the flood runs and after.
	var visits, slowest atomic.Int64
	var visitErr atomic.Value
	flooding := make(chan struct{})
	var agent sync.WaitGroup
	agent.Go(func() {
		for {
			page, accept, err := visit()
			if err != nil {
				visitErr.CompareAndSwap(nil, err)
			}
			visits.Add(1)
			if d := int64(max(page, accept)); d > slowest.Load() {
				slowest.Store(d)
			}
			select {
			case <-flooding:
				return
			case <-time.After(50 * time.Millisecond):
			}
		}
	})

	// The flood.
	var (
		mu      sync.Mutex
		held    []net.Conn
		refused int
		other   []string
	)
	jobs := make(chan int)
	var flood sync.WaitGroup
	for range workers {
		flood.Go(func() {
			for range jobs {
				conn, code, body, err := openTunnel(k.addr, site)
				mu.Lock()
				switch {
				case err != nil:
					other = append(other, err.Error())
				case code == http.StatusOK:
					held = append(held, conn)
				case code == http.StatusServiceUnavailable && strings.Contains(body, "too many connections"):
					refused++
					conn.Close()
				default:
					other = append(other, fmt.Sprintf("%d %q", code, body))
					conn.Close()
				}
				mu.Unlock()
			}
		})
	}
	floodStart := time.Now()
	for i := range tunnels {
		jobs <- i
	}
	close(jobs)
	flood.Wait()
	floodTime := time.Since(floodStart)
	t.Cleanup(func() {
		for _, conn := range held {
			conn.Close()
		}
	})
	// A few more visits with every tunnel held, then the agent stops.
	for v := visits.Load(); visits.Load() < v+10; {
		time.Sleep(10 * time.Millisecond)
	}
	close(flooding)
	agent.Wait()
	st := status(t, k.addr)

	if len(other) > 0 {
		t.Errorf("%d CONNECTs got neither a tunnel nor a 503; the first: %s", len(other), other[0])
	}
	if st.Tunnels == nil || st.Descriptors == nil {
		t.Fatalf("status.json has no tunnels or descriptors: %+v", st)
	}
	if len(held) != st.Tunnels.Max || refused != tunnels-st.Tunnels.Max || st.Tunnels.Open != st.Tunnels.Max || st.Tunnels.Refused != int64(refused) {
		t.Errorf("%d tunnels held and %d refused of %d; status.json says %+v; want the cap held and the rest refused", len(held), refused, tunnels, *st.Tunnels)
	}
	if st.Tunnels.OK || st.Tunnels.LastRefused.IsZero() {
		t.Errorf("status.json tunnels = %+v, want not ok: tunnels were refused just now", *st.Tunnels)
	}
	if st.Descriptors.Limit != limit || !st.Descriptors.OK || st.Descriptors.Open > limit*3/4 {
		t.Errorf("status.json descriptors = %+v, want limit %d, ok (none ran out), a quarter free", *st.Descriptors, limit)
	}
	if err, _ := visitErr.Load().(error); err != nil {
		t.Errorf("the console failed during the flood: %v", err)
	}
	if d := time.Duration(slowest.Load()); d >= time.Second {
		t.Errorf("the slowest console request during the flood took %v; want well under a second", d)
	}
	if p := int(peak.Load()); p > limit*9/10 {
		t.Errorf("%d descriptors open at the peak, more than 90%% of %d", p, limit)
	}
	log := k.log.String()
	for _, want := range []string{"level=WARN", "blind tunnel refused: too many open", "kind=tunnel", "count=1", fmt.Sprintf("max=%d", st.Tunnels.Max)} {
		if !strings.Contains(log, want) {
			t.Errorf("the log at the default level lacks %q:\n%s", want, log)
		}
	}
	for _, line := range strings.Split(log, "\n") {
		if strings.Contains(line, "level=WARN") {
			t.Log("kfsidebar: " + line)
		}
	}
	if strings.Contains(log, "too many open files") {
		t.Errorf("kfsidebar ran out of descriptors:\n%s", log)
	}
	if strings.Contains(log, site) {
		t.Errorf("the log names the tunnelled host at the default level:\n%s", log)
	}

	// The tunnels close; the descriptors follow within 30 s.
	for _, conn := range held {
		conn.Close()
	}
	closed := time.Now()
	var after int
	for {
		after = descriptors(t, k.pid)
		if after <= base+16 {
			break
		}
		if time.Since(closed) > 30*time.Second {
			t.Errorf("%d descriptors open 30 s after the tunnels closed; %d before the flood", after, base)
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	close(sampling)
	sampler.Wait()
	if _, _, err := visit(); err != nil {
		t.Errorf("console after the flood: %v", err)
	}
	t.Logf("%d of %d tunnels held (cap %d), %d refused with 503 in %v; descriptors: %d before, peak %d of %d (%.0f%%), %d %v after the tunnels closed; console: %d visits (page + accept on new connections), slowest request %v",
		len(held), tunnels, st.Tunnels.Max, refused, floodTime.Round(time.Millisecond), base, peak.Load(), limit, 100*float64(peak.Load())/limit,
		after, time.Since(closed).Round(time.Millisecond), visits.Load(), time.Duration(slowest.Load()).Round(time.Millisecond))
}

// TestFullDiskShowsAndClears runs kfsidebar with its data directory on a
// small tmpfs and fills it while the console accepts chats: the chats are
// still learned, the status page and /status.json say they are not saved
// (in red: 对话没有保存：磁盘已满), doctor says so, and once there is room
// again it clears by itself and the chats are written.
func TestFullDiskShowsAndClears(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	if err := os.Mkdir(data, 0o700); err != nil {
		t.Fatal(err)
	}
	mountTmpfs(t, data, "4m")
	k := startRun(t, data)
	c := consoleClient(t, k.addr, data)
	fans := mpkftest.LookAlikes(40)
	if _, _, err := consoleVisit(c, k.sim, fans[0]); err != nil {
		t.Fatal(err)
	}
	if st := status(t, k.addr); st.Storage == nil || !st.Storage.OK {
		t.Fatalf("storage before the disk fills: %+v", st.Storage)
	}

	filler := filepath.Join(data, "filler")
	fill(t, filler)
	learned := 1
	kftest.Poll(t, "status.json to say the chats are not saved", func() bool {
		if learned < len(fans) {
			if _, _, err := consoleVisit(c, k.sim, fans[learned]); err != nil {
				t.Fatalf("the console with the disk full: %v", err)
			}
			learned++
		}
		st := status(t, k.addr)
		return st.Storage != nil && !st.Storage.OK
	})
	st := status(t, k.addr)
	if !strings.Contains(st.Storage.Error, "full") || st.Storage.Since.IsZero() {
		t.Errorf("status.json storage = %+v, want the disk-full error and since when", *st.Storage)
	}
	if st.Chats == nil || *st.Chats < learned {
		t.Errorf("status.json chats = %v, want at least the %d accepted (known from memory)", st.Chats, learned)
	}
	page := getLocal(t, k.addr, "/")
	for _, want := range []string{`class="alert bad">✘ 对话没有保存：磁盘已满<`, `id="storage-state" class="bad"`} {
		if !strings.Contains(page, want) {
			t.Errorf("status page lacks %q", want)
		}
	}
	out, _, _ := runCLI(t, append([]string{"doctor", "--data-dir", data, "--listen", k.addr}, k.console...)...)
	if !strings.Contains(out, "✘ chats saved: no: ") || !strings.Contains(out, "full") {
		t.Errorf("doctor does not say the chats are not saved:\n%s", out)
	}

	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	freed := time.Now()
	for st := status(t, k.addr); st.Storage == nil || !st.Storage.OK; st = status(t, k.addr) {
		// The store's writer retries with a backoff of at most 30 s.
		if time.Since(freed) > 45*time.Second {
			t.Fatalf("storage %+v 45 s after the disk has room again", st.Storage)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("%d chats learned while the disk was full; saved again %v after it had room", learned, time.Since(freed).Round(time.Millisecond))
	if page := getLocal(t, k.addr, "/"); strings.Contains(page, "没有保存") || !strings.Contains(page, "✔ 正常 saved") {
		t.Error("the status page still says the chats are not saved")
	}
}

// mountTmpfs mounts a tmpfs of size on dir until the test ends. It needs
// root: elsewhere the test is skipped, and so it is where mounting is
// impossible for another reason (a container without CAP_SYS_ADMIN),
// except under CI, which must be able to run it.
func mountTmpfs(t *testing.T, dir, size string) {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("a tmpfs data directory needs Linux")
	}
	if os.Geteuid() != 0 {
		t.Skip("mounting a small tmpfs as a full data directory needs root; run as root (sudo go test) to run this test")
	}
	out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size+",mode=0700", "tmpfs", dir).CombinedOutput()
	if err != nil {
		msg := fmt.Sprintf("mount a %s tmpfs on %s as root: %v: %s", size, dir, err, out)
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
		}
	})
}

// fill writes path until the file system is full.
func fill(t *testing.T, path string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 64<<10)
	for {
		if _, err := f.Write(buf); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("fill %s: %v", path, err)
			}
			break
		}
	}
	// The last blocks a smaller write can still take.
	for _, n := range []int{4096, 512, 1} {
		for {
			if _, err := f.Write(buf[:n]); err != nil {
				break
			}
		}
	}
}
