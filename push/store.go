package push

import (
	"context"
	"time"
)

// Store is what must survive a restart and be shared by every gateway
// instance behind one URL: the replies already given (dedupe), the outbox
// and the short-lived workstation feed. Package push/store implements it on
// SQLite and on PostgreSQL.
type Store interface {
	// Accept records a new push in one transaction (which may record
	// other pushes too: a store may commit several at once, and must
	// return only once this one is committed): its reply under its
	// dedupe key, one outbox row per target and the feed item. If the key
	// is already there it records nothing and returns the reply stored
	// with it and dup = true. Two instances accepting the same key at once
	// get the same reply; only one records.
	Accept(ctx context.Context, a *Accepted) (reply Reply, dup bool, err error)

	// Claim leases up to limit due outbox rows of target: their attempt
	// count goes up by one and they are not due again before leaseUntil,
	// so a claimer that dies mid-delivery only delays them. Rows claimed by
	// another instance are skipped, never waited for.
	Claim(ctx context.Context, target string, now, leaseUntil time.Time, limit int) ([]Delivery, error)
	// Delivered removes delivered rows.
	Delivered(ctx context.Context, ids ...int64) error
	// Retry makes a row due again at next, remembering why it failed.
	Retry(ctx context.Context, id int64, next time.Time, lastErr string) error
	// Bury moves a row to the dead letters.
	Bury(ctx context.Context, id int64, lastErr string) error
	// DeadLetters lists up to limit dead rows of target ("" for all),
	// oldest first.
	DeadLetters(ctx context.Context, target string, limit int) ([]Delivery, error)
	// Replay makes dead rows due again at now with a fresh attempt count:
	// the ids given, or every dead row of target when ids is empty
	// (target "" means every target). It returns how many it revived.
	Replay(ctx context.Context, target string, ids []int64, now time.Time) (int, error)
	// Depth counts pending and dead rows per target.
	Depth(ctx context.Context) (map[string]Depth, error)

	// FeedAfter returns up to limit feed items with an id above after,
	// created at or after since, in id order.
	FeedAfter(ctx context.Context, after int64, since time.Time, limit int) ([]FeedItem, error)

	// Prune forgets dedupe keys recorded before seenBefore and feed items
	// created before feedBefore.
	Prune(ctx context.Context, seenBefore, feedBefore time.Time) error
}

// Accepted is one new push as the gateway records it.
type Accepted struct {
	// Key is the dedupe key (hex SHA-256 of the push's identity).
	Key string
	// Reply is what WeChat is answered, now and on every duplicate.
	Reply Reply
	// Targets are the names of the targets that want this push.
	Targets []string
	// Payload is the signed JSON each target receives.
	Payload []byte
	// Feed is the workstation feed's item; nil when the push has none.
	Feed []byte
	// At is when it was received.
	At time.Time
}

// Reply is an HTTP answer to WeChat, stored so a duplicate gets it again
// byte for byte.
type Reply struct {
	// ContentType is the reply's Content-Type header.
	ContentType string
	// Body is the reply byte for byte ("success", or a transfer in the
	// request's format, encrypted in safe mode).
	Body []byte
}

// Delivery is one outbox row: one push for one target.
type Delivery struct {
	// ID is the row's id, for Replay.
	ID int64
	// Target is the target's name.
	Target string
	// Payload is the signed JSON body (a Payload).
	Payload []byte
	// Attempts counts deliveries tried, this one included when claimed.
	Attempts int
	// LastError says why the last attempt failed.
	LastError string
	// Created is when the push was accepted.
	Created time.Time
	// Dead is set on dead letters.
	Dead bool
}

// Depth is the outbox of one target.
type Depth struct {
	// Pending rows wait for a delivery (or are being delivered).
	Pending int
	// Dead rows gave up; Replay revives them.
	Dead int
}

// FeedItem is one entry of the workstation feed (JSON, see feeditem.go).
type FeedItem struct {
	// ID orders the feed.
	ID int64
	// Created is when the push was accepted.
	Created time.Time
	// Data is a FeedEvent as JSON.
	Data []byte
}
