package conformance

import (
	"syscall"
	"testing"
	"time"
	"unsafe"
)

// threadCPUs returns the CPUs the calling thread may run on.
func threadCPUs(t *testing.T) []int {
	var mask [16]uint64
	_, _, errno := syscall.RawSyscall(syscall.SYS_SCHED_GETAFFINITY, 0, unsafe.Sizeof(mask), uintptr(unsafe.Pointer(&mask[0])))
	if errno != 0 {
		t.Fatalf("sched_getaffinity: %v", errno)
	}
	var cpus []int
	for i, w := range mask {
		for b := range 64 {
			if w&(1<<b) != 0 {
				cpus = append(cpus, i*64+b)
			}
		}
	}
	return cpus
}

func gettid() int { return syscall.Gettid() }

// burnCPU spins until the calling thread has used d more CPU time.
func burnCPU(t *testing.T, d time.Duration) {
	start := threadCPUTime(t)
	for threadCPUTime(t)-start < d {
	}
}

// threadCPUTime reads the calling thread's CPU clock.
func threadCPUTime(t *testing.T) time.Duration {
	const clockThreadCPUTime = 3 // CLOCK_THREAD_CPUTIME_ID
	var ts syscall.Timespec
	if _, _, errno := syscall.Syscall(syscall.SYS_CLOCK_GETTIME, clockThreadCPUTime, uintptr(unsafe.Pointer(&ts)), 0); errno != 0 {
		t.Fatalf("clock_gettime: %v", errno)
	}
	return time.Duration(ts.Nano())
}
