package config

import "time"

// Clock reads a pool's monotonic clock as nanoseconds since the pool's
// creation, plus one so that zero can mean "not timed". It uses time.Since,
// so tests under testing/synctest see fake time.
type Clock struct{ epoch time.Time }

// Time returns the time of stamp, a reading of c.
func (c *Clock) Time(stamp int64) time.Time { return c.epoch.Add(time.Duration(stamp - 1)) }

// NewClock returns a clock whose epoch is now.
func NewClock() Clock { return Clock{epoch: time.Now()} }

// Now returns the time since the epoch in nanoseconds, plus one.
func (c *Clock) Now() int64 { return int64(time.Since(c.epoch)) + 1 }

// Since returns the time from stamp (a value of Now) to now.
func (c *Clock) Since(stamp int64) time.Duration { return time.Duration(c.Now() - stamp) }

// Uptime returns the time since the epoch.
func (c *Clock) Uptime() time.Duration { return time.Since(c.epoch) }
