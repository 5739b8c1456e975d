package conformance

import (
	"context"
	"fmt"
	"runtime"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/poolgen/poolgen/internal/probe"
	poolrt "github.com/poolgen/poolgen/runtime"
)

// testFIFO: with one worker, tasks start in the order they were submitted
// (skipped for pools that reorder).
func testFIFO[T any](t *testing.T, s *suite[T]) {
	if s.Reorders {
		t.Skip("the pool reorders tasks")
	}
	bubble(t, func(t *testing.T) {
		const n = 50
		ctl := probe.New(n)
		p := s.start(t, 1, poolrt.QueueSize(64))
		release := ctl.Hold(0)
		s.occupy(t, p, ctl, 0)
		for id := 1; id < n; id++ {
			require.NoError(t, p.Submit(context.Background(), s.Task(ctl, id)))
		}
		release()
		require.NoError(t, p.Shutdown(context.Background()))
		assert.Equal(t, span(0, n), ctl.Order(), "start order")
	})
}

// testQueueCapacity: with every worker busy the queue takes exactly
// QueueSize tasks, for sizes smaller and larger than the worker count.
func testQueueCapacity[T any](t *testing.T, s *suite[T]) {
	for _, c := range []struct{ workers, size int }{{1, 1}, {4, 1}, {3, 5}, {2, 7}, {2, 64}} {
		t.Run(fmt.Sprintf("Workers=%d,QueueSize=%d", c.workers, c.size), func(t *testing.T) {
			bubble(t, func(t *testing.T) {
				ctl := probe.New(c.workers + c.size + 1)
				p := s.start(t, c.workers, poolrt.QueueSize(c.size))
				s.block(t, p, ctl, span(0, c.workers)...)
				queued := s.fill(t, p, ctl, c.workers)
				assert.Len(t, queued, c.size, "tasks queued behind busy workers")
				st := p.Stats()
				assert.Equal(t, c.size, st.QueueCap, "QueueCap")
				assert.Equal(t, len(queued), st.QueueDepth, "QueueDepth")
				ctl.Release()
				require.NoError(t, p.Shutdown(context.Background()))
				assertRuns(t, ctl, 1, span(0, c.workers+len(queued))...)
				assertSettled(t, p.Stats())
			})
		})
	}
}

// testQueueBound: QueueSize bounds every accepted task that has not
// started, including tasks a worker has taken from the queue but not yet
// run, and only those: with one worker running the first task of what it
// took, the pool accepts exactly as many more as make QueueSize tasks
// wait, and QueueDepth says how many wait.
func testQueueBound[T any](t *testing.T, s *suite[T]) {
	bubble(t, func(t *testing.T) {
		const size = 4
		ctl := probe.New(2*size + 4)
		p := s.start(t, 1, poolrt.QueueSize(size))
		release := ctl.Hold(0)
		s.occupy(t, p, ctl, 0)
		first := s.fill(t, p, ctl, 1) // 1..size
		require.Len(t, first, size)
		ctl.Set(1, probe.Block)
		release()
		require.Equal(t, 1, awaitStarted(t, ctl), "the task that started")
		synctest.Wait()

		more := s.fill(t, p, ctl, size+2) // size+1 was fill's refused try
		accepted := 1 + len(first) + len(more)
		waiting := accepted - ctl.Total()
		assert.LessOrEqual(t, waiting, size, "more than QueueSize accepted tasks wait to start (%d accepted after the worker took its batch)", len(more))
		assert.GreaterOrEqual(t, waiting, size, "TrySubmit reported a full queue with room left (%d accepted after the worker took its batch)", len(more))
		assert.Equal(t, waiting, p.Stats().QueueDepth, "QueueDepth counts the accepted tasks not started")

		ctl.Release()
		require.NoError(t, p.Shutdown(context.Background()))
		assertRuns(t, ctl, 1, append(append([]int{0}, first...), more...)...)
		assertSettled(t, p.Stats())
	})
}

