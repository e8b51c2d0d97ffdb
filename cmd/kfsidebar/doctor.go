package main

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/kfsidebar/kfsidebar/certs"
	"github.com/kfsidebar/kfsidebar/internal/sysproxy"
	"github.com/kfsidebar/kfsidebar/proxy/admin"
)

// checkLevel is how bad a doctor finding is. Only failures make doctor
// exit non-zero; warnings are things a working setup may do without (the
// system proxy when the agent uses `kfsidebar open`, say).
type checkLevel int

const (
	checkOK checkLevel = iota
	checkWarn
	checkFail
)

// finding is one line of doctor's report.
type finding struct {
	level  checkLevel
	what   string
	detail string
	fix    string // what to do, when level is not checkOK
}

// doctor runs the checks of one configuration.
type doctor struct {
	cfg      Config
	findings []finding
	ca       *certs.CA
	status   *admin.Status // from the running proxy, nil if it does not answer
	timeout  time.Duration
}

func (d *doctor) add(level checkLevel, what, detail, fix string) {
	d.findings = append(d.findings, finding{level, what, detail, fix})
}

func runDoctor(ctx context.Context, args []string, out, errOut io.Writer) error {
	cfg := DefaultConfig()
	flags := newFlagSet("doctor", "doctor [flags]",
		"Check every step of the setup, as `kfsidebar run` would use it: the data\n"+
			"directory, the CA and where it is trusted, the running proxy and its PAC file,\n"+
			"the system proxy setting, the console's reachability and the order backend.\n"+
			"Each problem comes with its fix; the exit status is 1 when something is wrong.", errOut)
	cfg.bindFlags(flags)
	if err := cfg.parse(flags, args); err != nil {
		return err
	}
	d := &doctor{cfg: cfg, timeout: 8 * time.Second}
	d.run(ctx)
	fmt.Fprintf(out, "kfsidebar doctor (%s, %s)\n\n", versionString(), cfg.DataDir)
	failed := 0
	for _, f := range d.findings {
		mark := [...]string{"✔", "⚠", "✘"}[f.level]
		fmt.Fprintf(out, "%s %s: %s\n", mark, f.what, f.detail)
		if f.level != checkOK && f.fix != "" {
			for _, line := range strings.Split(f.fix, "\n") {
				fmt.Fprintf(out, "    fix: %s\n", line)
			}
		}
		if f.level == checkFail {
			failed++
		}
	}
	if failed > 0 {
		fmt.Fprintln(out)
		return fmt.Errorf("doctor: %d problem(s) found; the fixes are above", failed)
	}
	fmt.Fprintln(out, "\nAll good.")
	return nil
}

// cmd is a setup command with the flags that reach the kfsidebar doctor
// checks (setupCommand): --listen and --data-dir when not the defaults.
func (d *doctor) cmd(sub string) string {
	listen := d.cfg.Listen
	if sub == "ca install" {
		listen = ""
	}
	return setupCommand(sub, listen, d.cfg.DataDir)
}

func (d *doctor) run(ctx context.Context) {
	d.checkDataDir()
	d.checkCA()
	d.checkTrust(ctx)
	d.checkProxy(ctx)
	d.checkSystemProxy(ctx)
	d.checkConsole(ctx)
	d.checkBackend()
	d.checkStorage()
	d.checkLimits()
	d.checkGateway()
}

func (d *doctor) checkDataDir() {
	dir := d.cfg.DataDir
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		d.add(checkFail, "data directory", dir+" does not exist", "run `"+d.cmd("ca install")+"` (or `kfsidebar run`) once to make it")
		return
	case err != nil:
		d.add(checkFail, "data directory", err.Error(), "check that "+dir+" is readable by you")
		return
	case !fi.IsDir():
		d.add(checkFail, "data directory", dir+" is not a directory", "give --data-dir a directory")
		return
	}
	if runtime.GOOS != "windows" && fi.Mode().Perm()&0o077 != 0 {
		d.add(checkFail, "data directory", fmt.Sprintf("%s is mode %04o: other users can read it", dir, fi.Mode().Perm()), "chmod 700 "+shellQuote(dir))
		return
	}
	d.add(checkOK, "data directory", dir, "")
}

