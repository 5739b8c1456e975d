package conformance

import (
	"context"
	"errors"
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

// propagating are the patterns that take PropagateContext and
// PropagateDeadline.
const propagating = Fixed | Dynamic | Stealing | Priority | Fair

// traceKey is a context key a submitter sets and its task reads.
type traceKey struct{}

// testPropagateContext: with PropagateContext, Run's context answers the
// values of the context given to Submit or SubmitWait (on a worker, and
// run by its submitter under CallerRuns), never a previous task's, and
// the pool's only for TrySubmit; ShutdownNow still cancels it, and the
// submitter's deadline does not bound the task. Without the option the
// values stay with the submitter. Pools of other patterns refuse the
// option with a ConfigError.
func testPropagateContext[T any](t *testing.T, s *suite[T]) {
	if s.Pattern&propagating == 0 {
		for _, o := range []poolrt.Option{poolrt.PropagateContext(), poolrt.PropagateDeadline()} {
			p, err := s.New(append(s.workerOpts(1), o)...)
			assert.Nil(t, p)
			var ce *poolrt.ConfigError
			require.ErrorAs(t, err, &ce, "%v", o)
			assert.Equal(t, o.String(), ce.Option)
		}
		return
	}
	seen := func(ctl *probe.Control, id int, got chan<- any) {
		ctl.SetFunc(id, func(ctx context.Context) error {
			_, dl := ctx.Deadline()
			got <- ctx.Value(traceKey{})
			got <- dl
			return nil
		})
	}
	with := func(v string) context.Context { return context.WithValue(context.Background(), traceKey{}, v) }

	t.Run("Values", func(t *testing.T) {
		ctl := probe.New(8)
		p := s.start(t, 1, poolrt.PropagateContext())
		got := make(chan any, 2)
		seen(ctl, 0, got)
		require.NoError(t, p.Submit(with("submit"), s.Task(ctl, 0)))
		assert.Equal(t, "submit", <-got, "Submit's value")
		assert.Equal(t, false, <-got, "no deadline")
		seen(ctl, 1, got)
		require.NoError(t, p.SubmitWait(with("wait"), s.Task(ctl, 1)))
		assert.Equal(t, "wait", <-got, "SubmitWait's value")
		<-got
		seen(ctl, 2, got)
		require.NoError(t, p.Submit(context.Background(), s.Task(ctl, 2)))
		assert.Nil(t, <-got, "a later task without the value")
		<-got
		seen(ctl, 3, got)
		require.NoError(t, p.TrySubmit(s.Task(ctl, 3)))
		assert.Nil(t, <-got, "TrySubmit has no context")
		<-got
		// The submitter's deadline and cancellation are its own.
		seen(ctl, 4, got)
		ctx, cancel := context.WithTimeout(with("timed"), time.Hour)
		require.NoError(t, p.SubmitWait(ctx, s.Task(ctl, 4)))
		cancel()
		assert.Equal(t, "timed", <-got)
		assert.Equal(t, false, <-got, "the submitter's deadline does not bound the task")
		require.NoError(t, p.Shutdown(context.Background()))
		assertSettled(t, p.Stats())
	})

	t.Run("Off", func(t *testing.T) {
		ctl := probe.New(2)
		p := s.start(t, 1)
		got := make(chan any, 2)
		seen(ctl, 0, got)
		require.NoError(t, p.SubmitWait(with("kept"), s.Task(ctl, 0)))
		assert.Nil(t, <-got, "without the option Run gets the pool's context")
		<-got
	})

	t.Run("CallerRuns", func(t *testing.T) {
		ctl := probe.New(8)
		p := s.start(t, 1, poolrt.PropagateDeadline(), poolrt.QueueSize(1), poolrt.OnFull(poolrt.CallerRuns))
		s.block(t, p, ctl, 0)
		queued := s.fill(t, p, ctl, 1)
		got := make(chan any, 4)
		id := queued[len(queued)-1] + 1
		seen(ctl, id, got)
		require.NoError(t, p.Submit(with("caller"), s.Task(ctl, id)))
		assert.Equal(t, "caller", <-got, "a task run by its submitter")
		<-got
		seen(ctl, id+1, got)
		ctx, cancel := context.WithTimeout(with("caller-wait"), time.Hour)
		defer cancel()
		require.NoError(t, p.SubmitWait(ctx, s.Task(ctl, id+1)))
		assert.Equal(t, "caller-wait", <-got)
		assert.Equal(t, true, <-got, "PropagateDeadline: the submitter's deadline")
		ctl.Release()
		require.NoError(t, p.Shutdown(context.Background()))
	})

	t.Run("ShutdownNow", func(t *testing.T) {
		ctl := probe.New(2)
		p := s.start(t, 1, poolrt.PropagateDeadline(), poolrt.OnTaskError(func(T, error) {}))
		started, ended := make(chan struct{}), make(chan error, 1)
		ctl.SetFunc(0, func(ctx context.Context) error {
			close(started)
			<-ctx.Done()
			assert.Equal(t, "now", ctx.Value(traceKey{}))
			ended <- ctx.Err()
			return ctx.Err()
		})
		ctx, cancel := context.WithTimeout(with("now"), time.Hour)
		defer cancel()
		require.NoError(t, p.Submit(ctx, s.Task(ctl, 0)))
		<-started
		p.ShutdownNow()
		assert.ErrorIs(t, <-ended, context.Canceled, "ShutdownNow cancels Run's context")
		st := p.Stats()
		assert.Equal(t, uint64(0), st.TimedOut)
		assert.Equal(t, uint64(1), st.Failed)
	})

	t.Run("Deadline", func(t *testing.T) {
		const d = 50 * time.Millisecond
		bubble(t, func(t *testing.T) {
			ctl := probe.New(8)
			var rec typedRecorder[T]
			p := s.start(t, 1, append(rec.opts(), poolrt.PropagateDeadline())...)
			ctx, cancel := context.WithTimeout(with("deadline"), d)
			defer cancel()
			start := time.Now()
			ended := make(chan time.Duration, 1)
			ctl.SetFunc(0, func(ctx context.Context) error {
				dl, ok := ctx.Deadline()
				assert.True(t, ok, "Run's context has the submitter's deadline")
				assert.Equal(t, start.Add(d), dl)
				assert.Equal(t, "deadline", ctx.Value(traceKey{}))
				<-ctx.Done()
				ended <- time.Since(start)
				return ctx.Err()
			})
			require.NoError(t, p.Submit(ctx, s.Task(ctl, 0)))
			assert.Equal(t, d, <-ended, "canceled at the submitter's deadline")
			// Started after its deadline: canceled at once.
			ctl.SetFunc(1, func(ctx context.Context) error {
				<-ctx.Done()
				return ctx.Err()
			})
			require.NoError(t, p.Submit(ctx, s.Task(ctl, 1)))
			// A submitter without a deadline: none.
			ctl.SetFunc(2, func(ctx context.Context) error {
				_, ok := ctx.Deadline()
				assert.False(t, ok, "a submitter without a deadline")
				return nil
			})
			require.NoError(t, p.Submit(with("none"), s.Task(ctl, 2)))
			require.NoError(t, p.Shutdown(context.Background()))
			st := p.Stats()
			assert.Equal(t, uint64(2), st.TimedOut, "TimedOut")
			assert.Equal(t, uint64(2), st.Failed, "Failed")
			assertSettled(t, st)
			rec.mu.Lock()
			assert.Equal(t, []int{0, 1}, s.ids(rec.failed), "OnTaskError's tasks")
			for _, err := range rec.errs {
				assert.ErrorIs(t, err, context.DeadlineExceeded)
			}
			rec.mu.Unlock()
		})
	})

	t.Run("Retry", func(t *testing.T) {
		if s.Pattern&retrying == 0 {
			t.Skip("the pool takes no retries")
		}
		bubble(t, func(t *testing.T) {
			// The context rides with the task through its retries: the
			// first attempt outlives the submitter's deadline, and the
			// retry, which starts past it, starts with its context ended.
			const d = 60 * time.Millisecond
			ctl := probe.New(2)
			p := s.start(t, 1, poolrt.PropagateDeadline(), poolrt.OnDeadLetter(func(T, error, int) {}),
				poolrt.Retry(poolrt.RetryPolicy{MaxAttempts: 2, Initial: d, Max: d}))
			ctx, cancel := context.WithTimeout(with("retried"), d)
			defer cancel()
			var seen []any
			var errs []error
			ctl.SetFunc(0, func(ctx context.Context) error {
				seen = append(seen, ctx.Value(traceKey{}))
				if len(seen) == 1 {
					time.Sleep(2 * d)
				}
				errs = append(errs, ctx.Err())
				return errors.New("try again")
			})
			require.NoError(t, p.Submit(ctx, s.Task(ctl, 0)))
			require.NoError(t, p.Shutdown(context.Background()))
			assert.Equal(t, []any{"retried", "retried"}, seen, "every attempt sees the value")
			assert.Equal(t, []error{context.DeadlineExceeded, context.DeadlineExceeded}, errs, "both attempts end at the submitter's deadline")
			st := p.Stats()
			assert.Equal(t, uint64(1), st.DeadLettered)
			assert.Equal(t, uint64(2), st.TimedOut, "both attempts timed out")
			assertSettled(t, st)
		})
	})

	t.Run("Exclusive", func(t *testing.T) {
		p, err := s.New(append(s.workerOpts(1), poolrt.PropagateContext(), poolrt.PropagateDeadline())...)
		assert.Nil(t, p)
		var ce *poolrt.ConfigError
		assert.ErrorAs(t, err, &ce)
	})
}

// testZeroAllocsPropagate: with PropagateDeadline, a task submitted with
// a context that has a value and a deadline, run and ended, allocates
// nothing in steady state, by Submit and by SubmitWait.
func testZeroAllocsPropagate[T any](t *testing.T, s *suite[T]) {
	if s.Pattern&propagating == 0 {
		t.Skip("the pattern does not propagate contexts")
	}
	if testing.Short() {
		t.Skip("allocation counts in -short mode")
	}
	const warm, runs = 64, 200
	ctl := probe.New(warm + 2*(runs+1))
	tasks := make([]T, ctl.Len())
	for id := range tasks {
		tasks[id] = s.Task(ctl, id)
	}
	p := s.start(t, 2, poolrt.PropagateDeadline(), poolrt.QueueSize(1024))
	ctx, cancel := context.WithTimeout(context.WithValue(context.Background(), traceKey{}, "alloc"), time.Hour)
	defer cancel()
	next, errs := 0, 0
	awaitEnded := func() {
		start := time.Now()
		for ctl.Ended() < next {
			runtime.Gosched()
			if time.Since(start) > waitLimit {
				require.FailNow(t, "tasks did not finish", "within %v", waitLimit)
			}
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
		awaitEnded()
	})
	wait := testing.AllocsPerRun(runs, func() {
		if p.SubmitWait(ctx, tasks[next]) != nil {
			errs++
		}
		next++
	})
	assert.Zero(t, errs, "submissions refused")
	assert.Zero(t, submit, "allocations per Submit and run, propagating")
	assert.Zero(t, wait, "allocations per SubmitWait, propagating")
	require.NoError(t, p.Shutdown(context.Background()))
	assertRuns(t, ctl, 1, span(0, next)...)
}

// testForkPropagates: with PropagateContext, a subtask forked by a task
// sees the values of its parent's submitter's context wherever Fork put
// it (the deque, the injector, or the forking goroutine when both are
// full), and a subtask forked by a task submitted without values sees
// none of another task's.
func testForkPropagates[T any](t *testing.T, s *suite[T]) {
	bubble(t, func(t *testing.T) {
		const forks = 8
		ctl := probe.New(2 + 2*forks)
		p := s.startStealing(t, 1, poolrt.PropagateContext(), poolrt.DequeSize(2), poolrt.QueueSize(2))
		var mu sync.Mutex
		got := make(map[int]any)
		for id := 2; id < ctl.Len(); id++ {
			ctl.SetFunc(id, func(ctx context.Context) error {
				mu.Lock()
				got[id] = ctx.Value(traceKey{})
				mu.Unlock()
				return nil
			})
		}
		root := func(first int) probe.Func {
			return func(ctx context.Context) error {
				for id := first; id < first+forks; id++ {
					if err := p.Fork(ctx, s.Task(ctl, id)); err != nil {
						return err
					}
				}
				return nil
			}
		}
		ctl.SetFunc(0, root(2))
		ctl.SetFunc(1, root(2+forks))
		require.NoError(t, p.SubmitWait(context.WithValue(context.Background(), traceKey{}, "root"), s.Task(ctl, 0)))
		synctest.Wait()
		require.NoError(t, p.SubmitWait(context.Background(), s.Task(ctl, 1)))
		synctest.Wait()
		require.NoError(t, p.Shutdown(context.Background()))
		assertRuns(t, ctl, 1, span(0, ctl.Len())...)
		mu.Lock()
		defer mu.Unlock()
		for id := 2; id < 2+forks; id++ {
			assert.Equal(t, "root", got[id], "subtask %d of the task submitted with the value", id)
		}
		for id := 2 + forks; id < ctl.Len(); id++ {
			assert.Nil(t, got[id], "subtask %d of the task submitted without it", id)
		}
		st := p.Stats()
		assert.NotZero(t, st.Stealing.ForkedInline, "some subtasks ran on the forking goroutine")
		assert.NotZero(t, st.Stealing.ForkedToInjector, "some subtasks went to the injector")
		assertSettled(t, st)
	})
}
