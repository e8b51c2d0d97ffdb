package main

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
)

// TestMain lets the test binary be the gateway child, as the real binary
// is: measure re-executes os.Executable() with "serve".
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == "serve" {
		if err := run(context.Background(), os.Args[1:]); err != nil {
			os.Stderr.WriteString(err.Error() + "\n")
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestSmoke runs every scenario briefly: the harness works end to end and
// every push reaches the target.
func TestSmoke(t *testing.T) {
	var out bytes.Buffer
	err := bench(context.Background(), []string{"-gateways", "kfsidebar", "-duration", "300ms", "-warmup", "100ms", "-rate", "100", "-conns", "2"}, &out)
	if err != nil {
		t.Fatal(err)
	}
	t.Log(out.String())
	for _, mode := range []string{"| kfsidebar | plain |", "| kfsidebar | safe |"} {
		i := strings.Index(out.String(), mode)
		if i < 0 {
			t.Fatalf("no row %q", mode)
		}
		row := strings.Split(out.String()[i:], "\n")[0]
		cells := strings.Split(row, "|")
		if errs := strings.TrimSpace(cells[8]); errs != "0" {
			t.Errorf("%s: %s errors", mode, errs)
		}
		// "delivered / accepted (drained in …)"
		if d := strings.Fields(cells[10]); len(d) < 3 || d[1] != "/" || d[0] != d[2] {
			t.Errorf("%s: delivered / accepted %q", mode, cells[10])
		}
	}
}