func (d *doctor) checkCA() {
	dir := d.cfg.DataDir
	keyPath := filepath.Join(dir, certs.KeyFile)
	ca, err := certs.LoadExisting(dir)
	if errors.Is(err, fs.ErrNotExist) {
		d.add(checkFail, "root CA", "there is none in "+dir, "run `"+d.cmd("ca install")+"` to make it and trust it")
		return
	}
	if err != nil {
		d.add(checkFail, "root CA", err.Error(), "move ca.pem and ca-key.pem away and run `"+d.cmd("ca install")+"` for a new CA")
		return
	}
	d.ca = ca
	if runtime.GOOS != "windows" {
		if fi, err := os.Stat(keyPath); err == nil && fi.Mode().Perm()&0o077 != 0 {
			d.add(checkFail, "CA key", fmt.Sprintf("%s is mode %04o: other users can read the key", keyPath, fi.Mode().Perm()), "chmod 600 "+shellQuote(keyPath))
		} else if err == nil {
			d.add(checkOK, "CA key", keyPath+" (mode 0600)", "")
		}
	}
	// LoadOrCreate validates what run will: hosts and expiry. The files
	// exist, so it creates nothing.
	if _, _, err := certs.LoadOrCreate(dir, certs.Options{Hosts: d.cfg.ConsoleHosts}); err != nil {
		d.add(checkFail, "root CA", err.Error(), "")
		return
	}
	d.add(checkOK, "root CA", fmt.Sprintf("%q, limited to %s, valid until %s", ca.Cert.Subject.CommonName,
		strings.Join(ca.Hosts(), ", "), ca.Cert.NotAfter.Format("2006-01-02")), "")
}

func (d *doctor) checkTrust(ctx context.Context) {
	if d.ca == nil {
		return
	}
	stores, err := certs.FindTrustStores(certs.TrustOptions{})
	if err != nil {
		d.add(checkWarn, "trust stores", err.Error(), "")
		return
	}
	certPath := filepath.Join(d.cfg.DataDir, certs.CertFile)
	browserTrusted := false
	for _, r := range certs.CheckTrust(ctx, d.ca, certPath, stores) {
		what := "trusted by " + r.Name
		switch {
		case r.Err != nil:
			d.add(checkWarn, what, r.Err.Error(), r.Manual)
		case r.Trusted:
			d.add(checkOK, what, "yes", "")
			if readByBrowsers(r.Kind) {
				browserTrusted = true
			}
		default:
			d.add(checkWarn, what, "no", d.cmd("ca install"))
		}
	}
	if !browserTrusted {
		d.add(checkFail, "CA trusted by a browser", "no browser's trust store trusts the CA: the console would show a certificate error",
			d.cmd("ca install")+" (then restart the browser), or use `"+d.cmd("open")+"`, whose own profile trusts it")
	}
}

// readByBrowsers reports whether browsers read this kind of store here.
func readByBrowsers(k certs.StoreKind) bool {
	if k == certs.StoreSystem {
		return runtime.GOOS == "windows" || runtime.GOOS == "darwin"
	}
	return true
}

// get asks the running proxy for path on its own address.
func (d *doctor) get(ctx context.Context, path string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+localAddr(d.cfg.Listen)+path, nil)
	if err != nil {
		return nil, err
	}
	resp, err := (&http.Client{Transport: &http.Transport{Proxy: nil}}).Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s: %s", path, resp.Status)
	}
	return body, nil
}

