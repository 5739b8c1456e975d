package conformance

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/poolgen/poolgen/internal/probe"
	poolrt "github.com/poolgen/poolgen/runtime"
)

// testSubmitWaitOutcome: SubmitWait returns what the task's Run returned,
// its panic as a *poolrt.PanicError (which OnPanic sees too), and a
// failure reaches the submitter rather than OnError; every outcome is
// counted as Submit's would be.
func testSubmitWaitOutcome[T any](t *testing.T, s *suite[T]) {
	bubble(t, func(t *testing.T) {
		ctl := probe.New(8)
		var rec recorder
		p := s.start(t, 2, rec.opts()...)
		ctx := context.Background()

		assert.NoError(t, p.SubmitWait(ctx, s.Task(ctl, 0)), "a task that succeeds")
		assert.Equal(t, 1, ctl.Runs(0), "the task ran before SubmitWait returned")

		ctl.Set(1, probe.Fail)
		assert.ErrorIs(t, p.SubmitWait(ctx, s.Task(ctl, 1)), probe.ErrProbe, "a task that fails")
		assert.Empty(t, rec.failed(), "a waited task's error goes to its submitter, not OnError")

		ctl.Set(2, probe.Panic)
		err := p.SubmitWait(ctx, s.Task(ctl, 2))
		var pe *poolrt.PanicError
		if assert.ErrorAs(t, err, &pe, "a task that panics") {
			checkPanicError(t, pe, probe.Panic)
			assert.Equal(t, []int{2}, s.panicIDs(t, []*poolrt.PanicError{pe}), "PanicError.Task")
		}
		assert.Len(t, rec.panicked(), 1, "a waited task's panic goes to OnPanic too")

		ctl.Set(3, probe.Goexit)
		err = p.SubmitWait(ctx, s.Task(ctl, 3))
		assert.ErrorIs(t, err, poolrt.ErrGoexit, "a task that calls runtime.Goexit")

		want := fmt.Errorf("task 4: %w", probe.ErrProbe)
		ctl.SetFunc(4, func(context.Context) error { return want })
		assert.Same(t, want, p.SubmitWait(ctx, s.Task(ctl, 4)), "the very error Run returned")

		require.NoError(t, p.Shutdown(ctx))
		st := p.Stats()
		assert.Equal(t, uint64(5), st.Submitted, "Submitted")
		assert.Equal(t, uint64(3), st.Completed, "Completed")
		assert.Equal(t, uint64(2), st.Failed, "Failed")
		assert.Equal(t, uint64(2), st.Panicked, "Panicked")
		assertSettled(t, st)
	})
}

// testSubmitWaitAbandon: a submitter whose context ends while its task
// waits or runs gets its context's error; the task still runs exactly
// once, and its failure, which nobody waits for now, goes to OnError.
// The pool goes on serving waiters afterwards.
func testSubmitWaitAbandon[T any](t *testing.T, s *suite[T]) {
	bubble(t, func(t *testing.T) {
		ctl := probe.New(8)
		var rec recorder
		p := s.start(t, 1, rec.opts()...)
		release := make(chan struct{})
		ctl.SetFunc(0, func(context.Context) error {
			<-release
			return probe.ErrProbe
		})
		ctx, cancel := context.WithCancel(context.Background())
		res := goAsync(func() error { return p.SubmitWait(ctx, s.Task(ctl, 0)) })
		synctest.Wait()
		require.False(t, res.returned(), "SubmitWait returned while its task ran")
		cancel()
		assert.ErrorIs(t, res.wait(), context.Canceled, "SubmitWait once its context ended")
		close(release)
		assert.NoError(t, p.SubmitWait(context.Background(), s.Task(ctl, 1)), "the next task")
		assertRuns(t, ctl, 1, 0, 1)
		errs := rec.failed()
		if assert.Len(t, errs, 1, "the abandoned task's failure goes to OnError") {
			assert.ErrorIs(t, errs[0], probe.ErrProbe)
		}

		// A context that ends while the task is still queued.
		s.block(t, p, ctl, 2)
		ctx, cancel = context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		assert.ErrorIs(t, p.SubmitWait(ctx, s.Task(ctl, 3)), context.DeadlineExceeded)
		ctl.Release()
		require.NoError(t, p.Shutdown(context.Background()))
		assertRuns(t, ctl, 1, 2, 3)
		assertSettled(t, p.Stats())
	})
}

// testSubmitWaitShutdownNow: ShutdownNow hands back queued tasks whose
// submitters wait for them, and they hear poolrt.ErrClosed; after that,
// SubmitWait refuses tasks with poolrt.ErrClosed, and Closed tells so
// without submitting.
func testSubmitWaitShutdownNow[T any](t *testing.T, s *suite[T]) {
	bubble(t, func(t *testing.T) {
		const workers, queued = 2, 4
		ctl := probe.New(16)
		p := s.start(t, workers, poolrt.QueueSize(8))
		assert.False(t, p.Closed(), "Closed before shutdown")
		s.block(t, p, ctl, span(0, workers)...)
		var waits []*async
		for id := workers; id < workers+queued; id++ {
			waits = append(waits, goAsync(func() error { return p.SubmitWait(context.Background(), s.Task(ctl, id)) }))
		}
		synctest.Wait()
		require.Equal(t, queued, p.Stats().QueueDepth, "queued waited tasks")
		returned := s.ids(p.ShutdownNow())
		assert.ElementsMatch(t, span(workers, workers+queued), returned, "ShutdownNow returns the waited tasks")
		for i, w := range waits {
			assert.ErrorIs(t, w.wait(), poolrt.ErrClosed, "SubmitWait of returned task %d", workers+i)
		}
		assert.True(t, p.Closed(), "Closed after ShutdownNow")
		assert.ErrorIs(t, p.SubmitWait(context.Background(), s.Task(ctl, 10)), poolrt.ErrClosed, "SubmitWait after ShutdownNow")
		assertRuns(t, ctl, 0, span(workers, workers+queued)...)
		assertRuns(t, ctl, 0, 10)
		assertSettled(t, p.Stats())
	})
}

