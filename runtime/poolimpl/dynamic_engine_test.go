package poolimpl

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	poolrt "github.com/poolgen/poolgen/runtime"
	"github.com/poolgen/poolgen/runtime/internal/config"
	"github.com/stretchr/testify/require"
)

// These tests drive the engine directly into the moments where a resizing
// pool could strand a task: a worker retiring while a task arrives, two
// retiring at once, a resize racing a retirement, intake closing on a pool
// without workers. A dynamic pool's controller would rescue most of them
// at its next interval, which would hide the engine's mistake, so here
// there is no controller.

// dynCount is a task that counts its runs.
type dynCount struct{ ran *atomic.Int64 }

func (c dynCount) Run(context.Context) error {
	c.ran.Add(1)
	return nil
}

// newDynEngine returns an engine for up to slots workers, with workers of
// them started, and stops it when the test ends.
func newDynEngine(t *testing.T, slots, workers int) *engine[dynCount] {
	t.Helper()
	set, err := config.Resolve(config.Dynamic, []poolrt.Option{poolrt.WorkerLimits(0, slots), poolrt.QueueSize(16)})
	if err != nil {
		t.Fatal(err)
	}
	e := new(engine[dynCount])
	e.acts = NewActivities(slots)
	require.NoError(t, e.init(set, config.Dynamic, slots, workers, testLane[dynCount]()))
	t.Cleanup(func() { e.shutdownNow() })
	return e
}

// dynNoLeak checks, once the test and its cleanups are done, that it left no
// goroutine behind.
func dynNoLeak(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, ignore) })
}

// dynEventually fails the test unless cond holds within a few seconds.
func dynEventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 5s", what)
		}
		time.Sleep(100 * time.Microsecond)
	}
}

// dynSettle gives goroutines that are about to block on e.mu the time to get
// there. If one is slow, the test passes without testing its race.
func dynSettle() { time.Sleep(20 * time.Millisecond) }

// dynPush queues a task without waking or starting any worker, as a
// submitter does just before it looks at the size.
func dynPush(t *testing.T, e *engine[dynCount], ran *atomic.Int64) {
	t.Helper()
	if r := e.q.push(dynCount{ran}); r != pushed {
		t.Fatalf("push: %v", r)
	}
}

// TestDynamicEngineLastWorkerDrains: a worker told to retire (size 0) while a
// task waits that no one was woken for runs the task before it leaves.
func TestDynamicEngineLastWorkerDrains(t *testing.T) {
	dynNoLeak(t)
	var ran atomic.Int64
	e := newDynEngine(t, 2, 1)
	dynEventually(t, "the worker parks", func() bool { return e.sleep.Parked() == 1 })
	dynPush(t, e, &ran)
	e.resize(0)
	dynEventually(t, "the waiting task runs", func() bool { return ran.Load() == 1 })
	dynEventually(t, "the worker retires once the queue is empty", func() bool { return e.live() == 0 })
}

// TestDynamicEngineConcurrentRetirement: two workers retiring at once, each
// seeing the other alive, and a task arriving meanwhile: the last to leave
// stays for it.
func TestDynamicEngineConcurrentRetirement(t *testing.T) {
	dynNoLeak(t)
	var ran atomic.Int64
	e := newDynEngine(t, 2, 2)
	dynEventually(t, "both workers park", func() bool { return e.sleep.Parked() == 2 })
	e.mu.Lock() // hold both retiring workers in workerExit
	e.target.Store(0)
	e.sleep.WakeID(0)
	e.sleep.WakeID(1)
	dynSettle()
	dynPush(t, e, &ran)
	e.mu.Unlock()
	dynEventually(t, "the waiting task runs", func() bool { return ran.Load() == 1 })
	dynEventually(t, "the workers retire", func() bool { return e.live() == 0 })
}

// TestDynamicEngineResizeDuringRetirement: a worker has decided to retire, and a
// resize that brings its slot back sees it still alive, so starts no one:
// the worker stays.
func TestDynamicEngineResizeDuringRetirement(t *testing.T) {
	dynNoLeak(t)
	var ran atomic.Int64
	e := newDynEngine(t, 2, 1)
	dynEventually(t, "the worker parks", func() bool { return e.sleep.Parked() == 1 })
	e.mu.Lock()
	e.target.Store(0)
	e.sleep.WakeID(0)
	dynSettle() // the worker decides to retire and waits for e.mu in workerExit
	e.resizeLocked(1)
	e.mu.Unlock()
	dynSettle()
	if e.live() != 1 {
		t.Fatalf("%d workers alive at size 1", e.live())
	}
	if err := e.submit(context.Background(), dynCount{&ran}); err != nil {
		t.Fatal(err)
	}
	dynEventually(t, "a task submitted after the resize runs", func() bool { return ran.Load() == 1 })
}

// TestDynamicEngineRetiringWorkerPassesWake: a submitter wakes the most recently
// parked worker, which turns out to be retiring (the pool shrank between
// its parking and the wake-up): it leaves, and the wake-up goes to a
// worker that stays.
func TestDynamicEngineRetiringWorkerPassesWake(t *testing.T) {
	dynNoLeak(t)
	var ran atomic.Int64
	e := newDynEngine(t, 2, 1)
	dynEventually(t, "the first worker parks", func() bool { return e.sleep.Parked() == 1 })
	e.resize(2)
	dynEventually(t, "the second worker parks, last", func() bool { return e.sleep.Parked() == 2 })
	e.target.Store(1) // the second worker's slot retires; it has not been woken yet
	dynPush(t, e, &ran)
	e.sleep.Wake() // as the submitter does: wakes the second worker
	dynEventually(t, "the task runs", func() bool { return ran.Load() == 1 })
	dynEventually(t, "the second worker retires", func() bool { return e.live() == 1 })
}

// TestDynamicEngineDrainWithoutWorkers: intake closes (Shutdown) on a pool of
// size 0 holding a task whose submitter has not started a worker yet: the
// shutdown starts one, runs the task, and only then reports the pool
// exited.
func TestDynamicEngineDrainWithoutWorkers(t *testing.T) {
	dynNoLeak(t)
	var ran atomic.Int64
	e := newDynEngine(t, 2, 0)
	dynPush(t, e, &ran)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := e.shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if ran.Load() != 1 {
		t.Fatalf("Shutdown returned with the accepted task run %d times", ran.Load())
	}
	if e.live() != 0 {
		t.Fatalf("%d workers alive after Shutdown", e.live())
	}
}
