package certs

import (
	"context"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
)

// requireCertutil returns NSS's certutil or skips (fails on CI, where
// .ci/run installs libnss3-tools). It skips where Chrome does not read an
// NSS database (Windows, macOS): there FindTrustStores offers none, and on
// Windows the certutil.exe on PATH is Windows' own, another tool.
func requireCertutil(t *testing.T) string {
	t.Helper()
	if !chromeUsesNSS {
		t.Skip("NSS databases are Chrome's trust store on Linux only; not on " + runtime.GOOS)
	}
	p, err := exec.LookPath("certutil")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("certutil not found; CI installs libnss3-tools, so NSS tests must run")
		}
		t.Skip("certutil not found (sudo apt install libnss3-tools)")
	}
	return p
}

// newNSSDB makes an empty NSS database in dir, as Chrome does on first run.
func newNSSDB(t *testing.T, certutil, dir string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(certutil, "-N", "-d", "sql:"+dir, "--empty-password").CombinedOutput(); err != nil {
		t.Fatalf("certutil -N: %v\n%s", err, out)
	}
}

// requireLinux skips a test of the Linux system store (anchors directory,
// update tool, Unix permissions) elsewhere.
func requireLinux(t *testing.T) {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("the Linux system store: Linux only, not " + runtime.GOOS)
	}
}

// writeCA writes the CA certificate where `kfsidebar ca install` finds it.
func writeCA(t *testing.T, ca *CA) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), CertFile)
	writeFile(t, p, ca.CertPEM, 0o644)
	return p
}

// realCA is a CA made now (newTestCA's is at a fixed past time, whose
// leaves a verifier using the real clock would reject).
func realCA(t *testing.T) *CA {
	t.Helper()
	ca, err := New(Options{Hosts: []string{consoleHost}})
	if err != nil {
		t.Fatal(err)
	}
	return ca
}

func TestNSSInstallIsIdempotentAndUninstallRemovesOnlyOurs(t *testing.T) {
	certutil := requireCertutil(t)
	home := t.TempDir()
	newNSSDB(t, certutil, filepath.Join(home, ".pki", "nssdb"))
	ca, other := realCA(t), realCA(t)
	ctx := context.Background()

	stores, err := FindTrustStores(TrustOptions{Home: home, Kinds: []StoreKind{StoreNSS}, Certutil: certutil})
	if err != nil || len(stores) != 1 {
		t.Fatalf("stores = %v, %v; want Chrome's NSS database", stores, err)
	}
	if got := stores[0].Name(); !strings.Contains(got, filepath.Join("~", ".pki", "nssdb")) {
		t.Errorf("name %q does not show the database path", got)
	}
	// Someone else's root (the "other" CA, installed by hand) must survive
	// our uninstall.
	if r := InstallTrust(ctx, other, writeCA(t, other), stores)[0]; r.Err != nil || !r.Trusted {
		t.Fatalf("install other CA: %+v", r)
	}

	steps := []struct {
		name        string
		do          func() TrustResult
		wantTrusted bool
		wantChanged bool
	}{
		{"status before", func() TrustResult { return CheckTrust(ctx, ca, "", stores)[0] }, false, false},
		{"install", func() TrustResult { return InstallTrust(ctx, ca, writeCA(t, ca), stores)[0] }, true, true},
		{"install again changes nothing", func() TrustResult { return InstallTrust(ctx, ca, writeCA(t, ca), stores)[0] }, true, false},
		{"status after", func() TrustResult { return CheckTrust(ctx, ca, "", stores)[0] }, true, false},
		{"uninstall", func() TrustResult { return UninstallTrust(ctx, ca, stores)[0] }, false, true},
		{"uninstall again changes nothing", func() TrustResult { return UninstallTrust(ctx, ca, stores)[0] }, false, false},
	}
	for _, st := range steps {
		r := st.do()
		if r.Err != nil || r.Trusted != st.wantTrusted || r.Changed != st.wantChanged {
			t.Fatalf("%s: got trusted=%v changed=%v err=%v; want trusted=%v changed=%v",
				st.name, r.Trusted, r.Changed, r.Err, st.wantTrusted, st.wantChanged)
		}
	}
	if r := CheckTrust(ctx, other, "", stores)[0]; r.Err != nil || !r.Trusted {
		t.Fatalf("uninstall removed another CA too: %+v", r)
	}
}

