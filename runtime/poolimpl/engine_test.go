package poolimpl

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	poolrt "github.com/poolgen/poolgen/runtime"
	"github.com/poolgen/poolgen/runtime/internal/config"
	"github.com/stretchr/testify/require"
)

// TestEngineBatchBudget: a worker of the fixed and dynamic pools takes as
// many tasks at once as poolrt.BatchBudget holds by the sampled run
// times: one until a task has been timed, one while they take longer than
// the budget (a batch would hide them from other workers until they
// start), ten of a microsecond, maxBatch tiny ones, and maxBatch when
// nothing is timed (latency metrics off).
func TestEngineBatchBudget(t *testing.T) {
	cases := []struct {
		name    string
		metrics bool
		runs    []time.Duration // sampled run times recorded before the take
		want    int
	}{
		{"untimed", true, nil, 1},
		{"long", true, []time.Duration{20 * time.Microsecond}, 1},
		{"1µs", true, []time.Duration{time.Microsecond}, 10},
		{"tiny", true, []time.Duration{50 * time.Nanosecond}, maxBatch},
		{"metrics off", false, nil, maxBatch},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			set, err := config.Resolve(config.Dynamic, []poolrt.Option{
				poolrt.WorkerLimits(0, 1), poolrt.QueueSize(4 * maxBatch), poolrt.Metrics(c.metrics)})
			if err != nil {
				t.Fatal(err)
			}
			e := new(engine[dynCount])
			require.NoError(t, e.init(set, config.Fixed, 1, 0, testLane[dynCount]())) // no worker goroutine: the test takes as one
			t.Cleanup(func() { e.shutdownNow() })
			for _, d := range c.runs {
				e.runs.Record(d)
			}
			var ran atomic.Int64
			for range 2 * maxBatch {
				dynPush(t, e, &ran)
			}
			w := &Worker[dynCount]{e: e, id: 0, meter: e.meter.Worker(0)}
			if !e.refill(w) {
				t.Fatal("refill found no work")
			}
			if w.n != c.want {
				t.Errorf("took %d tasks at once, want %d", w.n, c.want)
			}
			e.q.release(w.from, w.n)
		})
	}
}

// TestEngineYieldLeavesNextTaskTakeable: a worker that gives way at the
// end of its slice does so before it claims its batch's next task, so
// that an idle worker takes the task over meanwhile. Claimed first, the
// task would be out of reach and still counted as waiting: the idle
// worker's refill loops without yielding for as long as the other waits
// for its P.
func TestEngineYieldLeavesNextTaskTakeable(t *testing.T) {
	set, err := config.Resolve(config.Fixed, []poolrt.Option{poolrt.Workers(2), poolrt.QueueSize(16)})
	require.NoError(t, err)
	set.Shards = 1 // both tasks in the busy worker's home shard
	e := new(engine[dynCount])
	require.NoError(t, e.init(set, config.Fixed, 2, 0, testLane[dynCount]())) // the test takes as both workers
	t.Cleanup(func() { e.shutdownNow() })
	var ran atomic.Int64
	dynPush(t, e, &ran)
	dynPush(t, e, &ran)
	e.runs.Record(time.Nanosecond) // tiny tasks: the two come in one batch
	busy := &Worker[dynCount]{e: e, id: 0, meter: e.meter.Worker(0)}
	idle := &Worker[dynCount]{e: e, id: 1, meter: e.meter.Worker(1)}
	e.workers[0], e.workers[1] = busy, idle
	e.slots.Store(2)
	require.True(t, e.refill(busy))
	require.Equal(t, 2, busy.n, "both tasks in one batch")
	first := busy.First()
	require.NotNil(t, first)
	_ = first.Run(context.Background())

	// The slice is over: Next gives way before the second task. While
	// it does, the idle worker looks for work.
	busy.slice.end, busy.slice.left = 1, 1
	var took int
	saved := gosched
	gosched = func() {
		took, _, _ = e.takeHeld(idle)
	}
	t.Cleanup(func() { gosched = saved })
	next := busy.Next(nil)
	require.Equal(t, 1, took, "the idle worker took over the yielding worker's next task")
	require.Nil(t, next, "the yielding worker found its next task taken over")
	e.q.release(idle.from, took)
}

