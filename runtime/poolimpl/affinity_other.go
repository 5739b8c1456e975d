//go:build !linux

package poolimpl

import "errors"

// errNoAffinity: pinning is Linux's (poolrt.PinWorkers refuses it
// elsewhere before a pool reaches here).
var errNoAffinity = errors.New("pinning workers to CPUs needs Linux (sched_setaffinity)")

func pinTargets() ([]int, int, error) { return nil, 0, errNoAffinity }

func setAffinity(int) error { return errNoAffinity }

func gettid() int { return 0 }

func threadCPU(int) (int64, bool) { return 0, false }
