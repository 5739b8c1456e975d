package pooljs

import "time"

// Delay exposes the backoff of a Source built from cfg to the tests.
func Delay(b Backoff, n uint64) time.Duration {
	s := &Source[struct{}]{backoff: b}
	return s.delay(n)
}