func TestNSSUninstallFindsOurCAUnderAnyNickname(t *testing.T) {
	certutil := requireCertutil(t)
	home := t.TempDir()
	db := filepath.Join(home, ".pki", "nssdb")
	newNSSDB(t, certutil, db)
	ca := realCA(t)
	// The way the README used to say to do it by hand.
	if out, err := exec.Command(certutil, "-d", "sql:"+db, "-A", "-t", "C,,", "-n", "kfsidebar", "-i", writeCA(t, ca)).CombinedOutput(); err != nil {
		t.Fatalf("certutil -A: %v\n%s", err, out)
	}
	stores, _ := FindTrustStores(TrustOptions{Home: home, Kinds: []StoreKind{StoreNSS}, Certutil: certutil})
	if r := CheckTrust(context.Background(), ca, "", stores)[0]; !r.Trusted {
		t.Fatalf("CA imported as “kfsidebar” not seen: %+v", r)
	}
	if r := UninstallTrust(context.Background(), ca, stores)[0]; r.Err != nil || !r.Changed || r.Trusted {
		t.Fatalf("uninstall: %+v", r)
	}
}

func TestChromeNSSDatabaseLocation(t *testing.T) {
	certutil := requireCertutil(t)
	legacy := filepath.Join(".pki", "nssdb")
	xdg := filepath.Join(".local", "share", "pki", "nssdb")
	tests := []struct {
		name     string
		existing []string
		want     string
	}{
		{"none yet: create the one every Chrome reads", nil, legacy},
		{"only the new one", []string{xdg}, xdg},
		{"only the old one", []string{legacy}, legacy},
		{"both: Chrome prefers the old one", []string{legacy, xdg}, legacy},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			home := t.TempDir()
			for _, d := range tt.existing {
				newNSSDB(t, certutil, filepath.Join(home, d))
			}
			s := chromeNSSStore(home, "", certutil)
			if got := s.dir; got != filepath.Join(home, tt.want) {
				t.Fatalf("dir = %s, want ~/%s", got, tt.want)
			}
			ca := realCA(t)
			if r := InstallTrust(context.Background(), ca, writeCA(t, ca), []TrustStore{s})[0]; r.Err != nil || !r.Trusted {
				t.Fatalf("install: %+v", r)
			}
			if !nssDBExists(filepath.Join(home, tt.want)) {
				t.Fatalf("no database in ~/%s after install", tt.want)
			}
		})
	}
}

func TestFirefoxProfilesAreFound(t *testing.T) {
	if !chromeUsesNSS {
		t.Skip("Firefox profiles are changed with certutil only where NSS is the norm")
	}
	certutil := requireCertutil(t)
	home := t.TempDir()
	root := firefoxProfileRoots(home)[0]
	newNSSDB(t, certutil, filepath.Join(root, "abcd1234.default-release"))
	if err := os.MkdirAll(filepath.Join(root, "Crash Reports"), 0o700); err != nil {
		t.Fatal(err)
	}
	stores, err := FindTrustStores(TrustOptions{Home: home, Kinds: []StoreKind{StoreFirefox}, Certutil: certutil})
	if err != nil || len(stores) != 1 {
		t.Fatalf("stores = %v, %v; want one Firefox profile", stores, err)
	}
	if !strings.Contains(stores[0].Name(), "abcd1234.default-release") {
		t.Errorf("name %q does not name the profile", stores[0].Name())
	}
	ca := realCA(t)
	r := InstallTrust(context.Background(), ca, writeCA(t, ca), stores)[0]
	if r.Err != nil || !r.Trusted || r.Kind != StoreFirefox {
		t.Fatalf("install: %+v", r)
	}
}

