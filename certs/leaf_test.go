package certs

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"
)

func TestLeafFields(t *testing.T) {
	ca := newTestCA(t)
	c, err := NewLeaves(ca, LeafOptions{Now: func() time.Time { return t0 }}).Get(consoleHost)
	if err != nil {
		t.Fatal(err)
	}
	if c.Leaf == nil {
		t.Fatal("Leaf is nil, want the parsed leaf")
	}
	leaf, err := x509.ParseCertificate(c.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	key, ok := c.PrivateKey.(*ecdsa.PrivateKey)
	checks := []struct {
		name string
		ok   bool
	}{
		{"chain is [leaf, CA]", len(c.Certificate) == 2 && slices.Equal(c.Certificate[1], ca.Cert.Raw)},
		{"Leaf is Certificate[0]", slices.Equal(c.Leaf.Raw, c.Certificate[0])},
		{"ECDSA P-256 key", ok && key.Curve == elliptic.P256()},
		{"key matches leaf", ok && key.PublicKey.Equal(leaf.PublicKey)},
		{"leaf key is not the CA key", ok && !key.PublicKey.Equal(ca.Cert.PublicKey)},
		{"serial positive", leaf.SerialNumber.Sign() > 0},
		{"serial at most 128 bits", leaf.SerialNumber.BitLen() <= 128},
		{"CN is the host", leaf.Subject.CommonName == consoleHost},
		{"SAN is the host", slices.Equal(leaf.DNSNames, []string{consoleHost})},
		{"no IP SANs", len(leaf.IPAddresses) == 0},
		{"KeyUsage DigitalSignature", leaf.KeyUsage == x509.KeyUsageDigitalSignature},
		{"ExtKeyUsage ServerAuth", slices.Equal(leaf.ExtKeyUsage, []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth})},
		{"not a CA", !leaf.IsCA},
		{"NotBefore in the past", leaf.NotBefore.Before(t0)},
		{"NotBefore at most 5 minutes back", t0.Sub(leaf.NotBefore) <= 5*time.Minute},
		{"default lifetime 7 days", leaf.NotAfter.Sub(leaf.NotBefore) == 7*24*time.Hour},
		{"AuthorityKeyId is the CA's", slices.Equal(leaf.AuthorityKeyId, ca.Cert.SubjectKeyId)},
	}
	for _, c := range checks {
		if !c.ok {
			t.Errorf("leaf: %s: false", c.name)
		}
	}
}

