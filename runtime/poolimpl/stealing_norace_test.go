//go:build !race

package poolimpl

// stealRace is set when the tests run under the race detector, which
// slows the stress tests down tenfold: they run fewer rounds.
const stealRace = false