// testSubmitWaitBackpressure: on a full queue SubmitWait follows the
// policy: Reject refuses, CallerRuns runs the task on the caller and
// returns its outcome, Block waits for room and then for the task.
func testSubmitWaitBackpressure[T any](t *testing.T, s *suite[T]) {
	for _, b := range []poolrt.Backpressure{poolrt.Reject, poolrt.CallerRuns, poolrt.Block} {
		t.Run(b.String(), func(t *testing.T) {
			bubble(t, func(t *testing.T) {
				ctl := probe.New(16)
				var rec recorder
				p := s.start(t, 1, append(rec.opts(), poolrt.QueueSize(1), poolrt.OnFull(b))...)
				s.block(t, p, ctl, 0)
				require.NoError(t, p.Submit(context.Background(), s.Task(ctl, 1)))
				ctl.Set(2, probe.Fail)
				switch b {
				case poolrt.Reject:
					assert.ErrorIs(t, p.SubmitWait(context.Background(), s.Task(ctl, 2)), poolrt.ErrQueueFull)
					assertRuns(t, ctl, 0, 2)
				case poolrt.CallerRuns:
					assert.ErrorIs(t, p.SubmitWait(context.Background(), s.Task(ctl, 2)), probe.ErrProbe, "the outcome of the task run here")
					assertRuns(t, ctl, 1, 2)
					ctl.Set(3, probe.Panic)
					var pe *poolrt.PanicError
					assert.ErrorAs(t, p.SubmitWait(context.Background(), s.Task(ctl, 3)), &pe, "a panic of the task run here")
					assert.Empty(t, rec.failed(), "the failure went to the submitter")
					assert.Len(t, rec.panicked(), 1, "the panic went to OnPanic too")
				case poolrt.Block:
					res := goAsync(func() error { return p.SubmitWait(context.Background(), s.Task(ctl, 2)) })
					synctest.Wait()
					require.False(t, res.returned(), "SubmitWait did not wait for room")
					ctl.Release()
					assert.ErrorIs(t, res.wait(), probe.ErrProbe)
					assertRuns(t, ctl, 1, 2)
				}
				ctl.Release()
				require.NoError(t, p.Shutdown(context.Background()))
				assertSettled(t, p.Stats())
			})
		})
	}
}

// testSubmitWaitStress: many submitters wait for tasks of distinct
// outcomes, some giving up half way; each that waits to the end gets its
// own task's outcome, never another's (a recycled completion handle is
// never signaled for a task that is not its own), and every task runs
// once.
func testSubmitWaitStress[T any](t *testing.T, s *suite[T]) {
	const submitters, each = 4, 150
	ctl := probe.New(submitters * each)
	for id := range ctl.Len() {
		err := error(nil)
		if id%3 != 0 {
			err = fmt.Errorf("task %d", id)
		}
		ctl.SetFunc(id, func(context.Context) error {
			if id%7 == 0 {
				runtime.Gosched()
			}
			return err
		})
	}
	p := s.start(t, 2, poolrt.OnError(func(error) {}))
	var wg sync.WaitGroup
	for g := range submitters {
		wg.Go(func() {
			for i := range each {
				id := g*each + i
				ctx := context.Background()
				if id%5 == 0 {
					c, cancel := context.WithCancel(ctx)
					cancel() // gives up at once: the task runs unwatched
					ctx = c
				}
				err := p.SubmitWait(ctx, s.Task(ctl, id))
				switch {
				case id%5 == 0 && errors.Is(err, context.Canceled):
				case id%3 == 0:
					assert.NoError(t, err, "task %d", id)
				default:
					if assert.Error(t, err, "task %d", id) {
						assert.Equal(t, fmt.Sprintf("task %d", id), err.Error(), "the outcome of another task")
					}
				}
			}
		})
	}
	wg.Wait()
	require.NoError(t, p.Shutdown(context.Background()))
	for id := range ctl.Len() {
		if id%5 != 0 {
			assertRuns(t, ctl, 1, id)
		} else {
			assert.LessOrEqual(t, ctl.Runs(id), 1, "task %d ran more than once", id)
		}
	}
	assertSettled(t, p.Stats())
}

// testSubmitWaitZeroAllocs: in steady state SubmitWait allocates nothing:
// completion handles are recycled.
func testSubmitWaitZeroAllocs[T any](t *testing.T, s *suite[T]) {
	if testing.Short() {
		t.Skip("allocation counts in -short mode")
	}
	const warm, runs = 64, 200
	ctl := probe.New(warm + runs + 1)
	tasks := make([]T, ctl.Len())
	for id := range tasks {
		tasks[id] = s.Task(ctl, id)
	}
	p := s.start(t, 2)
	ctx := context.Background()
	next, errs := 0, 0
	for range warm {
		require.NoError(t, p.SubmitWait(ctx, tasks[next]))
		next++
	}
	allocs := testing.AllocsPerRun(runs, func() {
		if p.SubmitWait(ctx, tasks[next]) != nil {
			errs++
		}
		next++
	})
	assert.Zero(t, errs, "failed SubmitWait calls")
	assert.Zero(t, allocs, "allocations per SubmitWait")
}
