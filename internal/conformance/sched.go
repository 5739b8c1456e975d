package conformance

import (
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/poolgen/poolgen/internal/probe"
	poolrt "github.com/poolgen/poolgen/runtime"
)

// testGivesWay: a worker running tasks back to back gives its P to a
// goroutine queued behind it there (poolrt.Slice). With one P, the first
// task starts a goroutine, which goes into the P's queue behind the
// worker; 100 tasks of 50 µs follow. The goroutine must run within a few
// slices, long before the worker runs out of tasks: without giving way, it
// would run only then, or at the scheduler's preemption (10 ms, more than
// the 5 ms of work).
func testGivesWay[T any](t *testing.T, s *suite[T]) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	const n = 101
	const task = 50 * time.Microsecond
	ctl := probe.New(n)
	seen := make(chan int, 1)
	ctl.SetFunc(0, func(context.Context) error {
		go func() { seen <- ctl.Ended() }()
		return nil
	})
	for id := 1; id < n; id++ {
		ctl.SetFunc(id, func(context.Context) error {
			for start := time.Now(); time.Since(start) < task; {
			}
			return nil
		})
	}
	p := s.start(t, 1, poolrt.QueueSize(n))
	for id := range n {
		require.NoError(t, p.Submit(context.Background(), s.Task(ctl, id)))
	}
	ended := <-seen
	require.NoError(t, p.Shutdown(context.Background()))
	// SliceLen is 2 tasks; allow for a slice started before the first
	// task and for a clock that moves in coarse steps.
	if limit := 2*int(poolrt.SliceLen/task) + 4; ended > limit {
		t.Fatalf("the goroutine queued behind the worker ran after %d of %d tasks had ended, want at most %d (one slice of %v)", ended, n, limit, poolrt.SliceLen)
	}
}
