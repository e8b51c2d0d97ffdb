package shop

import (
	"time"
)

// Health states, for the sidebar and the status page.
const (
	// HealthOK: the last call to the backend succeeded.
	HealthOK = "ok"
	// HealthDegraded: the last calls failed, fewer than FailureThreshold
	// of them; the backend is still called.
	HealthDegraded = "degraded"
	// HealthOpen: the backend failed FailureThreshold times in a row and
	// is not called until RetryAt (then once, as a trial).
	HealthOpen = "open"
)

// Health is how the order backend is doing, as far as the cache has seen.
// LastError never holds an openid, id or search query, so the status page
// can show it.
type Health struct {
	// State is HealthOK, HealthDegraded or HealthOpen.
	State string
	// LastError and LastErrorAt describe the most recent failure, kept
	// after the backend recovers ("" and zero when it never failed).
	LastError   string
	LastErrorAt time.Time
	// RetryAt is when an open circuit lets the next trial call through;
	// zero unless State is HealthOpen.
	RetryAt time.Time
}

// HealthReporter is implemented by backends that know when they are in
// trouble (see Cache): the sidebar then says the shop is degraded, or
// unavailable until a retry time, instead of a bare error.
type HealthReporter interface {
	Health() Health
}