// testStatsGauges: Workers, Busy, Idle, QueueDepth and QueueCap follow the
// pool's state, and Busy + Idle = Workers.
func testStatsGauges[T any](t *testing.T, s *suite[T]) {
	bubble(t, func(t *testing.T) {
		const workers, size, queued = 3, 32, 5
		ctl := probe.New(workers + queued)
		p := s.start(t, workers, poolrt.QueueSize(size))
		check := func(what string, busy, depth int, submitted, completed uint64) {
			t.Helper()
			synctest.Wait()
			st := p.Stats()
			assert.Equal(t, workers, st.Workers, "%s: Workers", what)
			assert.Equal(t, busy, st.Busy, "%s: Busy", what)
			assert.Equal(t, workers-busy, st.Idle, "%s: Idle", what)
			assert.Equal(t, size, st.QueueCap, "%s: QueueCap", what)
			assert.Equal(t, depth, st.QueueDepth, "%s: QueueDepth", what)
			assert.Equal(t, submitted, st.Submitted, "%s: Submitted", what)
			assert.Equal(t, completed, st.Completed, "%s: Completed", what)
		}
		check("new pool", 0, 0, 0, 0)
		s.block(t, p, ctl, 0, 1)
		check("two workers blocked", 2, 0, 2, 0)
		s.block(t, p, ctl, 2)
		check("every worker blocked", 3, 0, 3, 0)
		for id := workers; id < workers+queued; id++ {
			require.NoError(t, p.Submit(context.Background(), s.Task(ctl, id)))
		}
		check("tasks queued", 3, queued, workers+queued, 0)
		ctl.Release()
		check("released", 0, 0, workers+queued, workers+queued)
		require.NoError(t, p.Shutdown(context.Background()))
		assertSettled(t, p.Stats())
	})
}

// testLatency: with every task timed, the run-time and queue-wait
// histograms match the known durations of the tasks (to the histogram's
// resolution), percentiles are ordered, and utilization is busy time over
// uptime.
func testLatency[T any](t *testing.T, s *suite[T]) {
	bubble(t, func(t *testing.T) {
		const n = 100
		ms := time.Millisecond
		ctl := probe.New(n)
		for id := range n {
			d := time.Duration(id+1) * ms
			ctl.SetFunc(id, func(context.Context) error { time.Sleep(d); return nil })
		}
		p := s.start(t, 1, poolrt.QueueSize(128), poolrt.LatencySampling(1))
		for id := range n {
			require.NoError(t, p.Submit(context.Background(), s.Task(ctl, id)))
		}
		time.Sleep(10 * time.Second) // the tasks take 5.05 s in all
		synctest.Wait()
		require.Equal(t, n, ctl.Ended(), "tasks done")

		st := p.Stats()
		assert.InDelta(t, 5.05/10, st.Utilization, 1e-9, "Utilization: 5.05 s busy in 10 s")
		assert.Equal(t, 10*time.Second, st.Uptime, "Uptime")

		run := st.Run
		assert.Equal(t, uint64(n), run.Count, "Run.Count")
		assert.Equal(t, 100*ms, run.Max, "Run.Max")
		assert.Equal(t, 50*ms+ms/2, run.Mean, "Run.Mean")
		// A reported percentile is within ±6.25% of the true value.
		assert.InEpsilon(t, float64(50*ms), float64(run.P50), 0.0625, "Run.P50")
		assert.InEpsilon(t, float64(95*ms), float64(run.P95), 0.0625, "Run.P95")
		assert.InEpsilon(t, float64(99*ms), float64(run.P99), 0.0625, "Run.P99")
		assert.InEpsilon(t, float64(100*ms), float64(run.P999), 0.0625, "Run.P999")
		assertOrdered(t, "Run", run)

		wait := st.Wait
		assert.Equal(t, uint64(n), wait.Count, "Wait.Count")
		assertOrdered(t, "Wait", wait)
		if !s.Reorders {
			// Task i waits for tasks 0..i-1: i(i+1)/2 ms.
			assert.Equal(t, 4950*ms, wait.Max, "Wait.Max")
			assert.Equal(t, 1666*ms+ms/2, wait.Mean, "Wait.Mean")
			assert.InEpsilon(t, float64(1225*ms), float64(wait.P50), 0.0625, "Wait.P50")
			assert.InEpsilon(t, float64(4465*ms), float64(wait.P95), 0.0625, "Wait.P95")
		}
		require.NoError(t, p.Shutdown(context.Background()))
		assertSettled(t, p.Stats())
	})
}