func TestNoCertutilSaysWhatToDo(t *testing.T) {
	home := t.TempDir()
	s := &nssStore{kind: StoreNSS, dir: filepath.Join(home, ".pki", "nssdb"), label: "Chrome, Chromium", home: home, create: true, run: runCommand}
	ca := realCA(t)
	r := InstallTrust(context.Background(), ca, "/data/ca.pem", []TrustStore{s})[0]
	if !errors.Is(r.Err, ErrNoCertutil) || r.Trusted || r.Changed {
		t.Fatalf("got %+v, want ErrNoCertutil", r)
	}
	if !strings.Contains(r.Err.Error(), "libnss3-tools") || r.Manual.How != ImportNSS || r.Manual.CertPath != "/data/ca.pem" ||
		len(r.Manual.Commands) != 1 || !strings.HasSuffix(r.Manual.Commands[0], " -i /data/ca.pem") {
		t.Errorf("error and manual step: %v / %+v", r.Err, r.Manual)
	}
}

func TestParseCertutilList(t *testing.T) {
	out := `
Certificate Nickname                                         Trust Attributes
                                                             SSL,S/MIME,JAR/XPI

kfsidebar local CA (desk-7, 2026-11-23 1a2b)                 C,,  
Corp Root                                                    CT,C,C
client cert                                                  u,u,u
kfsidebar local CA (desk-7, 2026-11-23 1a2b)                 C,,  
`
	got := parseCertutilList(out)
	want := []nssEntry{
		{"kfsidebar local CA (desk-7, 2026-11-23 1a2b)", "C,,"},
		{"Corp Root", "CT,C,C"},
		{"client cert", "u,u,u"},
	}
	if !slices.Equal(got, want) {
		t.Fatalf("got %q\nwant %q", got, want)
	}
	for _, tt := range []struct {
		e    nssEntry
		want bool
	}{{want[0], true}, {want[1], true}, {want[2], false}, {nssEntry{"x", "T,C,"}, false}} {
		if got := tt.e.trustedForTLS(); got != tt.want {
			t.Errorf("%q trustedForTLS = %v, want %v", tt.e.trust, got, tt.want)
		}
	}
}

// TestLinuxSystemStore runs Debian's real update-ca-certificates on a
// throwaway root file system, so the machine's store is never touched. Each
// directory is named by its own option: --sysroot is newer than Debian 12's
// ca-certificates 20230311, whose script answers an option it does not know
// with its usage line and exit status 0, having changed nothing.
func TestLinuxSystemStore(t *testing.T) {
	requireLinux(t)
	tool, err := exec.LookPath("update-ca-certificates")
	if err != nil {
		t.Skip("update-ca-certificates not found (Debian's ca-certificates package)")
	}
	root := t.TempDir()
	for _, d := range []string{"usr/local/share/ca-certificates", "usr/share/ca-certificates", "etc/ssl/certs", "etc/ca-certificates/update.d"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	writeFile(t, filepath.Join(root, "etc/ca-certificates.conf"), nil, 0o644)
	s := &anchorStore{
		dir: filepath.Join(root, "usr/local/share/ca-certificates"), ext: ".crt",
		update: []string{tool,
			"--certsconf", filepath.Join(root, "etc/ca-certificates.conf"),
			"--certsdir", filepath.Join(root, "usr/share/ca-certificates"),
			"--localcertsdir", filepath.Join(root, "usr/local/share/ca-certificates"),
			"--etccertsdir", filepath.Join(root, "etc/ssl/certs"),
			"--hooksdir", filepath.Join(root, "etc/ca-certificates/update.d")},
		bundles: []string{filepath.Join(root, "etc/ssl/certs/ca-certificates.crt")},
		run:     runCommand,
	}
	ca, other := realCA(t), realCA(t)
	stores := []TrustStore{s}
	ctx := context.Background()
	if r := InstallTrust(ctx, other, writeCA(t, other), stores)[0]; r.Err != nil || !r.Trusted {
		t.Fatalf("install other: %+v", r)
	}
	if r := InstallTrust(ctx, ca, writeCA(t, ca), stores)[0]; r.Err != nil || !r.Trusted || !r.Changed {
		t.Fatalf("install: %+v", r)
	}
	if r := InstallTrust(ctx, ca, writeCA(t, ca), stores)[0]; r.Err != nil || !r.Trusted || r.Changed {
		t.Fatalf("install again: %+v", r)
	}
	if r := UninstallTrust(ctx, ca, stores)[0]; r.Err != nil || r.Trusted || !r.Changed {
		t.Fatalf("uninstall: %+v", r)
	}
	if r := CheckTrust(ctx, other, "", stores)[0]; !r.Trusted {
		t.Fatalf("uninstall removed the other CA: %+v", r)
	}
	if m := s.Manual("/d/ca.pem"); !strings.HasSuffix(m.Commands[0], "sudo "+strings.Join(s.update, " ")) {
		t.Errorf("manual step does not name the update tool: %+v", m)
	}
}

func TestLinuxSystemStoreNeedsRoot(t *testing.T) {
	requireLinux(t)
	if os.Geteuid() == 0 {
		t.Skip("running as root: every directory is writable")
	}
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o555); err != nil {
		t.Fatal(err)
	}
	s := &anchorStore{dir: dir, ext: ".crt", update: []string{"true"}, bundles: []string{filepath.Join(dir, "bundle")}, run: runCommand}
	ca := realCA(t)
	r := InstallTrust(context.Background(), ca, "/d/ca.pem", []TrustStore{s})[0]
	if !errors.Is(r.Err, ErrNeedsAdmin) || r.Manual.How != AddAnchor || !strings.HasPrefix(r.Manual.Commands[0], "sudo ") {
		t.Fatalf("got %+v, want ErrNeedsAdmin with a sudo step", r)
	}
}

