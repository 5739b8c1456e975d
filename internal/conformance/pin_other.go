//go:build !linux

package conformance

import (
	"testing"
	"time"
)

// threadCPUs is Linux's; testPinWorkers does not call it elsewhere.
func threadCPUs(t *testing.T) []int {
	t.Fatal("threadCPUs needs Linux")
	return nil
}

func gettid() int { return 0 }

func burnCPU(t *testing.T, d time.Duration) { t.Fatal("burnCPU needs Linux") }