func assertOrdered(t *testing.T, what string, l poolrt.Latency) {
	t.Helper()
	assert.Positive(t, l.P50, "%s.P50", what)
	assert.True(t, l.P50 <= l.P95 && l.P95 <= l.P99 && l.P99 <= l.P999 && l.P999 <= l.Max,
		"%s percentiles out of order: %+v", what, l)
	assert.True(t, l.Mean > 0 && l.Mean <= l.Max, "%s.Mean: %+v", what, l)
}

// testMetricsOff: with Metrics(false) the counters are still exact and
// the latency figures stay zero.
func testMetricsOff[T any](t *testing.T, s *suite[T]) {
	bubble(t, func(t *testing.T) {
		const n = 10
		ctl := probe.New(n)
		for id := range n {
			ctl.SetFunc(id, func(context.Context) error { time.Sleep(time.Millisecond); return nil })
		}
		ctl.Set(3, probe.Fail)
		p := s.start(t, 2, poolrt.Metrics(false), poolrt.LatencySampling(1))
		for id := range n {
			require.NoError(t, p.Submit(context.Background(), s.Task(ctl, id)))
		}
		require.NoError(t, p.Shutdown(context.Background()))
		st := p.Stats()
		assert.Equal(t, uint64(n), st.Submitted, "Submitted")
		assert.Equal(t, uint64(n), st.Completed, "Completed")
		assert.Equal(t, uint64(1), st.Failed, "Failed")
		assert.Zero(t, st.Run, "Run latency with metrics off")
		assert.Zero(t, st.Wait, "Wait latency with metrics off")
		assert.Zero(t, st.Utilization, "Utilization with metrics off")
		assertSettled(t, st)
	})
}

// testZeroAllocs: in steady state Submit, TrySubmit and a whole
// submit-to-finished round trip allocate nothing.
func testZeroAllocs[T any](t *testing.T, s *suite[T]) { zeroAllocs(t, s) }

// zeroAllocs is testZeroAllocs for a pool configured by opts too.
func zeroAllocs[T any](t *testing.T, s *suite[T], opts ...poolrt.Option) {
	if testing.Short() {
		t.Skip("allocation counts in -short mode")
	}
	const warm, runs = 64, 200
	ctl := probe.New(warm + 3*(runs+1))
	tasks := make([]T, ctl.Len()) // made before measuring: a *T task is the caller's allocation
	for id := range tasks {
		tasks[id] = s.Task(ctl, id)
	}
	p := s.start(t, 2, append(opts, poolrt.QueueSize(1024))...)
	ctx := context.Background()
	next, errs := 0, 0
	stuck := false
	awaitEnded := func() {
		start := time.Now()
		for i := 0; ctl.Ended() < next && !stuck; i++ {
			runtime.Gosched()
			stuck = i%1024 == 0 && time.Since(start) > waitLimit
		}
	}
	for range warm {
		require.NoError(t, p.Submit(ctx, tasks[next]))
		next++
	}
	awaitEnded()

	submit := testing.AllocsPerRun(runs, func() {
		if p.Submit(ctx, tasks[next]) != nil {
			errs++
		}
		next++
	})
	awaitEnded()
	trySubmit := testing.AllocsPerRun(runs, func() {
		if p.TrySubmit(tasks[next]) != nil {
			errs++
		}
		next++
	})
	awaitEnded()
	roundTrip := testing.AllocsPerRun(runs, func() {
		if p.Submit(ctx, tasks[next]) != nil {
			errs++
		}
		next++
		awaitEnded()
	})
	require.False(t, stuck, "tasks did not finish within %v", waitLimit)
	assert.Zero(t, errs, "submissions refused")
	assert.Zero(t, submit, "allocations per Submit")
	assert.Zero(t, trySubmit, "allocations per TrySubmit")
	assert.Zero(t, roundTrip, "allocations per Submit and run")
	require.NoError(t, p.Shutdown(ctx))
	assertRuns(t, ctl, 1, span(0, next)...)
}
