package proxy

import (
	"math/bits"
	"sync"
)

// The console path reuses its big buffers from one response to the next:
// allocating them per response made kfsidebar collect garbage ten to
// twenty times as often as a bare goproxy (docs/benchmarks.md).

// copyBufferSize is the buffer ReverseProxy copies a response body
// through, the size it allocates when it has no BufferPool.
const copyBufferSize = 32 << 10

// copyBuffers is ReverseProxy's BufferPool.
type copyBuffers struct{ pool sync.Pool }

func (p *copyBuffers) Get() []byte {
	if b, ok := p.pool.Get().(*[copyBufferSize]byte); ok {
		return b[:]
	}
	return new([copyBufferSize]byte)[:]
}

func (p *copyBuffers) Put(b []byte) {
	if len(b) == copyBufferSize {
		p.pool.Put((*[copyBufferSize]byte)(b))
	}
}

// Body buffers (the copy of a response kept for the scan, and the body
// decoded from it) come in power-of-two size classes from minBodyClass to
// maxBodyClass bytes. Larger bodies get a buffer of their own, which the
// GC takes back: a pool holding megabytes for a rare response would cost
// more memory than the allocation costs time.
const (
	minBodyShift = 12 // 4 KB
	maxBodyShift = 20 // 1 MB
)

var bodyBuffers [maxBodyShift - minBodyShift + 1]sync.Pool // of *[]byte

// bodyClass returns the index of the smallest class that holds n bytes,
// or -1 when n is larger than every class.
func bodyClass(n int) int {
	if n <= 1<<minBodyShift {
		return 0
	}
	k := bits.Len(uint(n-1)) - minBodyShift
	if k >= len(bodyBuffers) {
		return -1
	}
	return k
}

// getBody returns an empty buffer with room for at least n bytes. Give it
// back with putBody once nothing refers to its bytes.
func getBody(n int) *[]byte {
	k := bodyClass(n)
	if k < 0 {
		b := make([]byte, 0, n)
		return &b
	}
	if p, ok := bodyBuffers[k].Get().(*[]byte); ok {
		*p = (*p)[:0]
		return p
	}
	b := make([]byte, 0, 1<<(minBodyShift+k))
	return &b
}

// putBody gives a buffer from getBody back; one of no class is left to
// the GC.
func putBody(p *[]byte) {
	if p == nil {
		return
	}
	c := cap(*p)
	if k := bodyClass(c); k >= 0 && c == 1<<(minBodyShift+k) {
		bodyBuffers[k].Put(p)
	}
}

// growBody makes room in *p for at least need bytes in all, keeping its
// contents: the old buffer goes back to the pool.
func growBody(p *[]byte, need int) {
	np := getBody(need)
	grown := append(*np, *p...)
	*np = *p // np carries the old buffer back
	putBody(np)
	*p = grown
}
