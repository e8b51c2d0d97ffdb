package main

import "runtime"

// The Go proxies (kfsidebar and bare goproxy, both this binary as a serve
// child) report their runtime's allocation and GC counters with their
// stats, so that a run can say what each request cost in garbage: bytes
// and objects allocated, and collections.

// memStats are the counters a serve child reports (see serveStats).
func memStats() (allocBytes, mallocs uint64, gcs uint32) {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.TotalAlloc, m.Mallocs, m.NumGC
}

// memDelta is what the runtime counted over a measured window.
type memDelta struct {
	OK                 bool
	Bytes, Objects, GC int64
}

// memBetween subtracts two stats readings (JSON numbers); not OK when the
// proxy does not report them.
func memBetween(before, after map[string]any) memDelta {
	get := func(m map[string]any, k string) (int64, bool) {
		v, ok := m[k].(float64)
		return int64(v), ok
	}
	var d memDelta
	var oks [6]bool
	var b [3]int64
	var a [3]int64
	for i, k := range []string{"alloc_bytes", "mallocs", "gcs"} {
		b[i], oks[2*i] = get(before, k)
		a[i], oks[2*i+1] = get(after, k)
	}
	for _, ok := range oks {
		if !ok {
			return d
		}
	}
	return memDelta{OK: true, Bytes: a[0] - b[0], Objects: a[1] - b[1], GC: a[2] - b[2]}
}

// perRequest is n per request, 0 without requests.
func (memDelta) perRequest(n, requests int64) float64 {
	if requests <= 0 {
		return 0
	}
	return float64(n) / float64(requests)
}
