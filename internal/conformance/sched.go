package conformance

import (
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/poolgen/poolgen/internal/probe"
	poolrt "github.com/poolgen/poolgen/runtime"
	"github.com/poolgen/poolgen/runtime/poolimpl"
)

// testGivesWay: a worker running tasks back to back gives its P to a
// goroutine queued behind it there (poolimpl.Slice). With one P, the first
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
	if limit := 2*int(poolimpl.SliceLen/task) + 4; ended > limit {
		t.Fatalf("the goroutine queued behind the worker ran after %d of %d tasks had ended, want at most %d (one slice of %v)", ended, n, limit, poolimpl.SliceLen)
	}
}

// testGivesWayStream: as GivesWay, but the worker is fed one task at a
// time: each task submits the next before it spins, so the worker finds
// its next task as soon as it looks and never waits. Its slice must still
// end (a work-stealing worker once restarted it whenever its deque was
// empty, and never gave its P away to a stream of submitted tasks).
func testGivesWayStream[T any](t *testing.T, s *suite[T]) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	const n = 100
	const task = 50 * time.Microsecond
	ctl := probe.New(n)
	p := s.start(t, 1, poolrt.QueueSize(n))
	seen := make(chan int, 1)
	errs := make(chan error, n)
	for id := range n {
		ctl.SetFunc(id, func(context.Context) error {
			if id == 0 {
				go func() { seen <- ctl.Ended() }()
			}
			if id+1 < n {
				if err := p.TrySubmit(s.Task(ctl, id+1)); err != nil {
					errs <- err
				}
			}
			for start := time.Now(); time.Since(start) < task; {
			}
			return nil
		})
	}
	require.NoError(t, p.Submit(context.Background(), s.Task(ctl, 0)))
	ended := <-seen
	require.Eventually(t, func() bool { return ctl.Ended() == n }, 20*time.Second, time.Millisecond, "the stream stopped")
	require.NoError(t, p.Shutdown(context.Background()))
	close(errs)
	for err := range errs {
		t.Errorf("a task's TrySubmit: %v", err)
	}
	if limit := 2*int(poolimpl.SliceLen/task) + 4; ended > limit {
		t.Fatalf("the goroutine queued behind the worker ran after %d of %d tasks had ended, want at most %d (one slice of %v)", ended, n, limit, poolimpl.SliceLen)
	}
}
