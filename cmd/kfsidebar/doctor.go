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
	"github.com/kfsidebar/kfsidebar/internal/msg"
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
	p        msg.Printer // the user's language
}

func (d *doctor) add(level checkLevel, what, detail, fix string) {
	d.findings = append(d.findings, finding{level, what, detail, fix})
}

// s is a catalog message in the user's language.
func (d *doctor) s(t msg.Text, args ...any) string { return d.p.Sprintf(t, args...) }

// say is err in the user's language, as far as the catalog knows it
// (sayErr).
func (d *doctor) say(err error) string { return sayErr(d.p, err).Error() }

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
	p := msg.NewPrinter(msg.Detect())
	d := &doctor{cfg: cfg, timeout: 8 * time.Second, p: p}
	d.run(ctx)
	p.Printf(out, msg.DoctorHeader, versionString(), cfg.DataDir)
	failed := 0
	for _, f := range d.findings {
		mark := [...]string{"✔", "⚠", "✘"}[f.level]
		p.Printf(out, msg.DoctorLine, mark, f.what, f.detail)
		if f.level != checkOK && f.fix != "" {
			for _, line := range strings.Split(f.fix, "\n") {
				p.Printf(out, msg.DoctorFix, line)
			}
		}
		if f.level == checkFail {
			failed++
		}
	}
	if failed > 0 {
		fmt.Fprintln(out)
		return p.Errorf(msg.DoctorFailed, failed)
	}
	p.Printf(out, msg.DoctorAllGood)
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
		d.add(checkFail, d.s(msg.DoctorDataDir), d.s(msg.DoctorNoDataDir, dir), d.s(msg.DoctorMakeDataDir, d.cmd("ca install")))
		return
	case err != nil:
		d.add(checkFail, d.s(msg.DoctorDataDir), err.Error(), d.s(msg.DoctorReadable, dir))
		return
	case !fi.IsDir():
		d.add(checkFail, d.s(msg.DoctorDataDir), d.s(msg.DoctorNotDir, dir), d.s(msg.DoctorGiveDir))
		return
	}
	if runtime.GOOS != "windows" && fi.Mode().Perm()&0o077 != 0 {
		d.add(checkFail, d.s(msg.DoctorDataDir), d.s(msg.DoctorDirMode, dir, fi.Mode().Perm()), "chmod 700 "+shellQuote(dir))
		return
	}
	d.add(checkOK, d.s(msg.DoctorDataDir), dir, "")
}

func (d *doctor) checkCA() {
	dir := d.cfg.DataDir
	keyPath := filepath.Join(dir, certs.KeyFile)
	ca, err := certs.LoadExisting(dir)
	if errors.Is(err, fs.ErrNotExist) {
		d.add(checkFail, d.s(msg.DoctorRootCA), d.s(msg.DoctorNoCA, dir), d.s(msg.DoctorMakeCA, d.cmd("ca install")))
		return
	}
	if half, ok := errors.AsType[*certs.CAError](err); ok && half.Kind == certs.ErrIncompleteCA {
		// `ca install` refuses half a CA, so it is no fix: the error says
		// what is.
		d.add(checkFail, d.s(msg.DoctorRootCA), d.say(half), "")
		return
	}
	if err != nil {
		d.add(checkFail, d.s(msg.DoctorRootCA), d.say(err), d.s(msg.DoctorNewCA, d.cmd("ca install")))
		return
	}
	d.ca = ca
	if runtime.GOOS != "windows" {
		if fi, err := os.Stat(keyPath); err == nil && fi.Mode().Perm()&0o077 != 0 {
			d.add(checkFail, d.s(msg.DoctorCAKey), d.s(msg.DoctorKeyMode, keyPath, fi.Mode().Perm()), "chmod 600 "+shellQuote(keyPath))
		} else if err == nil {
			d.add(checkOK, d.s(msg.DoctorCAKey), d.s(msg.DoctorKeyOK, keyPath), "")
		}
	}
	// LoadOrCreate validates what run will: hosts and expiry. The files
	// exist, so it creates nothing.
	if _, _, err := certs.LoadOrCreate(dir, certs.Options{Hosts: d.cfg.ConsoleHosts}); err != nil {
		d.add(checkFail, d.s(msg.DoctorRootCA), d.say(err), "")
		return
	}
	d.add(checkOK, d.s(msg.DoctorRootCA), d.s(msg.DoctorCAOK, ca.Cert.Subject.CommonName,
		strings.Join(ca.Hosts(), ", "), ca.Cert.NotAfter.Format("2006-01-02")), "")
}

