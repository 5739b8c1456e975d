package conformance

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/poolgen/poolgen/internal/probe"
	poolrt "github.com/poolgen/poolgen/runtime"
)

// async is the result of a call running on another goroutine.
type async struct {
	ch   chan error
	err  error
	done bool
}

// submitAsync calls p.Submit(ctx, task) on a new goroutine.
func submitAsync[T any](p Pool[T], ctx context.Context, task T) *async {
	return goAsync(func() error { return p.Submit(ctx, task) })
}

func goAsync(f func() error) *async {
	a := &async{ch: make(chan error, 1)}
	go func() { a.ch <- f() }()
	return a
}

// returned reports whether the call has returned, without waiting.
func (a *async) returned() bool {
	if !a.done {
		select {
		case a.err = <-a.ch:
			a.done = true
		default:
		}
	}
	return a.done
}

// wait waits for the call to return and returns its result.
func (a *async) wait() error {
	if !a.done {
		a.err, a.done = <-a.ch, true
	}
	return a.err
}

// testSubmitBlocks: under the default Block policy, with every worker busy
// and the queue full, Submit waits: a canceled or expiring ctx ends the
// wait with ctx's error and the task never runs; room in the queue lets it
// in; Shutdown releases it with ErrClosed.
func testSubmitBlocks[T any](t *testing.T, s *suite[T]) {
	bubble(t, func(t *testing.T) {
		const workers, size = 2, 4
		ctl := probe.New(64)
		p := s.start(t, workers, poolrt.QueueSize(size))
		release1 := ctl.Hold(1)
		ctl.Set(0, probe.Block)
		s.occupy(t, p, ctl, 0, 1)
		accepted := append([]int{0, 1}, s.fill(t, p, ctl, 2)...)
		require.Len(t, accepted, workers+size, "tasks accepted before the queue was full")
		refused := []int{workers + size} // fill's last try
		next := workers + size + 1

		// A context that is already canceled.
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		assert.ErrorIs(t, p.Submit(ctx, s.Task(ctl, next)), context.Canceled, "Submit with a canceled context on a full queue")
		refused = append(refused, next)
		next++

		// A context that expires while Submit waits.
		ctx, cancel = context.WithTimeout(context.Background(), 50*time.Millisecond)
		start := time.Now()
		assert.ErrorIs(t, p.Submit(ctx, s.Task(ctl, next)), context.DeadlineExceeded, "Submit with an expiring context on a full queue")
		assert.Equal(t, 50*time.Millisecond, time.Since(start), "Submit waited until the deadline")
		cancel()
		refused = append(refused, next)
		next++

		// A context canceled while Submit waits.
		ctx, cancel = context.WithCancel(context.Background())
		res := submitAsync(p, ctx, s.Task(ctl, next))
		synctest.Wait()
		require.False(t, res.returned(), "Submit returned on a full queue before its context was canceled")
		cancel()
		assert.ErrorIs(t, res.wait(), context.Canceled, "Submit whose context is canceled while it waits")
		refused = append(refused, next)
		next++

		// Room in the queue lets a waiting Submit in.
		res = submitAsync(p, context.Background(), s.Task(ctl, next))
		synctest.Wait()
		require.False(t, res.returned(), "Submit returned on a full queue")
		release1() // worker 1 finishes and takes queued tasks
		assert.NoError(t, res.wait(), "Submit once there is room")
		accepted = append(accepted, next)
		next++
		synctest.Wait() // worker 1 runs every queued task and goes idle
		assertRuns(t, ctl, 1, accepted[1:]...)

		// Busy again, full again; then Shutdown releases a waiting Submit.
		ctl.Set(next, probe.Block)
		s.occupy(t, p, ctl, next)
		accepted = append(accepted, next)
		next++
		more := s.fill(t, p, ctl, next)
		require.Len(t, more, size, "tasks accepted before the queue was full again")
		accepted = append(accepted, more...)
		next += size + 1 // fill's last try was refused
		refused = append(refused, next-1)
		waiting := next
		res = submitAsync(p, context.Background(), s.Task(ctl, waiting))
		refused = append(refused, waiting)
		synctest.Wait()
		require.False(t, res.returned(), "Submit returned on a full queue")
		shut := goAsync(func() error { return p.Shutdown(context.Background()) })
		synctest.Wait()
		require.True(t, res.returned(), "Shutdown did not release a waiting Submit")
		assert.ErrorIs(t, res.wait(), poolrt.ErrClosed, "a waiting Submit released by Shutdown")
		assert.False(t, shut.returned(), "Shutdown returned while tasks were still blocked")

		ctl.Release()
		require.NoError(t, shut.wait())
		assertRuns(t, ctl, 1, accepted...)
		assertRuns(t, ctl, 0, refused...)
		st := p.Stats()
		assert.Equal(t, uint64(len(accepted)), st.Submitted, "Submitted")
		assertSettled(t, st)
	})
}

