//go:build !race

package main

// raceEnabled tells the test to build the service with the race detector
// too.
const raceEnabled = false