func (d *doctor) checkTrust(ctx context.Context) {
	if d.ca == nil {
		return
	}
	stores, err := certs.FindTrustStores(certs.TrustOptions{})
	if err != nil {
		d.add(checkWarn, d.s(msg.DoctorTrustStores), d.say(err), "")
		return
	}
	certPath := filepath.Join(d.cfg.DataDir, certs.CertFile)
	browserTrusted := false
	for _, r := range certs.CheckTrust(ctx, d.ca, certPath, stores) {
		what := d.s(msg.DoctorTrustedBy, r.Name)
		switch {
		case r.Err != nil:
			d.add(checkWarn, what, d.say(r.Err), sayManual(d.p, r.Manual))
		case r.Trusted:
			d.add(checkOK, what, d.s(msg.DoctorYes), "")
			if readByBrowsers(r.Kind) {
				browserTrusted = true
			}
		default:
			d.add(checkWarn, what, d.s(msg.DoctorNo), d.cmd("ca install"))
		}
	}
	if !browserTrusted {
		d.add(checkFail, d.s(msg.DoctorBrowserTrust), d.s(msg.DoctorNoBrowser), d.s(msg.DoctorTrustFix, d.cmd("ca install"), d.cmd("open")))
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
		d.add(checkFail, d.s(msg.DoctorProxy), d.s(msg.DoctorNothingOn, addr, err), d.s(msg.DoctorStartIt))
		return
	}
	var st admin.Status
	if err := json.Unmarshal(body, &st); err != nil || st.Fingerprint == "" {
		d.add(checkFail, d.s(msg.DoctorProxy), d.s(msg.DoctorSomethingElse, addr), d.s(msg.DoctorOtherListen))
		return
	}
	d.status = &st
	if d.ca != nil {
		sum := sha256.Sum256(d.ca.Cert.Raw)
		if !strings.EqualFold(st.Fingerprint, hex.EncodeToString(sum[:])) {
			d.add(checkFail, d.s(msg.DoctorProxy), d.s(msg.DoctorOtherCA, addr), d.s(msg.DoctorSameDataDir, d.cfg.DataDir))
			return
		}
	}
	d.add(checkOK, d.s(msg.DoctorProxy), d.s(msg.DoctorRunning, st.Version, addr), "")
	pac, err := d.get(ctx, "/proxy.pac")
	if err != nil {
		d.add(checkFail, d.s(msg.DoctorPAC), err.Error(), d.s(msg.DoctorRestart))
		return
	}
	for _, h := range hostsOf(d.cfg) {
		if !strings.Contains(string(pac), `"`+h+`"`) {
			d.add(checkFail, d.s(msg.DoctorPAC), d.s(msg.DoctorPACMisses, h), d.s(msg.DoctorSameHost))
			return
		}
	}
	d.add(checkOK, d.s(msg.DoctorPAC), pacURL(d.cfg.Listen), "")
}

func (d *doctor) checkSystemProxy(ctx context.Context) {
	want := pacURL(d.cfg.Listen)
	fix := d.s(msg.DoctorProxyFix, d.cmd("proxy on"), want, d.cmd("open"))
	what := d.s(msg.DoctorSystemProxy)
	sp, err := sysproxy.New()
	if err != nil {
		d.add(checkWarn, what, d.say(err), d.s(msg.DoctorByHandFix, want, d.cmd("open")))
		return
	}
	cur, err := sp.Get(ctx)
	if err != nil {
		d.add(checkWarn, what, d.say(err), fix)
		return
	}
	if !sysproxy.SamePAC(cur.PACURL, want) {
		d.add(checkWarn, what, d.s(msg.DoctorNotOurPAC, sp.Name(), describeProxy(d.p, cur)), fix)
		return
	}
	d.add(checkOK, what, d.s(msg.DoctorUsesPAC, sp.Name(), want), "")
}

