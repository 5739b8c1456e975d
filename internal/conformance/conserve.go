package conformance

import (
	"context"
	"testing"
	"testing/synctest"

	"github.com/stretchr/testify/require"

	"github.com/poolgen/poolgen/internal/probe"
	"github.com/poolgen/poolgen/internal/testhook"
	poolrt "github.com/poolgen/poolgen/runtime"
)

// takeAll sets testhook.TakeAll for the pools the test creates.
func takeAll(t *testing.T) {
	testhook.TakeAll.Store(true)
	t.Cleanup(func() { testhook.TakeAll.Store(false) })
}

// testWorkConserving: while an accepted task waits, no worker stays idle,
// even when another worker took the task in a batch and is running a long
// one. The pool takes as much as it can at once (testhook.TakeAll): a
// worker takes two tasks in one batch, starts the first, which blocks, and
// the other worker, once free, must start the second.
func testWorkConserving[T any](t *testing.T, s *suite[T]) {
	takeAll(t)
	bubble(t, func(t *testing.T) {
		ctl := probe.New(4)
		p := s.start(t, 2)
		release0, release1 := ctl.Hold(0), ctl.Hold(1)
		release2, release3 := ctl.Hold(2), ctl.Hold(3)
		s.occupy(t, p, ctl, 0, 1) // both workers busy
		for _, id := range []int{2, 3} {
			require.NoError(t, p.Submit(context.Background(), s.Task(ctl, id)))
		}
		release0() // its worker takes 2 and 3, and 2 blocks
		first := awaitStarted(t, ctl)
		release1() // the other worker is free: 3 must not wait for 2
		second := awaitStarted(t, ctl)
		require.ElementsMatch(t, []int{2, 3}, []int{first, second}, "tasks started")
		release2()
		release3()
		require.NoError(t, p.Shutdown(context.Background()))
		assertRuns(t, ctl, 1, span(0, 4)...)
		assertSettled(t, p.Stats())
	})
}

// testWorkConservingAfterTiny: a pool that has run many tiny tasks takes
// large batches; blocking tasks submitted then must each start on a
// worker of their own, none left behind another in a batch.
func testWorkConservingAfterTiny[T any](t *testing.T, s *suite[T]) {
	bubble(t, func(t *testing.T) {
		const workers, tiny = 4, 20_000
		ctl := probe.New(tiny + workers)
		p := s.start(t, workers, poolrt.LatencySampling(1))
		for id := range tiny {
			require.NoError(t, p.Submit(context.Background(), s.Task(ctl, id)))
		}
		synctest.Wait()
		require.Equal(t, tiny, ctl.Total(), "tiny tasks run")
		for id := tiny; id < tiny+workers; id++ {
			ctl.Set(id, probe.Block)
			require.NoError(t, p.Submit(context.Background(), s.Task(ctl, id)))
		}
		var started []int
		for range workers {
			started = append(started, awaitStarted(t, ctl))
		}
		require.ElementsMatch(t, span(tiny, tiny+workers), started, "blocking tasks started")
		ctl.Release()
		require.NoError(t, p.Shutdown(context.Background()))
		assertRuns(t, ctl, 1, span(0, tiny+workers)...)
	})
}
