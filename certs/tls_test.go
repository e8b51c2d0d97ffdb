package certs

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"slices"
	"testing"
	"time"
)

// handshake runs one real TLS handshake over loopback TCP between a server
// using srvConf and a client using cliConf. It returns the client's view of
// the connection and both sides' errors.
func handshake(t *testing.T, srvConf, cliConf *tls.Config) (tls.ConnectionState, error, error) {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", srvConf)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()

	srvErr := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			srvErr <- err
			return
		}
		defer c.Close()
		srvErr <- c.(*tls.Conn).HandshakeContext(ctx)
	}()

	d := tls.Dialer{Config: cliConf}
	var state tls.ConnectionState
	c, cliErr := d.DialContext(ctx, "tcp", ln.Addr().String())
	if cliErr == nil {
		state = c.(*tls.Conn).ConnectionState()
		c.Close()
	}
	return state, cliErr, <-srvErr
}

func TestTLSHandshake(t *testing.T) {
	// Wall-clock CA and leaves: the client verifies with time.Now.
	ca, err := New(Options{Hosts: []string{consoleHost}})
	if err != nil {
		t.Fatal(err)
	}
	l := NewLeaves(ca, LeafOptions{})

	t.Run("console host", func(t *testing.T) {
		state, cliErr, srvErr := handshake(t, l.ServerTLSConfig(), &tls.Config{
			RootCAs:    ca.Pool(),
			ServerName: consoleHost,
			NextProtos: []string{"h2", "http/1.1"},
		})
		if cliErr != nil || srvErr != nil {
			t.Fatalf("handshake: client error %v, server error %v", cliErr, srvErr)
		}
		if got, want := state.NegotiatedProtocol, "http/1.1"; got != want {
			t.Errorf("NegotiatedProtocol = %q, want %q", got, want)
		}
		if got := len(state.PeerCertificates); got != 2 || !state.PeerCertificates[1].Equal(ca.Cert) {
			t.Errorf("server presented %d certificates, want [leaf, CA] (the SPKI pin needs the CA in the chain)", got)
		}
		if got := state.PeerCertificates[0].DNSNames; !slices.Equal(got, []string{consoleHost}) {
			t.Errorf("leaf DNSNames = %q, want [%q]", got, consoleHost)
		}
	})

	t.Run("other host refused by the server", func(t *testing.T) {
		_, cliErr, srvErr := handshake(t, l.ServerTLSConfig(), &tls.Config{
			RootCAs:    ca.Pool(),
			ServerName: "example.com",
		})
		if cliErr == nil {
			t.Errorf("client handshake for example.com succeeded, want failure")
		}
		if !errors.Is(srvErr, ErrHostNotPermitted) {
			t.Errorf("server error %v, want ErrHostNotPermitted", srvErr)
		}
	})

	t.Run("other host refused by the client", func(t *testing.T) {
		// A server that shows the console leaf whatever the SNI: the client
		// must still reject it for another name.
		leaf, err := l.Get(consoleHost)
		if err != nil {
			t.Fatal(err)
		}
		_, cliErr, _ := handshake(t, &tls.Config{Certificates: []tls.Certificate{*leaf}}, &tls.Config{
			RootCAs:    ca.Pool(),
			ServerName: "example.com",
		})
		var hostErr x509.HostnameError
		if !errors.As(cliErr, &hostErr) {
			t.Errorf("client error %v, want x509.HostnameError", cliErr)
		}
	})

	t.Run("untrusted CA", func(t *testing.T) {
		other, err := New(Options{Hosts: []string{consoleHost}})
		if err != nil {
			t.Fatal(err)
		}
		_, cliErr, _ := handshake(t, l.ServerTLSConfig(), &tls.Config{
			RootCAs:    other.Pool(),
			ServerName: consoleHost,
		})
		var unknown x509.UnknownAuthorityError
		if !errors.As(cliErr, &unknown) {
			t.Errorf("client error %v, want x509.UnknownAuthorityError", cliErr)
		}
	})

	t.Run("TLS 1.1 refused", func(t *testing.T) {
		_, cliErr, srvErr := handshake(t, l.ServerTLSConfig(), &tls.Config{
			RootCAs:    ca.Pool(),
			ServerName: consoleHost,
			MinVersion: tls.VersionTLS10,
			MaxVersion: tls.VersionTLS11,
		})
		if cliErr == nil || srvErr == nil {
			t.Errorf("TLS 1.1 handshake: client error %v, server error %v, want both to fail", cliErr, srvErr)
		}
	})

	if got := l.Minted(); got != 1 {
		t.Errorf("Minted() after all handshakes = %d, want 1", got)
	}
}

// TestServerTLSConfig pins the fields the proxy relies on.
func TestServerTLSConfig(t *testing.T) {
	conf := NewLeaves(newTestCA(t), LeafOptions{}).ServerTLSConfig()
	if conf.GetCertificate == nil {
		t.Error("GetCertificate is nil")
	}
	if got, want := conf.MinVersion, uint16(tls.VersionTLS12); got != want {
		t.Errorf("MinVersion = %#x, want %#x", got, want)
	}
	if got, want := conf.NextProtos, []string{"http/1.1"}; !slices.Equal(got, want) {
		t.Errorf("NextProtos = %q, want %q", got, want)
	}
}
