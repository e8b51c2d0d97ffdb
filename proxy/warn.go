package proxy

import (
	"log/slog"
	"sync"
	"time"
)

// The kinds of trouble the proxy reports through warnings, one log line per
// kind per warnPeriod at most. The keys are constant; the lines carry no
// host names and no customer data.
const (
	warnAccept      = "accept"      // the listener failed to accept, for any reason but a shortage of descriptors
	warnDescriptors = "descriptors" // the process ran out of descriptors (EMFILE, ENFILE)
	warnTunnel      = "tunnel"      // a blind tunnel was refused at the cap
)

// warnPeriod is how often one kind of trouble may log: a machine out of
// descriptors fails thousands of times a second, and a log line per failure
// would fill the disk and hide everything else.
const warnPeriod = time.Minute

// warnings logs trouble at WARN, rate-limited per kind: the first time at
// once, with count=1; then at most one line per period, with how many times
// it happened since the last line. A kind that stays quiet for a whole
// period starts over. Nothing is lost: stop logs what is still counted.
type warnings struct {
	log    *slog.Logger
	period time.Duration

	mu      sync.Mutex
	kinds   map[string]*warnKind
	stopped bool
}

// warnKind is one kind's window.
type warnKind struct {
	msg   string
	args  []any // of the latest occurrence
	count int   // occurrences since the last line
	timer *time.Timer
}

func newWarnings(log *slog.Logger, period time.Duration) *warnings {
	return &warnings{log: log, period: period, kinds: map[string]*warnKind{}}
}

// warn notes one occurrence of kind. msg and args (slog key-value pairs)
// describe it; the line logged at the end of a window has the latest
// occurrence's.
func (w *warnings) warn(kind, msg string, args ...any) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.stopped {
		return
	}
	k := w.kinds[kind]
	if k != nil {
		k.msg, k.args = msg, args
		k.count++
		return
	}
	k = &warnKind{msg: msg, args: args}
	w.kinds[kind] = k
	w.emit(kind, msg, 1, args)
	k.timer = time.AfterFunc(w.period, func() { w.tick(kind) })
}

// tick ends kind's window: it logs what happened in it, and opens the next
// window if anything did.
func (w *warnings) tick(kind string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	k := w.kinds[kind]
	if w.stopped || k == nil {
		return
	}
	if k.count == 0 {
		delete(w.kinds, kind)
		return
	}
	w.emit(kind, k.msg, k.count, k.args)
	k.count = 0
	k.timer.Reset(w.period)
}

// stop logs the occurrences still counted and stops the timers; warn does
// nothing afterwards.
func (w *warnings) stop() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.stopped {
		return
	}
	w.stopped = true
	for kind, k := range w.kinds {
		k.timer.Stop()
		if k.count > 0 {
			w.emit(kind, k.msg, k.count, k.args)
		}
	}
	clear(w.kinds)
}

func (w *warnings) emit(kind, msg string, count int, args []any) {
	all := make([]any, 0, 6+len(args))
	all = append(all, "kind", kind, "count", count, "period", w.period)
	w.log.Warn(msg, append(all, args...)...)
}
