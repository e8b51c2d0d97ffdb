package certs

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io/fs"
	"maps"
	"math/big"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
)

func consoleOpts(now time.Time) Options {
	return Options{Hosts: []string{consoleHost}, Now: func() time.Time { return now }}
}

// createCA makes a CA in a fresh data directory and returns the directory.
func createCA(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "kfsidebar")
	if _, created, err := LoadOrCreate(dir, consoleOpts(t0)); err != nil || !created {
		t.Fatalf("LoadOrCreate on an empty dir: created=%v err=%v, want created", created, err)
	}
	return dir
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func writeFile(t *testing.T, path string, data []byte, perm os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, data, perm); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, perm); err != nil { // WriteFile is subject to umask.
		t.Fatal(err)
	}
}

func mode(t *testing.T, path string) os.FileMode {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode().Perm()
}

func TestLoadOrCreateCreatesThenLoads(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data", "kfsidebar")
	ca1, created, err := LoadOrCreate(dir, consoleOpts(t0))
	if err != nil {
		t.Fatal(err)
	}
	if !created {
		t.Errorf("first LoadOrCreate: created = false, want true")
	}
	ca2, created, err := LoadOrCreate(dir, Options{Hosts: []string{"MPKF.weixin.qq.com:443"}, Now: func() time.Time { return t0.Add(24 * time.Hour) }})
	if err != nil {
		t.Fatal(err)
	}
	if created {
		t.Errorf("second LoadOrCreate: created = true, want false")
	}
	if !ca2.Cert.Equal(ca1.Cert) || !bytes.Equal(ca2.CertPEM, ca1.CertPEM) || ca2.SPKIHash() != ca1.SPKIHash() {
		t.Errorf("second LoadOrCreate returned another certificate")
	}
	if !bytes.Equal(readFile(t, filepath.Join(dir, CertFile)), ca1.CertPEM) {
		t.Errorf("%s differs from CertPEM", CertFile)
	}

	// The loaded key signs leaves that verify against the stored cert.
	leaf, err := NewLeaves(ca2, LeafOptions{Now: func() time.Time { return t0 }}).Get(consoleHost)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := leaf.Leaf.Verify(x509.VerifyOptions{Roots: ca1.Pool(), DNSName: consoleHost, CurrentTime: t0}); err != nil {
		t.Errorf("leaf signed by the loaded key: %v", err)
	}

	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if want := []string{KeyFile, CertFile}; !slices.Equal(names, want) {
		t.Errorf("files in dir = %q, want %q (no temporary files left)", names, want)
	}

	if runtime.GOOS == "windows" {
		return
	}
	for _, c := range []struct {
		path string
		want os.FileMode
	}{
		{dir, 0o700},
		{filepath.Join(dir, KeyFile), 0o600},
	} {
		if got := mode(t, c.path); got != c.want {
			t.Errorf("mode of %s = %#o, want %#o", c.path, got, c.want)
		}
	}
}

func TestLoadOrCreateTightensKeyMode(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no Unix mode bits on windows")
	}
	dir := createCA(t)
	keyPath := filepath.Join(dir, KeyFile)
	if err := os.Chmod(keyPath, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := LoadOrCreate(dir, consoleOpts(t0)); err != nil {
		t.Fatal(err)
	}
	if got, want := mode(t, keyPath), os.FileMode(0o600); got != want {
		t.Errorf("key mode after load = %#o, want %#o", got, want)
	}
}

