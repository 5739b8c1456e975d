//go:build race

package conformance_test

// tortureOps is the torture's size per pattern under the race detector,
// which makes it about ten times slower: the small size, while the
// non-race run (the 32-bit step of CI) takes the full one.
const tortureOps = tortureSmall