// fakeTool records the commands a store runs and answers from a script.
type fakeTool struct {
	calls  [][]string
	answer func(args []string) ([]byte, error)
}

func (f *fakeTool) run(_ context.Context, name string, args ...string) ([]byte, error) {
	call := append([]string{name}, args...)
	f.calls = append(f.calls, call)
	return f.answer(call)
}

// TestKeychainCommands checks what would run on macOS: check first with
// find-certificate (no prompt), add with trust for TLS only, and remove
// exactly our certificate by its SHA-1.
func TestKeychainCommands(t *testing.T) {
	ca := realCA(t)
	sha := sha1Hex(ca)
	var installed, trusted bool
	tool := &fakeTool{answer: func(args []string) ([]byte, error) {
		switch args[1] {
		case "find-certificate":
			if installed {
				return []byte("SHA-256 hash: 00\nSHA-1 hash: " + sha + "\nkeychain: \"/Users/a/Library/Keychains/login.keychain-db\"\n"), nil
			}
			return []byte("security: SecKeychainSearchCopyNext: The specified item could not be found in the keychain.\n"), errors.New("exit status 44")
		case "add-trusted-cert":
			installed, trusted = true, true
		case "delete-certificate":
			installed, trusted = false, false
		}
		return nil, nil
	}}
	s := &keychainStore{keychain: "/Users/a/Library/Keychains/login.keychain-db", run: tool.run, verify: func(*CA) error {
		if !trusted {
			return errors.New("not trusted")
		}
		return nil
	}}
	ctx := context.Background()
	if r := InstallTrust(ctx, ca, "/d/ca.pem", []TrustStore{s})[0]; r.Err != nil || !r.Trusted || !r.Changed {
		t.Fatalf("install: %+v", r)
	}
	if r := InstallTrust(ctx, ca, "/d/ca.pem", []TrustStore{s})[0]; r.Err != nil || r.Changed {
		t.Fatalf("install again: %+v", r)
	}
	if r := UninstallTrust(ctx, ca, []TrustStore{s})[0]; r.Err != nil || r.Trusted || !r.Changed {
		t.Fatalf("uninstall: %+v", r)
	}
	var got []string
	for _, c := range tool.calls {
		if c[1] == "remove-trusted-cert" {
			c = c[:2] // a temporary file name
		}
		got = append(got, strings.Join(c, " "))
	}
	cn := ca.Cert.Subject.CommonName
	kc := "/Users/a/Library/Keychains/login.keychain-db"
	want := []string{
		"security find-certificate -a -Z -c " + cn + " " + kc,
		"security add-trusted-cert -r trustRoot -p ssl -k " + kc + " /d/ca.pem",
		"security find-certificate -a -Z -c " + cn + " " + kc,
		"security find-certificate -a -Z -c " + cn + " " + kc,
		"security find-certificate -a -Z -c " + cn + " " + kc,
		"security remove-trusted-cert",
		"security delete-certificate -Z " + sha + " " + kc,
		"security find-certificate -a -Z -c " + cn + " " + kc,
	}
	if !slices.Equal(got, want) {
		t.Fatalf("commands:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestVerifyLeafRespectsRoots(t *testing.T) {
	ca, other := realCA(t), realCA(t)
	if err := verifyLeaf(ca, ca.Pool()); err != nil {
		t.Fatalf("own pool: %v", err)
	}
	if err := verifyLeaf(ca, other.Pool()); err == nil {
		t.Fatal("a leaf verified against another CA's pool")
	}
}

func TestPEMContains(t *testing.T) {
	ca, other := realCA(t), realCA(t)
	bundle := append(append([]byte("junk\n"), other.CertPEM...), ca.CertPEM...)
	if !pemContains(bundle, ca.Cert.Raw) || pemContains(other.CertPEM, ca.Cert.Raw) {
		t.Fatal("pemContains is wrong")
	}
	// A certificate with our subject but another key is not ours.
	forged := signDirect(t, other, &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: ca.Cert.Subject.CommonName},
		NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour)})
	if pemContains(encodeCertPEM(forged.Raw), ca.Cert.Raw) {
		t.Fatal("a namesake was taken for our CA")
	}
}

