// Package certseal is the shared vocabulary of the certseal service: organisations, users and
// roles, area codes, the unified social credit code (USCC), the error type with its stable codes,
// and the clock. Every other package imports it; it imports nothing of the project.
//
// certseal keeps the books of pre-printed blank licence forms (空白证照), collects the county
// bureaus' yearly demand for them, issues sealed and signed e-certificates, and binds licence
// types to the government service catalogue.
package certseal

import (
	"sync"
	"time"
)

// Clock tells the time. Services take a Clock so that tests can fix it; a transaction reads it
// once and uses that instant throughout.
type Clock interface {
	Now() time.Time
}

// SystemClock is the real clock.
type SystemClock struct{}

// Now returns the current time.
func (SystemClock) Now() time.Time { return time.Now() }

// FixedClock is a clock for tests: it returns T, advanced by Step after every call when Step is
// set. It is safe for concurrent use.
type FixedClock struct {
	mu   sync.Mutex
	T    time.Time
	Step time.Duration
}

// Now returns the clock's time and advances it by Step.
func (c *FixedClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := c.T
	c.T = c.T.Add(c.Step)
	return t
}

// Set moves the clock to t.
func (c *FixedClock) Set(t time.Time) {
	c.mu.Lock()
	c.T = t
	c.mu.Unlock()
}

// China is the time zone certificates are dated in (UTC+8, no daylight saving time).
var China = time.FixedZone("CST", 8*3600)