// TestEngineIdleParksBehindClaimedTask: an idle worker whose only work
// in sight is a task another worker has claimed and not yet started
// looks, yielding between looks, and parks while the task is still
// claimed: it could not take the task, and looking for it again and
// again kept its thread on a CPU the claiming worker's thread may be
// waiting for.
func TestEngineIdleParksBehindClaimedTask(t *testing.T) {
	set, err := config.Resolve(config.Fixed, []poolrt.Option{poolrt.Workers(2), poolrt.QueueSize(16)})
	require.NoError(t, err)
	set.Shards = 1
	e := new(engine[dynCount])
	require.NoError(t, e.init(set, config.Fixed, 2, 0, testLane[dynCount]())) // the test takes as both workers
	var ran atomic.Int64
	dynPush(t, e, &ran)
	busy := &Worker[dynCount]{e: e, id: 0, meter: e.meter.Worker(0)}
	idle := &Worker[dynCount]{e: e, id: 1, meter: e.meter.Worker(1)}
	e.workers[0], e.workers[1] = busy, idle
	e.slots.Store(2)
	e.target.Store(2)
	require.True(t, e.refill(busy))
	require.NotNil(t, busy.next(), "claimed, not yet started")
	require.True(t, e.waiting(), "the claimed task counts as waiting")
	require.False(t, e.takeable(), "a claimed task is takeable")

	yielded := make(chan struct{}, 1)
	saved := gosched
	gosched = func() {
		select {
		case yielded <- struct{}{}:
		default:
		}
		runtime.Gosched()
	}
	done := make(chan bool)
	go func() { done <- e.refill(idle) }()
	t.Cleanup(func() {
		e.stop(Stopped) // ends the idle worker's refill
		<-done
		gosched = saved
		e.shutdownNow()
	})
	select {
	case <-yielded:
	case <-time.After(5 * time.Second):
		t.Fatal("the idle worker looked for 5s without yielding")
	}
	dynEventually(t, "idle worker parked while the task was claimed", func() bool { return e.sleep.Parked() == 1 })
	e.q.release(busy.from, 1)
}

// TestEngineIdleWaitsForTaker: a worker whose look saw a task queued in
// a shard that another worker is taking from (its lock held, as by a
// worker stopped in the middle of a take) waits for that lock rather
// than look again and again, and takes the task once the lock is free.
func TestEngineIdleWaitsForTaker(t *testing.T) {
	set, err := config.Resolve(config.Fixed, []poolrt.Option{poolrt.Workers(2), poolrt.QueueSize(16)})
	require.NoError(t, err)
	set.Shards = 2
	e := new(engine[dynCount])
	require.NoError(t, e.init(set, config.Fixed, 2, 0, testLane[dynCount]()))
	var ran atomic.Int64
	require.Equal(t, pushed, e.q.shards[0].push(dynCount{&ran}, nil, &e.q.sampler, false, 0))
	idle := &Worker[dynCount]{e: e, id: 1, home: 1, meter: e.meter.Worker(1)}
	e.workers[1] = idle
	e.slots.Store(2)
	e.target.Store(2)
	victim := &e.q.shards[0]
	victim.out.Lock()

	var yields atomic.Int64
	saved := gosched
	gosched = func() {
		yields.Add(1)
		runtime.Gosched()
	}
	done := make(chan bool)
	go func() { done <- e.refill(idle) }()
	t.Cleanup(func() {
		gosched = saved
		e.shutdownNow()
	})
	// Time enough for a worker that looks again and again to have
	// yielded thousands of times.
	time.Sleep(20 * time.Millisecond)
	victim.out.Unlock()
	require.True(t, <-done, "the worker goes on")
	require.Equal(t, 1, idle.n, "the worker took the task")
	if n := yields.Load(); n > 2*IdleLooks {
		t.Errorf("the worker yielded %d times while the shard's lock was held, want at most %d", n, 2*IdleLooks)
	}
}