func TestParseStoreKind(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want StoreKind
		err  bool
	}{{"system", StoreSystem, false}, {"NSS", StoreNSS, false}, {"firefox", StoreFirefox, false}, {"chrome", "", true}} {
		got, err := ParseStoreKind(tt.in)
		if got != tt.want || (err != nil) != tt.err {
			t.Errorf("ParseStoreKind(%q) = %q, %v", tt.in, got, err)
		}
	}
}

// TestNSSUninstallRemovesTheDatabaseItMade: `ca install` before Chrome
// ever ran makes ~/.pki/nssdb; uninstall removes it again, ~/.pki too,
// unless something else went into it meanwhile (issue 13: "an empty
// ~/.pki/nssdb that it created").
func TestNSSUninstallRemovesTheDatabaseItMade(t *testing.T) {
	certutil := requireCertutil(t)
	ctx := context.Background()
	for _, other := range []bool{false, true} {
		home := t.TempDir()
		ca := realCA(t)
		stores, _ := FindTrustStores(TrustOptions{Home: home, Kinds: []StoreKind{StoreNSS}, Certutil: certutil})
		if r := InstallTrust(ctx, ca, writeCA(t, ca), stores)[0]; r.Err != nil || !r.Trusted {
			t.Fatalf("install: %+v", r)
		}
		db := filepath.Join(home, ".pki", "nssdb")
		if other {
			o := realCA(t)
			if out, err := exec.Command(certutil, "-d", "sql:"+db, "-A", "-t", "C,,", "-n", "IT", "-i", writeCA(t, o)).CombinedOutput(); err != nil {
				t.Fatalf("certutil -A: %v\n%s", err, out)
			}
		}
		if r := UninstallTrust(ctx, ca, stores)[0]; r.Err != nil || !r.Changed {
			t.Fatalf("uninstall: %+v", r)
		}
		_, err := os.Stat(filepath.Join(home, ".pki"))
		switch {
		case !other && !errors.Is(err, os.ErrNotExist):
			t.Errorf("~/.pki left behind: %v", err)
		case other && err != nil:
			t.Errorf("a database holding another certificate was removed: %v", err)
		case other:
			if _, err := os.Stat(filepath.Join(db, nssCreatedMarker)); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("marker kept in a database that is not ours alone: %v", err)
			}
		}
	}
}