// testTrySubmitFull: TrySubmit on a full queue returns ErrQueueFull at
// once, whatever the policy (it never waits and never runs the task on the
// caller), and counts Rejected.
func testTrySubmitFull[T any](t *testing.T, s *suite[T]) {
	for _, policy := range []poolrt.Backpressure{poolrt.Block, poolrt.Reject, poolrt.CallerRuns} {
		t.Run(policy.String(), func(t *testing.T) {
			bubble(t, func(t *testing.T) {
				const workers, size, tries = 2, 3, 5
				ctl := probe.New(32)
				p := s.start(t, workers, poolrt.QueueSize(size), poolrt.OnFull(policy))
				s.block(t, p, ctl, 0, 1)
				queued := s.fill(t, p, ctl, 2)
				require.Len(t, queued, size)
				first := workers + size + 1 // fill's refused try used workers+size
				res := make(chan error, tries)
				go func() {
					for id := first; id < first+tries; id++ {
						res <- p.TrySubmit(s.Task(ctl, id))
					}
				}()
				synctest.Wait()
				require.Len(t, res, tries, "TrySubmit waited on a full queue")
				for range tries {
					assert.ErrorIs(t, <-res, poolrt.ErrQueueFull)
				}
				st := p.Stats()
				assert.Equal(t, uint64(tries+1), st.Rejected, "Rejected")
				assert.Zero(t, st.CallerRuns, "CallerRuns: TrySubmit never runs a task itself")
				assert.Equal(t, size, st.QueueDepth, "QueueDepth")

				ctl.Release()
				require.NoError(t, p.Shutdown(context.Background()))
				assertRuns(t, ctl, 1, span(0, workers+size)...)
				assertRuns(t, ctl, 0, span(workers+size, 32)...)
				st = p.Stats()
				assert.Equal(t, uint64(workers+size), st.Submitted, "Submitted")
				assertSettled(t, st)
			})
		})
	}
}

// testReject: under the Reject policy Submit on a full queue returns
// ErrQueueFull at once, counts Rejected, and the task never runs.
func testReject[T any](t *testing.T, s *suite[T]) {
	bubble(t, func(t *testing.T) {
		const workers, size = 1, 2
		ctl := probe.New(16)
		p := s.start(t, workers, poolrt.QueueSize(size), poolrt.OnFull(poolrt.Reject))
		s.block(t, p, ctl, 0)
		for id := 1; id <= size; id++ {
			require.NoError(t, p.Submit(context.Background(), s.Task(ctl, id)), "Submit with room in the queue")
		}
		res := submitAsync(p, context.Background(), s.Task(ctl, 10))
		synctest.Wait()
		require.True(t, res.returned(), "Submit waited on a full queue under Reject")
		assert.ErrorIs(t, res.wait(), poolrt.ErrQueueFull, "Submit on a full queue under Reject")
		assert.ErrorIs(t, p.Submit(context.Background(), s.Task(ctl, 11)), poolrt.ErrQueueFull)
		st := p.Stats()
		assert.Equal(t, uint64(2), st.Rejected, "Rejected")
		assert.Equal(t, uint64(1+size), st.Submitted, "Submitted")

		ctl.Release()
		require.NoError(t, p.Shutdown(context.Background()))
		assertRuns(t, ctl, 1, span(0, 1+size)...)
		assertRuns(t, ctl, 0, 10, 11)
		assertSettled(t, p.Stats())
	})
}

