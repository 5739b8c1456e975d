package poolimpl

import _ "unsafe" // for go:linkname

// cheaprand is the runtime's per-M wyrand generator: a couple of
// nanoseconds, no shared state. math/rand/v2's Uint32N costs ~10 ns on the
// submit path, a third of a tiny task's budget. The runtime keeps this
// symbol linkable on purpose (see the "hall of shame" note on it).
//
//go:linkname cheaprand runtime.cheaprand
func cheaprand() uint32

// Rand returns a cheap pseudo-random number, not for cryptography or
// statistics: pools use it to spread submissions over queue shards and to
// pick steal victims.
func Rand() uint32 { return cheaprand() }

// RandN returns a pseudo-random number in [0, n); n must be > 0.
func RandN(n int) int {
	// Lemire's multiply-shift: uniform enough for load spreading, no division.
	return int(uint64(cheaprand()) * uint64(n) >> 32)
}
