//go:build !race

package conformance_test

// tortureOps is the torture's size per pattern without the race detector.
const tortureOps = 1_000_000
