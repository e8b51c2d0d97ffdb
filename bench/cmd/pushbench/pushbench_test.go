package main

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
	"time"
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
	err := bench(context.Background(), []string{"-gateways", "kfsidebar,kfsidebar-nostore,floor,floor-tcp", "-duration", "300ms", "-warmup", "100ms", "-rate", "100", "-conns", "2"}, &out)
	if err != nil {
		t.Fatal(err)
	}
	t.Log(out.String())
	if strings.Contains(out.String(), "| floor | safe |") {
		t.Error("a floor ran in safe mode")
	}
	for _, mode := range []string{"| floor | plain |", "| floor-tcp | plain |"} {
		if !strings.Contains(out.String(), mode) {
			t.Errorf("no row %q", mode)
		}
	}
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

// TestRatios: each of kfsidebar's rows and the floors' against each
// other gateway measured in the same mode, and nothing else.
func TestRatios(t *testing.T) {
	rs := []result{
		{gateway: "kfsidebar", mode: "plain", throughput: 5000, cpuPerPush: 200 * time.Microsecond},
		{gateway: "kfsidebar", mode: "safe", throughput: 4000, cpuPerPush: 250 * time.Microsecond},
		{gateway: "silenceper", mode: "plain", throughput: 10000, cpuPerPush: 100 * time.Microsecond},
		{gateway: "floor-tcp", mode: "plain", throughput: 20000, cpuPerPush: 25 * time.Microsecond},
	}
	var out bytes.Buffer
	ratios(&out, rs)
	want := "\nRatios (issue 12's target: 5× both others):\n\n" +
		"- kfsidebar, plain mode: throughput 0.50× silenceper's here; silenceper's CPU per push is 0.50× this one's\n" +
		"- floor-tcp, plain mode: throughput 2.00× silenceper's here; silenceper's CPU per push is 4.00× this one's\n"
	if out.String() != want {
		t.Errorf("got\n%s\nwant\n%s", out.String(), want)
	}
}
