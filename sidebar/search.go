package sidebar

import (
	"context"
	"errors"
	"strings"
)

// searchLimit is how many customers a search offers: enough to spot the
// right one, few enough to read at a glance.
const searchLimit = 10

// maxQueryRunes bounds a search query; nobody types more to find a
// customer.
const maxQueryRunes = 64

// search starts answering a search request in a goroutine of its own. A
// newer search cancels the running one: the page searches as the agent
// types. It runs on the read loop, which waits for a slot while
// maxSearches cancelled searches are still returning.
func (c *client) search(req request) {
	q := strings.TrimSpace(req.Query)
	if r := []rune(q); len(r) > maxQueryRunes {
		q = string(r[:maxQueryRunes])
	}
	c.mu.Lock()
	v := &c.conv
	if v.searchCancel != nil {
		v.searchCancel()
		v.searchCancel = nil
	}
	c.mu.Unlock()
	// A slot first: searches cancelled a moment ago may still be
	// returning, and a tab never has more than maxSearches.
	select {
	case c.searches <- struct{}{}:
	case <-c.quit:
		return
	}
	c.mu.Lock()
	v.searchGen++
	gen := v.searchGen
	ctx, cancel := context.WithTimeout(c.ctx, c.hub.lookupTimeout)
	v.searchCancel = cancel
	c.mu.Unlock()
	c.hub.wg.Add(1) // the read loop is counted, so Close is not waiting yet
	go func() {
		defer c.hub.wg.Done()
		defer func() { <-c.searches }()
		defer cancel()
		list, err := c.hub.backend.Search(ctx, q, searchLimit)
		if errors.Is(ctx.Err(), context.Canceled) {
			return // superseded or closing
		}
		msg := message{Type: typeResults, Seq: req.Seq, Query: q, Customers: []searchHit{}}
		found := map[string]bool{}
		switch {
		case err != nil && (ctx.Err() != nil || errors.Is(err, context.DeadlineExceeded)):
			c.hub.log.Warn("customer search timed out", "timeout", c.hub.lookupTimeout)
			msg = message{Type: typeError, Seq: req.Seq, Message: msgSearchTimeout}
		case err != nil:
			c.hub.log.Warn("customer search failed")
			c.hub.log.Debug("customer search failed", "query", q, "err", err)
			msg = message{Type: typeError, Seq: req.Seq, Message: msgSearchFailed}
		default:
			for _, cu := range list {
				id := cu.ID
				if id == "" {
					id = cu.OpenID
				}
				if id == "" || found[id] {
					continue
				}
				found[id] = true
				msg.Customers = append(msg.Customers, searchHit{ID: id, OpenID: cu.OpenID, Name: cu.Name,
					Phone: maskPhone(cu.Phone), Level: cu.Level})
			}
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		if gen != c.conv.searchGen {
			return
		}
		if msg.Type == typeResults {
			c.conv.found = found
		}
		c.enqueue(msg)
	}()
}
