package sidebar

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// client is one connected sidebar (one browser tab).
type client struct {
	hub  *Hub
	conn *websocket.Conn
	out  *outbox       // encoded messages for the writer; see outbox.go
	quit chan struct{} // closed once by close
	kick chan struct{} // buffered 1: wakes a resolution waiting for evidence
	ctx  context.Context
	stop context.CancelFunc // cancels ctx: the running lookup, if any

	// searches holds a slot for each search goroutine: a newer search
	// cancels the one before, and a tab never has more than cap running
	// (see search.go).
	searches chan struct{}
	// reveals are the reveals waiting to be recorded, in order, by one
	// goroutine started with the first; gate is the read loop's limit
	// on how often the tab may reveal (see reveal.go).
	reveals     chan revealJob
	revealsOnce sync.Once
	gate        revealGate // used by the read loop only

	closeOnce sync.Once

	mu   sync.Mutex
	conv conversation // guarded by mu; see conversation.go
}

// Per-tab bounds beside the outbox.
const (
	maxSearches     = 4 // running searches, the latest and those being cancelled
	maxQueuedReveal = 4 // reveals waiting for the one before to be recorded; more are refused
	// closeGrace is how long the hub reads what a page still sends after
	// the hub's close frame (the rest of an oversized message, the page's
	// own close frame) before it closes the socket: closing with unread
	// data would reset the connection and could lose the close frame.
	closeGrace = time.Second
)

func newClient(h *Hub, conn *websocket.Conn) *client {
	ctx, stop := context.WithCancel(h.ctx)
	return &client{
		hub:      h,
		conn:     conn,
		out:      newOutbox(h.sendBuffer),
		quit:     make(chan struct{}),
		kick:     make(chan struct{}, 1),
		ctx:      ctx,
		stop:     stop,
		searches: make(chan struct{}, maxSearches),
		reveals:  make(chan revealJob, maxQueuedReveal),
	}
}

// close disconnects the client; safe from any goroutine, any number of
// times. Closing the connection unblocks both the reader and a writer
// stuck on a peer that stopped reading.
func (c *client) close(reason string) {
	c.closeOnce.Do(func() {
		close(c.quit)
		c.stop()
		c.conn.Close()
		c.hub.remove(c, reason)
	})
}

// violation is a message the hub will not take: the connection ends with
// a close frame that says why.
type violation struct {
	code   int
	reason string
}

// readLoop decodes requests until the connection fails or the page sends
// what the protocol does not allow (see read); then it closes with a
// close frame that says why, after the answers already queued.
func (c *client) readLoop() {
	defer c.hub.wg.Done()
	reason := "closed by peer"
	defer func() { c.close(reason) }()
	alive := func() error { return c.conn.SetReadDeadline(time.Now().Add(c.hub.pongWait)) }
	if err := alive(); err != nil {
		return
	}
	c.conn.SetPongHandler(func(string) error { return alive() })
	for {
		// Backpressure: a page that asks faster than it reads waits in
		// its socket, and no answer is lost.
		for c.out.full() {
			select {
			case <-c.out.room:
			case <-c.quit:
				return
			}
		}
		req, v, err := c.read()
		switch {
		case err != nil:
			c.hub.log.Debug("websocket read", "err", err)
			return
		case v != nil:
			reason = v.reason
			c.hub.log.Info("sidebar sent a bad message", "reason", v.reason)
			c.drain(v)
			return
		}
		if err := alive(); err != nil {
			return
		}
		c.handle(req)
	}
}

// read reads the next request: a JSON object in a text frame of at most
// maxMessageSize bytes. Anything else is a violation.
func (c *client) read() (request, *violation, error) {
	var req request
	kind, r, err := c.conn.NextReader()
	if err != nil {
		return req, nil, err
	}
	if kind != websocket.TextMessage {
		return req, &violation{websocket.CloseUnsupportedData, "binary message: the sidebar protocol is JSON text"}, nil
	}
	// The limit is enforced here rather than by SetReadLimit, which
	// closes with no reason and leaves the rest unread.
	data, err := io.ReadAll(io.LimitReader(r, maxMessageSize+1))
	if err != nil {
		return req, nil, err
	}
	if len(data) > maxMessageSize {
		return req, &violation{websocket.CloseMessageTooBig, fmt.Sprintf("message too large: at most %d bytes", maxMessageSize)}, nil
	}
	if err := json.Unmarshal(data, &req); err != nil {
		return req, &violation{websocket.ClosePolicyViolation, "malformed request: want a JSON object of the sidebar protocol"}, nil
	}
	return req, nil, nil
}

// drain has the writer send what is queued and then a close frame for v,
// and meanwhile reads and discards what the page still sends (the rest of
// an oversized message), until the page answers the close frame, or
// closeGrace after it, when the writer shortens the read deadline.
func (c *client) drain(v *violation) {
	c.conn.SetPongHandler(nil) // a pong must not put the deadline off
	if err := c.conn.SetReadDeadline(time.Now().Add(c.hub.writeWait + closeGrace)); err != nil {
		return
	}
	c.out.closeWith(v.code, v.reason)
	for {
		if _, _, err := c.conn.NextReader(); err != nil {
			return
		}
	}
}

// writeLoop sends queued messages and pings until the client is closed.
// A write that does not finish within writeWait drops the tab: the page
// stopped reading.
func (c *client) writeLoop() {
	defer c.hub.wg.Done()
	ping := time.NewTicker(c.hub.pingPeriod)
	defer ping.Stop()
	for {
		var err error
		select {
		case <-c.quit:
			return
		case <-c.out.ready:
			var done bool
			if done, err = c.flush(); done && err == nil {
				return // the close frame is sent; the read loop closes
			}
		case <-ping.C:
			err = c.write(websocket.PingMessage, nil)
		}
		if err != nil {
			c.hub.log.Debug("websocket write", "err", err)
			reason := "write failed"
			if ne, ok := errors.AsType[net.Error](err); ok && ne.Timeout() {
				reason = "write stalled past the deadline"
			}
			c.close(reason)
			return
		}
	}
}

// flush writes what the outbox holds. done says the close frame was sent.
func (c *client) flush() (done bool, err error) {
	for {
		select {
		case <-c.quit:
			return true, nil
		default:
		}
		kind, data, ok := c.out.next()
		if !ok {
			return false, nil
		}
		if kind == websocket.CloseMessage {
			err := c.conn.WriteControl(websocket.CloseMessage, data, time.Now().Add(c.hub.writeWait))
			// The read loop drains until the page answers, at most closeGrace.
			c.conn.SetReadDeadline(time.Now().Add(closeGrace))
			return true, err
		}
		if err := c.write(kind, data); err != nil {
			return false, err
		}
	}
}

func (c *client) write(kind int, data []byte) error {
	if err := c.conn.SetWriteDeadline(time.Now().Add(c.hub.writeWait)); err != nil {
		return err
	}
	return c.conn.WriteMessage(kind, data)
}