// testCallerRuns: under the CallerRuns policy Submit on a full queue runs
// the task on the caller's goroutine before it returns; a task that fails
// or panics is reported and counted, and its panic never reaches the
// caller. After shutdown Submit refuses tasks rather than run them.
func testCallerRuns[T any](t *testing.T, s *suite[T]) {
	bubble(t, func(t *testing.T) {
		const workers, size = 2, 2
		ctl := probe.New(16)
		var rec recorder
		p := s.start(t, workers, append(rec.opts(), poolrt.QueueSize(size), poolrt.OnFull(poolrt.CallerRuns))...)
		s.block(t, p, ctl, 0, 1)
		for id := 2; id < 2+size; id++ {
			require.NoError(t, p.Submit(context.Background(), s.Task(ctl, id)))
		}

		caller := goid()
		var ranOn string
		var taskErr error
		ctl.SetFunc(10, func(ctx context.Context) error {
			ranOn, taskErr = goid(), ctx.Err()
			return nil
		})
		require.NoError(t, p.Submit(context.Background(), s.Task(ctl, 10)))
		assert.Equal(t, 1, ctl.Runs(10), "the task ran before Submit returned")
		assert.Equal(t, caller, ranOn, "the task ran on the caller's goroutine")
		assert.NoError(t, taskErr, "the task's context")

		ctl.Set(11, probe.Panic)
		var panicked any
		func() {
			defer func() { panicked = recover() }()
			assert.NoError(t, p.Submit(context.Background(), s.Task(ctl, 11)), "Submit of a panicking task under CallerRuns")
		}()
		assert.Nil(t, panicked, "the task's panic reached the caller")
		assert.Equal(t, 1, ctl.Runs(11))
		pes := rec.panicked()
		if assert.Len(t, pes, 1, "panics reported before Submit returned") {
			assert.Equal(t, []int{11}, s.panicIDs(t, pes))
			checkPanicError(t, pes[0], probe.Panic)
		}

		ctl.Set(12, probe.Fail)
		assert.NoError(t, p.Submit(context.Background(), s.Task(ctl, 12)), "Submit of a failing task under CallerRuns")
		errs := rec.failed()
		if assert.Len(t, errs, 1, "errors reported before Submit returned") {
			assert.ErrorIs(t, errs[0], probe.ErrProbe)
		}

		st := p.Stats()
		assert.Equal(t, uint64(3), st.CallerRuns, "CallerRuns")
		assert.Equal(t, uint64(workers+size+3), st.Submitted, "Submitted includes tasks run by callers")
		assert.Equal(t, uint64(2), st.Completed, "Completed (tasks 10 and 12)")
		assert.Equal(t, uint64(1), st.Failed, "Failed")
		assert.Equal(t, uint64(1), st.Panicked, "Panicked")
		assert.Equal(t, size, st.QueueDepth, "QueueDepth: caller-run tasks are not queued")
		assert.Zero(t, st.Rejected, "Rejected")

		ctl.Release()
		require.NoError(t, p.Shutdown(context.Background()))
		assert.ErrorIs(t, p.Submit(context.Background(), s.Task(ctl, 13)), poolrt.ErrClosed, "Submit after Shutdown under CallerRuns")
		assertRuns(t, ctl, 1, 0, 1, 2, 3, 10, 11, 12)
		assertRuns(t, ctl, 0, 13)
		assertSettled(t, p.Stats())
	})
}

// testTaskContext: Submit's ctx only bounds the wait: the task runs with
// the pool's context, which carries none of the submitter's values and is
// not canceled with it.
func testTaskContext[T any](t *testing.T, s *suite[T]) {
	bubble(t, func(t *testing.T) {
		type key struct{}
		ctl := probe.New(4)
		p := s.start(t, 1)
		release := ctl.Hold(0)
		s.occupy(t, p, ctl, 0)
		var seenErr, seenValue any = "not run", "not run"
		ctl.SetFunc(1, func(ctx context.Context) error {
			seenErr, seenValue = ctx.Err(), ctx.Value(key{})
			return nil
		})
		ctx, cancel := context.WithCancel(context.WithValue(context.Background(), key{}, "submitter's"))
		require.NoError(t, p.Submit(ctx, s.Task(ctl, 1)))
		cancel()
		release()
		require.NoError(t, p.Shutdown(context.Background()))
		assert.Nil(t, seenErr, "the task's context was canceled with the submitter's")
		assert.Nil(t, seenValue, "the task's context carries the submitter's values")
		assertRuns(t, ctl, 1, 0, 1)
	})
}
