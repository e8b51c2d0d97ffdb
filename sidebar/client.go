package sidebar

import (
	"context"
	"encoding/json"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// client is one connected sidebar (one browser tab).
type client struct {
	hub  *Hub
	conn *websocket.Conn
	send chan []byte   // encoded messages; never closed, the writer stops on quit
	quit chan struct{} // closed once by close
	kick chan struct{} // buffered 1: wakes a resolution waiting for evidence
	ctx  context.Context
	stop context.CancelFunc // cancels ctx: the running lookup, if any

	closeOnce sync.Once

	mu   sync.Mutex
	conv conversation // guarded by mu; see conversation.go
}

func newClient(h *Hub, conn *websocket.Conn) *client {
	ctx, stop := context.WithCancel(h.ctx)
	return &client{
		hub:  h,
		conn: conn,
		send: make(chan []byte, h.sendBuffer),
		quit: make(chan struct{}),
		kick: make(chan struct{}, 1),
		ctx:  ctx,
		stop: stop,
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

// readLoop decodes requests until the connection fails. A message that is
// not a JSON text frame is a protocol violation and ends the connection.
func (c *client) readLoop() {
	defer c.hub.wg.Done()
	reason := "closed by peer"
	defer func() { c.close(reason) }()
	c.conn.SetReadLimit(maxMessageSize)
	alive := func() error { return c.conn.SetReadDeadline(time.Now().Add(c.hub.pongWait)) }
	if err := alive(); err != nil {
		return
	}
	c.conn.SetPongHandler(func(string) error { return alive() })
	for {
		kind, data, err := c.conn.ReadMessage()
		if err != nil {
			c.hub.log.Debug("websocket read", "err", err)
			return
		}
		if err := alive(); err != nil {
			return
		}
		if kind != websocket.TextMessage {
			reason = "binary frame"
			return
		}
		var req request
		if err := json.Unmarshal(data, &req); err != nil {
			reason = "malformed request"
			return
		}
		c.handle(req)
	}
}

// writeLoop sends queued messages and pings until the client is closed.
func (c *client) writeLoop() {
	defer c.hub.wg.Done()
	ping := time.NewTicker(c.hub.pingPeriod)
	defer ping.Stop()
	for {
		var err error
		select {
		case <-c.quit:
			return
		case data := <-c.send:
			err = c.write(websocket.TextMessage, data)
		case <-ping.C:
			err = c.write(websocket.PingMessage, nil)
		}
		if err != nil {
			c.hub.log.Debug("websocket write", "err", err)
			c.close("write failed")
			return
		}
	}
}

func (c *client) write(kind int, data []byte) error {
	if err := c.conn.SetWriteDeadline(time.Now().Add(c.hub.writeWait)); err != nil {
		return err
	}
	return c.conn.WriteMessage(kind, data)
}