func (d *doctor) checkProxy(ctx context.Context) {
	addr := localAddr(d.cfg.Listen)
	body, err := d.get(ctx, "/status.json")
	if err != nil {
		d.add(checkFail, "proxy", "nothing answers on "+addr+" ("+err.Error()+")", "start it: kfsidebar run (keep its window open)")
		return
	}
	var st admin.Status
	if err := json.Unmarshal(body, &st); err != nil || st.Fingerprint == "" {
		d.add(checkFail, "proxy", "something else answers on "+addr, "stop that program, or run kfsidebar with another --listen and use the same --listen here")
		return
	}
	d.status = &st
	if d.ca != nil {
		sum := sha256.Sum256(d.ca.Cert.Raw)
		if !strings.EqualFold(st.Fingerprint, hex.EncodeToString(sum[:])) {
			d.add(checkFail, "proxy", "the kfsidebar on "+addr+" uses another CA (another data directory?)",
				"stop it and start `kfsidebar run` with --data-dir "+d.cfg.DataDir+", or give doctor the --data-dir it runs with")
			return
		}
	}
	d.add(checkOK, "proxy", "kfsidebar "+st.Version+" is running on "+addr, "")
	pac, err := d.get(ctx, "/proxy.pac")
	if err != nil {
		d.add(checkFail, "PAC file", err.Error(), "restart kfsidebar run")
		return
	}
	for _, h := range hostsOf(d.cfg) {
		if !strings.Contains(string(pac), `"`+h+`"`) {
			d.add(checkFail, "PAC file", "it does not send "+h+" to kfsidebar", "restart kfsidebar run with the same --console-host")
			return
		}
	}
	d.add(checkOK, "PAC file", pacURL(d.cfg.Listen), "")
}

func (d *doctor) checkSystemProxy(ctx context.Context) {
	want := pacURL(d.cfg.Listen)
	fix := d.cmd("proxy on") + ", or set the automatic proxy configuration URL to " + want + " by hand; or use `" + d.cmd("open") + "`"
	sp, err := sysproxy.New()
	if err != nil {
		d.add(checkWarn, "system proxy", err.Error(), "set the automatic proxy configuration URL to "+want+" by hand; or use `"+d.cmd("open")+"`")
		return
	}
	cur, err := sp.Get(ctx)
	if err != nil {
		d.add(checkWarn, "system proxy", err.Error(), fix)
		return
	}
	if !sysproxy.SamePAC(cur.PACURL, want) {
		d.add(checkWarn, "system proxy", sp.Name()+": "+cur.Describe()+", not kfsidebar's PAC", fix)
		return
	}
	d.add(checkOK, "system proxy", sp.Name()+" use "+want, "")
}

// checkConsole connects to the console host the way the proxy does
// (through --dial overrides and the upstream proxy, verifying its
// certificate with the system roots and --upstream-ca).
func (d *doctor) checkConsole(ctx context.Context) {
	host := hostsOf(d.cfg)[0]
	what := "console " + host
	roots, err := upstreamRoots(d.cfg.UpstreamCA, nil)
	if err != nil {
		d.add(checkFail, what, err.Error(), "fix --upstream-ca")
		return
	}
	up, err := chooseUpstream(d.cfg, d.cfg.Listen, slog.New(slog.DiscardHandler))
	if err != nil {
		d.add(checkFail, what, err.Error(), "")
		return
	}
	overrides := d.cfg.dialOverrides()
	dialer := &net.Dialer{Timeout: d.timeout}
	tr := &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			if to, ok := overrides[addr]; ok {
				addr = to
			}
			return dialer.DialContext(ctx, network, addr)
		},
		TLSClientConfig:   &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12},
		DisableKeepAlives: true,
	}
	via := ""
	if up.url != nil {
		tr.Proxy = http.ProxyURL(up.url)
		via = " through " + up.url.Host
	}
	ctx, cancel := context.WithTimeout(ctx, d.timeout)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodHead, "https://"+host+"/", nil)
	resp, err := (&http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
	if err == nil {
		resp.Body.Close()
		d.add(checkOK, what, "reachable"+via+", certificate verified", "")
		return
	}
	var dnsErr *net.DNSError
	var unknownAuthority x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	switch {
	case errors.As(err, &dnsErr):
		d.add(checkFail, what, "offline: cannot look up "+host+" ("+dnsErr.Err+")",
			"check this computer's network connection; the console and the sidebar need it")
	case errors.As(err, &unknownAuthority), errors.As(err, &hostErr):
		d.add(checkFail, what, "its certificate is not trusted ("+err.Error()+")",
			"a company firewall may be intercepting HTTPS: ask IT for its root certificate and give it with --upstream-ca")
	default:
		d.add(checkFail, what, "cannot connect"+via+": "+err.Error(),
			"check the network connection, and the office proxy (--upstream-proxy) if there is one")
	}
}