func TestLoadOrCreateHostsChanged(t *testing.T) {
	dir := createCA(t)
	_, _, err := LoadOrCreate(dir, Options{Hosts: []string{consoleHost, "kf.example.com"}, Now: func() time.Time { return t0 }})
	if !errors.Is(err, ErrHostsChanged) {
		t.Fatalf("LoadOrCreate with other hosts: error %v, want ErrHostsChanged", err)
	}
	for _, want := range []string{dir, consoleHost, "kf.example.com", filepath.Join(dir, CertFile), filepath.Join(dir, KeyFile), "trust the new one"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}

func TestLoadOrCreateExpiry(t *testing.T) {
	dir := createCA(t)
	ca, _, err := LoadOrCreate(dir, consoleOpts(t0))
	if err != nil {
		t.Fatal(err)
	}
	end := ca.Cert.NotAfter
	tests := []struct {
		name    string
		now     time.Time
		wantErr bool
		wantMsg string
	}{
		{name: "nine years on", now: t0.Add(9 * 365 * 24 * time.Hour)},
		{name: "31 days left", now: end.Add(-31 * 24 * time.Hour)},
		{name: "29 days left", now: end.Add(-29 * 24 * time.Hour), wantErr: true, wantMsg: "expires on"},
		{name: "at expiry", now: end, wantErr: true, wantMsg: "expired on"},
		{name: "long expired", now: end.Add(365 * 24 * time.Hour), wantErr: true, wantMsg: "expired on"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := LoadOrCreate(dir, consoleOpts(tt.now))
			if !tt.wantErr {
				if err != nil {
					t.Fatalf("LoadOrCreate: %v", err)
				}
				return
			}
			if !errors.Is(err, ErrCAExpired) {
				t.Fatalf("LoadOrCreate: error %v, want ErrCAExpired", err)
			}
			for _, want := range []string{tt.wantMsg, end.Format("2006-01-02"), "trust the new one"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not mention %q", err, want)
				}
			}
		})
	}
}

// TestLoadOrCreateBrokenFiles checks that every broken state is an error
// naming the file, and that nothing on disk is touched.
func TestLoadOrCreateBrokenFiles(t *testing.T) {
	other := createCA(t)
	otherKey := readFile(t, filepath.Join(other, KeyFile))

	ca := newTestCA(t)
	leaf, err := NewLeaves(ca, LeafOptions{Now: func() time.Time { return t0 }}).Get(consoleHost)
	if err != nil {
		t.Fatal(err)
	}
	leafCertPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: leaf.Certificate[0]})
	leafKeyDER, err := x509.MarshalPKCS8PrivateKey(leaf.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	leafKeyPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: leafKeyDER})

	unconstrainedCert, unconstrainedKey := unconstrainedCA(t)

	tests := []struct {
		name     string
		breakIt  func(t *testing.T, certPath, keyPath string)
		wantErr  error
		wantFile string
	}{
		{
			name:     "key missing",
			breakIt:  func(t *testing.T, _, keyPath string) { remove(t, keyPath) },
			wantErr:  ErrIncompleteCA,
			wantFile: KeyFile,
		},
		{
			name:     "cert missing",
			breakIt:  func(t *testing.T, certPath, _ string) { remove(t, certPath) },
			wantErr:  ErrIncompleteCA,
			wantFile: CertFile,
		},
		{
			name:     "cert garbage",
			breakIt:  func(t *testing.T, certPath, _ string) { writeFile(t, certPath, []byte("not a certificate"), 0o644) },
			wantErr:  ErrInvalidCA,
			wantFile: CertFile,
		},
		{
			name:     "cert truncated",
			breakIt:  func(t *testing.T, certPath, _ string) { truncate(t, certPath) },
			wantErr:  ErrInvalidCA,
			wantFile: CertFile,
		},
		{
			name: "key garbage",
			breakIt: func(t *testing.T, _, keyPath string) {
				writeFile(t, keyPath, []byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"), 0o600)
			},
			wantErr:  ErrInvalidCA,
			wantFile: KeyFile,
		},
		{
			name:     "key empty",
			breakIt:  func(t *testing.T, _, keyPath string) { writeFile(t, keyPath, nil, 0o600) },
			wantErr:  ErrInvalidCA,
			wantFile: KeyFile,
		},
		{
			name:     "key of another CA",
			breakIt:  func(t *testing.T, _, keyPath string) { writeFile(t, keyPath, otherKey, 0o600) },
			wantErr:  ErrInvalidCA,
			wantFile: KeyFile,
		},
		{
			name: "leaf instead of CA",
			breakIt: func(t *testing.T, certPath, keyPath string) {
				writeFile(t, certPath, leafCertPEM, 0o644)
				writeFile(t, keyPath, leafKeyPEM, 0o600)
			},
			wantErr:  ErrInvalidCA,
			wantFile: CertFile,
		},
		{
			name: "CA without name constraints",
			breakIt: func(t *testing.T, certPath, keyPath string) {
				writeFile(t, certPath, unconstrainedCert, 0o644)
				writeFile(t, keyPath, unconstrainedKey, 0o600)
			},
			wantErr:  ErrInvalidCA,
			wantFile: CertFile,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := createCA(t)
			certPath, keyPath := filepath.Join(dir, CertFile), filepath.Join(dir, KeyFile)
			tt.breakIt(t, certPath, keyPath)
			before := snapshot(t, dir)

			_, created, err := LoadOrCreate(dir, consoleOpts(t0))
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("LoadOrCreate: created=%v error %v, want %v", created, err, tt.wantErr)
			}
			if !strings.Contains(err.Error(), filepath.Join(dir, tt.wantFile)) {
				t.Errorf("error %q does not name %s", err, tt.wantFile)
			}
			// Half a CA is no CA to LoadExisting (ca status, uninstall,
			// open, doctor) either: it says which file is missing.
			if _, err := LoadExisting(dir); tt.wantErr == ErrIncompleteCA && (!errors.Is(err, ErrIncompleteCA) || errors.Is(err, fs.ErrNotExist)) {
				t.Errorf("LoadExisting: %v, want %v", err, ErrIncompleteCA)
			}
			if after := snapshot(t, dir); !maps.Equal(before, after) {
				t.Errorf("files changed: before %q, after %q", slices.Sorted(maps.Keys(before)), slices.Sorted(maps.Keys(after)))
			}
		})
	}
}

