package sidebar

import (
	"sync"

	"github.com/gorilla/websocket"
)

// outbox is one tab's outgoing messages, waiting for its writer.
//
// Putting a message in never blocks and never fails for a tab that reads:
// the hub's shared goroutines (the re-resolution after every change of the
// session map, the quick replies) and the tab's own ones answer while they
// hold locks, so a tab that stops reading must never make any of them
// wait. What bounds the queue instead:
//
//   - the tab's read loop takes its next request only while fewer than
//     limit messages wait (waitRoom): a page that asks faster than it reads
//     waits in its own socket, and nothing it asked for is lost;
//   - the quick replies take one slot however often they change: only the
//     latest is worth sending;
//   - a writer that stalls (the page stopped reading) is dropped at its
//     write deadline, and with it the queue.
//
// What the read loop lets through plus the answers already under way (one
// selection job, the reveals queued, the running searches) stay far below
// hardCap; a queue past it is a bug, and the tab is dropped rather than
// the process growing.
type outbox struct {
	limit, hardCap int

	mu      sync.Mutex
	queue   [][]byte
	replies []byte // the latest quick replies not yet written
	closing []byte // the close frame to end with, once set nothing more is queued
	ready   chan struct{}
	room    chan struct{}
}

func newOutbox(limit int) *outbox {
	return &outbox{
		limit:   limit,
		hardCap: 4*limit + 64,
		ready:   make(chan struct{}, 1),
		room:    make(chan struct{}, 1),
	}
}

// signal wakes whoever waits on ch, or leaves a wake-up for the next wait.
func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// put queues a message. It reports false when the queue is past hardCap:
// the caller drops the tab.
func (o *outbox) put(data []byte) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closing != nil {
		return true // ending: the close frame is the last thing written
	}
	if len(o.queue) >= o.hardCap {
		return false
	}
	o.queue = append(o.queue, data)
	signal(o.ready)
	return true
}

// putReplies replaces the quick replies waiting to be written.
func (o *outbox) putReplies(data []byte) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closing != nil {
		return
	}
	o.replies = data
	signal(o.ready)
}

// closeWith ends the outbox with a close frame, written after the
// messages already queued.
func (o *outbox) closeWith(code int, reason string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closing == nil {
		o.closing = websocket.FormatCloseMessage(code, reason)
		signal(o.ready)
	}
}

// next takes the next frame to write: the quick replies first, then the
// queue in order, then the close frame. ok is false when nothing waits.
func (o *outbox) next() (kind int, data []byte, ok bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	switch {
	case o.replies != nil:
		data, o.replies = o.replies, nil
		return websocket.TextMessage, data, true
	case len(o.queue) > 0:
		data = o.queue[0]
		o.queue[0] = nil
		o.queue = o.queue[1:]
		if len(o.queue) == 0 {
			o.queue = nil // let a burst's backing array go
		}
		if len(o.queue) < o.limit {
			signal(o.room)
		}
		return websocket.TextMessage, data, true
	case o.closing != nil:
		return websocket.CloseMessage, o.closing, true
	}
	return 0, nil, false
}

// full reports whether the read loop should wait before reading more.
func (o *outbox) full() bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.queue) >= o.limit
}
