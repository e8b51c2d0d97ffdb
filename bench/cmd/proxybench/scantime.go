//go:build linux

package main

import (
	"github.com/kfsidebar/kfsidebar/proxy/scan"

	"runtime"
	"syscall"
	"time"

	"github.com/kfsidebar/kfsidebar/proxy"
	"github.com/kfsidebar/kfsidebar/proxy/console"
)

// scanTimes is how long kfsidebar's own code takes on the 1 MB accept
// response, measured in the harness process: medians of many rounds, in
// wall time and in CPU time of the measuring thread (which other programs
// on a busy machine do not inflate).
type scanTimes struct {
	Decode, Scan       time.Duration // wall
	DecodeCPU, ScanCPU time.Duration // thread CPU
	Records            int
}

func measureScan(up *upstream) scanTimes {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	b := up.bodies["1mb"]
	var dec, scanned, decCPU, scanCPU []time.Duration
	var recs int
	for range 30 {
		t0, c0 := time.Now(), threadCPU()
		doc, err := proxy.Decode("gzip", b.gzipped, 8<<20)
		t1, c1 := time.Now(), threadCPU()
		if err != nil {
			return scanTimes{}
		}
		rs, err := scan.JSON(doc, console.SourceAuto, t1)
		t2, c2 := time.Now(), threadCPU()
		if err != nil {
			return scanTimes{}
		}
		recs = len(rs)
		dec, scanned = append(dec, t1.Sub(t0)), append(scanned, t2.Sub(t1))
		decCPU, scanCPU = append(decCPU, c1-c0), append(scanCPU, c2-c1)
	}
	return scanTimes{Decode: median(dec), Scan: median(scanned), DecodeCPU: median(decCPU), ScanCPU: median(scanCPU), Records: recs}
}

// threadCPU is the CPU time the calling OS thread has used.
func threadCPU() time.Duration {
	const rusageThread = 1 // RUSAGE_THREAD, Linux
	var ru syscall.Rusage
	if err := syscall.Getrusage(rusageThread, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// leafCount reads how many leaves a serve child minted (nil when the proxy
// does not say).
func leafCount(s sample) (int64, bool) {
	if n, ok := s.Stats["minted"].(float64); ok {
		return int64(n), true
	}
	return 0, false
}