func TestLeafLifetime(t *testing.T) {
	day := 24 * time.Hour
	tests := []struct {
		name string
		opt  time.Duration
		want time.Duration
	}{
		{name: "default", opt: 0, want: 7 * day},
		{name: "custom", opt: 30 * day, want: 30 * day},
		{name: "47 days", opt: 47 * day, want: 47 * day},
		{name: "capped at 47 days", opt: 398 * day, want: 47 * day},
		{name: "raised to an hour", opt: time.Minute, want: time.Hour},
		{name: "negative", opt: -day, want: time.Hour},
	}
	ca := newTestCA(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := NewLeaves(ca, LeafOptions{Lifetime: tt.opt, Now: func() time.Time { return t0 }}).Get(consoleHost)
			if err != nil {
				t.Fatal(err)
			}
			if got := c.Leaf.NotAfter.Sub(c.Leaf.NotBefore); got != tt.want {
				t.Errorf("lifetime = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestLeafNeverOutlivesCA(t *testing.T) {
	ca := newTestCA(t)
	end := ca.Cert.NotAfter
	l := NewLeaves(ca, LeafOptions{Now: func() time.Time { return end.Add(-24 * time.Hour) }})
	c, err := l.Get(consoleHost)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Leaf.NotAfter; got.After(end) {
		t.Errorf("leaf NotAfter %v is after the CA's %v", got, end)
	}

	expired := NewLeaves(ca, LeafOptions{Now: func() time.Time { return end.Add(time.Hour) }})
	if _, err := expired.Get(consoleHost); !errors.Is(err, ErrCAExpired) {
		t.Errorf("Get with an expired CA: error %v, want ErrCAExpired", err)
	}
}

func TestLeavesReuse(t *testing.T) {
	l := NewLeaves(newTestCA(t), LeafOptions{Now: func() time.Time { return t0 }})
	first, err := l.Get(consoleHost)
	if err != nil {
		t.Fatal(err)
	}
	for _, host := range []string{consoleHost, "MPKF.Weixin.QQ.com", consoleHost + ":443", "mpkf.weixin.qq.com.", "Mpkf.weixin.qq.com.:8443"} {
		got, err := l.Get(host)
		if err != nil {
			t.Fatalf("Get(%q): %v", host, err)
		}
		if got != first {
			t.Errorf("Get(%q) returned another leaf, want the cached one", host)
		}
	}
	if got := l.Minted(); got != 1 {
		t.Errorf("Minted() = %d, want 1", got)
	}
}

func TestLeavesConcurrentMintOnce(t *testing.T) {
	l := NewLeaves(newTestCA(t), LeafOptions{})
	const n = 50
	var (
		wg    sync.WaitGroup
		start = make(chan struct{})
		got   = make([]*tls.Certificate, n)
		errs  = make([]error, n)
	)
	for i := range n {
		wg.Go(func() {
			<-start
			got[i], errs[i] = l.Get(consoleHost)
		})
	}
	close(start)
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("Get #%d: %v", i, errs[i])
		}
		if got[i] != got[0] {
			t.Errorf("Get #%d returned another leaf than Get #0", i)
		}
	}
	if m := l.Minted(); m != 1 {
		t.Errorf("Minted() after %d concurrent Gets = %d, want 1", n, m)
	}
}

func TestLeavesRenewal(t *testing.T) {
	clk := newClock(t0)
	life := 9 * 24 * time.Hour
	l := NewLeaves(newTestCA(t), LeafOptions{Lifetime: life, Now: clk.Now})
	first, err := l.Get(consoleHost)
	if err != nil {
		t.Fatal(err)
	}
	start := first.Leaf.NotBefore

	steps := []struct {
		name       string
		at         time.Time
		wantMinted int64
		wantNew    bool
	}{
		{name: "just before two thirds", at: start.Add(life*2/3 - time.Minute), wantMinted: 1},
		{name: "just past two thirds", at: start.Add(life*2/3 + time.Minute), wantMinted: 2, wantNew: true},
		{name: "renewed leaf reused", at: start.Add(life*2/3 + time.Hour), wantMinted: 2},
		{name: "long expired", at: start.Add(10 * life), wantMinted: 3, wantNew: true},
	}
	prev := first
	for _, s := range steps {
		clk.Set(s.at)
		got, err := l.Get(consoleHost)
		if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if isNew := got != prev; isNew != s.wantNew {
			t.Errorf("%s: new leaf = %v, want %v", s.name, isNew, s.wantNew)
		}
		if m := l.Minted(); m != s.wantMinted {
			t.Errorf("%s: Minted() = %d, want %d", s.name, m, s.wantMinted)
		}
		if !got.Leaf.NotBefore.Before(s.at) || !got.Leaf.NotAfter.After(s.at) {
			t.Errorf("%s: leaf valid %v to %v, not at %v", s.name, got.Leaf.NotBefore, got.Leaf.NotAfter, s.at)
		}
		prev = got
	}
}

func TestLeavesRefuse(t *testing.T) {
	ca, err := New(Options{Hosts: []string{consoleHost, "kf.example.com"}, Now: func() time.Time { return t0 }})
	if err != nil {
		t.Fatal(err)
	}
	l := NewLeaves(ca, LeafOptions{Now: func() time.Time { return t0 }})
	for _, host := range []string{
		"",
		"example.com",
		"weixin.qq.com",
		"a." + consoleHost, // allowed by the constraint, but not a configured host
		"127.0.0.1",
		"127.0.0.1:443",
		"::1",
		"[::1]:443",
	} {
		if _, err := l.Get(host); !errors.Is(err, ErrHostNotPermitted) {
			t.Errorf("Get(%q): error %v, want ErrHostNotPermitted", host, err)
		}
	}
	if _, err := l.Get("KF.example.com:443"); err != nil {
		t.Errorf("Get of the second configured host: %v", err)
	}
	if m := l.Minted(); m != 1 {
		t.Errorf("Minted() = %d, want 1 (nothing minted for refused hosts)", m)
	}
}

func TestGetCertificate(t *testing.T) {
	l := NewLeaves(newTestCA(t), LeafOptions{Now: func() time.Time { return t0 }})
	if _, err := l.GetCertificate(&tls.ClientHelloInfo{}); !errors.Is(err, ErrNoSNI) {
		t.Errorf("GetCertificate without SNI: error %v, want ErrNoSNI", err)
	}
	byName, err := l.GetCertificate(&tls.ClientHelloInfo{ServerName: "MPKF.weixin.qq.com"})
	if err != nil {
		t.Fatal(err)
	}
	byGet, err := l.Get(consoleHost)
	if err != nil {
		t.Fatal(err)
	}
	if byName != byGet {
		t.Errorf("GetCertificate and Get returned different leaves for one host")
	}
}

func BenchmarkLeavesGetCached(b *testing.B) {
	l := NewLeaves(newTestCA(b), LeafOptions{})
	if _, err := l.Get(consoleHost); err != nil {
		b.Fatal(err)
	}
	const hostport = consoleHost + ":443"
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := l.Get(hostport); err != nil {
				b.Error(err)
				return
			}
		}
	})
	if m := l.Minted(); m != 1 {
		b.Errorf("Minted() = %d, want 1", m)
	}
}

func BenchmarkMintLeaf(b *testing.B) {
	l := NewLeaves(newTestCA(b), LeafOptions{})
	b.ReportAllocs()
	for b.Loop() {
		if _, err := l.mint(consoleHost); err != nil {
			b.Fatal(err)
		}
	}
}