// newHandEngine returns a fixed engine of one worker that samples every
// task's latency, with its worker parked, in a synctest bubble.
func newHandEngine[T runner](t *testing.T) *engine[T] {
	t.Helper()
	set, err := config.Resolve(config.Fixed, []poolrt.Option{poolrt.Workers(1), poolrt.QueueSize(16), poolrt.LatencySampling(1)})
	require.NoError(t, err)
	e := new(engine[T])
	require.NoError(t, e.init(set, config.Fixed, 1, 1, testLane[T]()))
	synctest.Wait()
	require.Equal(t, 1, e.sleep.Parked(), "the worker parked")
	return e
}

// TestEngineHandsTaskToParkedWorker: a task submitted while a worker is
// parked goes to that worker directly, never through a queue shard, and
// the pool's metrics count it as any other: submitted, completed, its
// wait sampled.
func TestEngineHandsTaskToParkedWorker(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newHandEngine[dynCount](t)
		var ran atomic.Int64
		require.NoError(t, e.submit(context.Background(), dynCount{&ran}))
		synctest.Wait()
		require.Equal(t, int64(1), ran.Load())
		require.Zero(t, e.meter.Shards[0].Submitted.Load(), "the task passed through the shard")
		require.NoError(t, e.trySubmit(dynCount{&ran}))
		synctest.Wait()
		require.Equal(t, int64(2), ran.Load())
		require.Zero(t, e.meter.Shards[0].Submitted.Load(), "the task passed through the shard")

		require.NoError(t, e.shutdown(context.Background()))
		st := e.stats()
		require.Equal(t, uint64(2), st.Submitted)
		require.Equal(t, uint64(2), st.Completed)
		require.Zero(t, st.QueueDepth)
		require.Equal(t, uint64(2), st.Wait.Count, "both waits sampled")
	})
}

// TestEngineHandedTaskOutlivesStop: a task handed to a parked worker
// that has not run yet when the pool stops is not lost: Shutdown runs
// it, ShutdownNow returns it.
func TestEngineHandedTaskOutlivesStop(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1)) // the worker runs only when the test blocks
	for _, now := range []bool{false, true} {
		synctest.Test(t, func(t *testing.T) {
			e := newHandEngine[dynCount](t)
			var ran atomic.Int64
			require.True(t, e.handTo(dynCount{&ran}))
			var back []dynCount
			if now {
				back = e.shutdownNow()
			} else {
				require.NoError(t, e.shutdown(context.Background()))
			}
			require.Equal(t, map[bool]int64{false: 1, true: 0}[now], ran.Load(), "ran, ShutdownNow: %t", now)
			require.Len(t, back, map[bool]int{false: 0, true: 1}[now], "returned, ShutdownNow: %t", now)
			require.Equal(t, uint64(1), e.stats().Submitted)
		})
	}
}

// TestEngineHandedWorkerFindsQueuedTask: a worker that ran a task handed
// to it goes back to idle without taking from the queue first; a task
// queued while it ran, with no worker parked to wake, is found by idle's
// look after registering and runs.
func TestEngineHandedWorkerFindsQueuedTask(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newHandEngine[blockTask](t)
		release := make(chan struct{})
		var done sync.WaitGroup
		done.Add(2)
		require.NoError(t, e.submit(context.Background(), blockTask{release: release, done: &done}))
		synctest.Wait() // the worker runs the handed task and blocks in it
		require.Zero(t, e.sleep.Parked())
		require.NoError(t, e.submit(context.Background(), blockTask{done: &done}))
		require.Equal(t, 1, e.q.len(), "with no worker parked the second task is queued")
		close(release)
		done.Wait()
		synctest.Wait()
		require.Equal(t, 1, e.sleep.Parked(), "the worker parked after the queued task")
		require.NoError(t, e.shutdown(context.Background()))
		require.Equal(t, uint64(2), e.stats().Completed)
	})
}