// unconstrainedCA returns the PEM certificate and key of a CA without name
// constraints, like one a user might drop into the data directory.
func unconstrainedCA(t *testing.T) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "anything goes"},
		NotBefore:             t0.Add(-time.Hour),
		NotAfter:              t0.Add(365 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})
}

func remove(t *testing.T, path string) {
	t.Helper()
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
}

func truncate(t *testing.T, path string) {
	t.Helper()
	b := readFile(t, path)
	writeFile(t, path, b[:len(b)/2], 0o644)
}

// snapshot maps each file name in dir to its content.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	m := make(map[string]string, len(entries))
	for _, e := range entries {
		m[e.Name()] = string(readFile(t, filepath.Join(dir, e.Name())))
	}
	return m
}

func TestLoadOrCreateInvalidOptionsWritesNothing(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "kfsidebar")
	_, _, err := LoadOrCreate(dir, Options{Hosts: []string{"127.0.0.1"}})
	if !errors.Is(err, ErrInvalidHost) {
		t.Fatalf("LoadOrCreate with an IP host: error %v, want ErrInvalidHost", err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("dir exists after invalid options (stat error %v), want nothing created", err)
	}
}

// TestLoadOrCreateSEC1Key accepts a key converted to "EC PRIVATE KEY", the
// form openssl ecparam writes.
func TestLoadOrCreateSEC1Key(t *testing.T) {
	dir := createCA(t)
	keyPath := filepath.Join(dir, KeyFile)
	block, _ := pem.Decode(readFile(t, keyPath))
	key, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	sec1, err := x509.MarshalECPrivateKey(key.(*ecdsa.PrivateKey))
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, keyPath, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: sec1}), 0o600)
	if _, created, err := LoadOrCreate(dir, consoleOpts(t0)); err != nil || created {
		t.Errorf("LoadOrCreate with a SEC 1 key: created=%v err=%v, want loaded", created, err)
	}
}
