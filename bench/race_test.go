//go:build race

package bench

// raceEnabled reports whether the race detector is on: allocation counts
// mean nothing under it.
const raceEnabled = true