func (d *doctor) checkBackend() {
	switch {
	case d.status == nil:
		d.add(checkWarn, "order backend", "unknown while kfsidebar is not running", "start kfsidebar run, then run doctor again")
	case d.status.Backend == nil:
		d.add(checkOK, "order backend", "embedded database", "")
	default:
		b := d.status.Backend
		detail := b.State
		if b.LastError != "" {
			detail += "; last error at " + b.LastErrorAt.Local().Format("15:04:05") + ": " + b.LastError
		}
		switch b.State {
		case "ok", "":
			d.add(checkOK, "order backend", detail, "")
		case "degraded":
			d.add(checkWarn, "order backend", detail, "check the order backend's address and that it is up")
		default:
			if !b.RetryAt.IsZero() {
				detail += "; paused until " + b.RetryAt.Local().Format("15:04:05")
			}
			d.add(checkFail, "order backend", detail, "check the order backend's address and that it is up")
		}
	}
}

// checkStorage reports whether the running proxy saves the chats it
// learns: when it cannot, they are in memory only and a restart forgets
// them.
func (d *doctor) checkStorage() {
	const what = "chats saved"
	switch {
	case d.status == nil:
		d.add(checkWarn, what, "unknown while kfsidebar is not running", "start kfsidebar run, then run doctor again")
	case d.status.Storage == nil:
	case d.status.Storage.OK:
		d.add(checkOK, what, "yes, in "+filepath.Join(d.cfg.DataDir, dbFile), "")
	default:
		st := d.status.Storage
		detail := "no: " + st.Error
		if !st.Since.IsZero() {
			detail += " (since " + st.Since.Local().Format("2006-01-02 15:04:05") + ")"
		}
		detail += "; chats are kept in memory only, and a restart forgets them"
		d.add(checkFail, what, detail, "free space on the disk of "+d.cfg.DataDir+" (or fix what the error names); kfsidebar retries by itself and this clears once a write works")
	}
}

// checkLimits reports the blind tunnels and the descriptors of the running
// proxy, and whether they ran short in the last minute.
func (d *doctor) checkLimits() {
	if d.status == nil || d.status.Tunnels == nil || d.status.Descriptors == nil {
		return
	}
	tn, fd := d.status.Tunnels, d.status.Descriptors
	open := "?"
	if fd.Open > 0 {
		open = fmt.Sprint(fd.Open)
	}
	detail := fmt.Sprintf("%d of %d tunnels to other sites open (%d refused since the start); %s of %d descriptors open", tn.Open, tn.Max, tn.Refused, open, fd.Limit)
	if fd.OK && tn.OK {
		d.add(checkOK, "connections", detail, "")
		return
	}
	if !tn.OK {
		detail += "; refusing tunnels, the last at " + tn.LastRefused.Local().Format("15:04:05")
	}
	if !fd.OK {
		detail += "; descriptors ran out at " + fd.LastShortage.Local().Format("15:04:05")
	}
	d.add(checkWarn, "connections", detail, "another program may be sending many connections through kfsidebar: point only the browser at its PAC file ("+d.cmd("proxy on")+"), not the manual proxy setting; this clears by itself")
}