// checkConsole connects to the console host the way the proxy does
// (through --dial overrides and the upstream proxy, verifying its
// certificate with the system roots and --upstream-ca).
func (d *doctor) checkConsole(ctx context.Context) {
	host := hostsOf(d.cfg)[0]
	what := d.s(msg.DoctorConsole, host)
	roots, err := upstreamRoots(d.cfg.UpstreamCA, nil)
	if err != nil {
		d.add(checkFail, what, err.Error(), d.s(msg.DoctorFixCA))
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
		via = d.s(msg.DoctorThrough, up.url.Host)
	}
	ctx, cancel := context.WithTimeout(ctx, d.timeout)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodHead, "https://"+host+"/", nil)
	resp, err := (&http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
	if err == nil {
		resp.Body.Close()
		d.add(checkOK, what, d.s(msg.DoctorReachable, via), "")
		return
	}
	var dnsErr *net.DNSError
	var unknownAuthority x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	switch {
	case errors.As(err, &dnsErr):
		d.add(checkFail, what, d.s(msg.DoctorOffline, host, dnsErr.Err), d.s(msg.DoctorCheckNet))
	case errors.As(err, &unknownAuthority), errors.As(err, &hostErr):
		d.add(checkFail, what, d.s(msg.DoctorUntrusted, err), d.s(msg.DoctorFirewall))
	default:
		d.add(checkFail, what, d.s(msg.DoctorCannotConnect, via, err), d.s(msg.DoctorCheckUpstream))
	}
}

func (d *doctor) checkBackend() {
	what := d.s(msg.DoctorBackend)
	switch {
	case d.status == nil:
		d.add(checkWarn, what, d.s(msg.DoctorUnknown), d.s(msg.DoctorStartAgain))
	case d.status.Backend == nil:
		d.add(checkOK, what, d.s(msg.DoctorEmbedded), "")
	default:
		b := d.status.Backend
		detail := b.State
		if b.LastError != "" {
			detail += d.s(msg.DoctorLastError, b.LastErrorAt.Local().Format("15:04:05"), b.LastError)
		}
		switch b.State {
		case "ok", "":
			d.add(checkOK, what, detail, "")
		case "degraded":
			d.add(checkWarn, what, detail, d.s(msg.DoctorCheckBackend))
		default:
			if !b.RetryAt.IsZero() {
				detail += d.s(msg.DoctorPausedUntil, b.RetryAt.Local().Format("15:04:05"))
			}
			d.add(checkFail, what, detail, d.s(msg.DoctorCheckBackend))
		}
	}
}

// checkStorage reports whether the running proxy saves the chats it
// learns: when it cannot, they are in memory only and a restart forgets
// them.
func (d *doctor) checkStorage() {
	what := d.s(msg.DoctorChatsSaved)
	switch {
	case d.status == nil:
		d.add(checkWarn, what, d.s(msg.DoctorUnknown), d.s(msg.DoctorStartAgain))
	case d.status.Storage == nil:
	case d.status.Storage.OK:
		d.add(checkOK, what, d.s(msg.DoctorSavedIn, filepath.Join(d.cfg.DataDir, dbFile)), "")
	default:
		st := d.status.Storage
		detail := d.s(msg.DoctorNotSaved, st.Error)
		if !st.Since.IsZero() {
			detail += d.s(msg.DoctorSince, st.Since.Local().Format("2006-01-02 15:04:05"))
		}
		detail += d.s(msg.DoctorMemoryOnly)
		d.add(checkFail, what, detail, d.s(msg.DoctorFreeSpace, d.cfg.DataDir))
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
	detail := d.s(msg.DoctorConnDetail, tn.Open, tn.Max, tn.Refused, open, fd.Limit)
	if fd.OK && tn.OK {
		d.add(checkOK, d.s(msg.DoctorConnections), detail, "")
		return
	}
	if !tn.OK {
		detail += d.s(msg.DoctorRefusing, tn.LastRefused.Local().Format("15:04:05"))
	}
	if !fd.OK {
		detail += d.s(msg.DoctorNoDescriptors, fd.LastShortage.Local().Format("15:04:05"))
	}
	d.add(checkWarn, d.s(msg.DoctorConnections), detail, d.s(msg.DoctorTooMany, d.cmd("proxy on")))
}
