package conformance

import (
	"context"
	"testing"
	"testing/synctest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/poolgen/poolgen/internal/probe"
	poolrt "github.com/poolgen/poolgen/runtime"
)

// testPanics: tasks that panic or call runtime.Goexit are recovered,
// counted and reported to OnPanic with the task, the value and a stack
// that shows the panicking function; failing tasks are counted and passed
// to OnError. Afterwards the pool still has all its workers: as many
// blocking tasks as workers all start at once.
func testPanics[T any](t *testing.T, s *suite[T]) {
	bubble(t, func(t *testing.T) {
		const workers, each = 3, 8
		kinds := []probe.Behavior{probe.Panic, probe.Goexit, probe.Fail, probe.Succeed}
		n := len(kinds) * each
		ctl := probe.New(n + workers)
		want := map[int]probe.Behavior{}
		for id := range n {
			b := kinds[id%len(kinds)]
			ctl.Set(id, b)
			if b == probe.Panic || b == probe.Goexit {
				want[id] = b
			}
		}
		var rec recorder
		p := s.start(t, workers, append(rec.opts(), poolrt.QueueSize(64))...)
		for id := range n {
			require.NoError(t, p.Submit(context.Background(), s.Task(ctl, id)))
		}
		synctest.Wait() // every task has run; the workers are idle

		assertRuns(t, ctl, 1, span(0, n)...)
		st := p.Stats()
		assert.Equal(t, uint64(2*each), st.Panicked, "Panicked counts panics and runtime.Goexit calls")
		assert.Equal(t, uint64(2*each), st.Completed, "Completed (failed and successful tasks)")
		assert.Equal(t, uint64(each), st.Failed, "Failed")
		assert.Equal(t, workers, st.Workers, "Workers after the panics")
		assert.Equal(t, 0, st.Busy, "Busy once idle")

		pes := rec.panicked()
		ids := s.panicIDs(t, pes)
		assert.ElementsMatch(t, keysOf(want), ids, "tasks reported to OnPanic")
		for i, pe := range pes {
			if ids[i] >= 0 {
				checkPanicError(t, pe, want[ids[i]])
			}
		}
		errs := rec.failed()
		assert.Len(t, errs, each, "errors reported to OnError")
		for _, err := range errs {
			assert.ErrorIs(t, err, probe.ErrProbe)
		}

		// Every worker is still there to run a blocking task.
		s.block(t, p, ctl, span(n, n+workers)...)
		st = p.Stats()
		assert.Equal(t, workers, st.Busy, "Busy with every worker blocked")
		assert.Zero(t, st.Idle, "Idle with every worker blocked")
		ctl.Release()
		require.NoError(t, p.Shutdown(context.Background()))
		assertSettled(t, p.Stats())
	})
}

func keysOf[K comparable, V any](m map[K]V) []K {
	out := make([]K, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// testPanicMidBatch: a single worker meets panicking and exiting tasks in
// the middle of what it took from the queue; every task still runs exactly
// once, in submission order for pools that keep it.
func testPanicMidBatch[T any](t *testing.T, s *suite[T]) {
	bubble(t, func(t *testing.T) {
		const n = 12
		ctl := probe.New(n)
		var rec recorder
		p := s.start(t, 1, rec.opts()...)
		release := ctl.Hold(0)
		s.occupy(t, p, ctl, 0)
		ctl.Set(1, probe.Panic)
		ctl.Set(4, probe.Goexit)
		ctl.Set(5, probe.Panic)
		ctl.Set(9, probe.Fail)
		ctl.Set(n-1, probe.Panic)
		for id := 1; id < n; id++ {
			require.NoError(t, p.Submit(context.Background(), s.Task(ctl, id)))
		}
		release()
		require.NoError(t, p.Shutdown(context.Background()))

		assertRuns(t, ctl, 1, span(0, n)...)
		if !s.Reorders {
			assert.Equal(t, span(0, n), ctl.Order(), "start order")
		}
		assert.ElementsMatch(t, []int{1, 4, 5, n - 1}, s.panicIDs(t, rec.panicked()), "tasks reported to OnPanic")
		st := p.Stats()
		assert.Equal(t, uint64(4), st.Panicked, "Panicked")
		assert.Equal(t, uint64(n-4), st.Completed, "Completed")
		assert.Equal(t, uint64(1), st.Failed, "Failed")
		assertSettled(t, st)
	})
}
