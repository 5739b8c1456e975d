package conformance

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/poolgen/poolgen/internal/probe"
	poolrt "github.com/poolgen/poolgen/runtime"
)

// testTaskTimeout: with TaskTimeout, Run's context carries the task's
// deadline and ends at it; a task that then returns an error is counted
// in TimedOut (and Failed) once, with an error that wraps
// context.DeadlineExceeded, reported to its waiting submitter or to
// OnTaskError; a task that returns nil late succeeded. A task's own
// Timeout method overrides the pool's (not in a batch pool, whose
// handler has the timeout) and works without the option.
func testTaskTimeout[T any](t *testing.T, s *suite[T]) {
	const d = 50 * time.Millisecond
	late := errors.New("late on its own")
	bubble(t, func(t *testing.T) {
		ctl := probe.New(16)
		var rec typedRecorder[T]
		p := s.start(t, 2, append(rec.opts(), poolrt.TaskTimeout(d))...)
		ctx := context.Background()

		// A hanging dependency: its task ends at its deadline, no sooner.
		ctl.Set(0, probe.Block)
		start := time.Now()
		err := p.SubmitWait(ctx, s.Task(ctl, 0))
		assert.ErrorIs(t, err, context.DeadlineExceeded, "a task blocked past its timeout")
		assert.Equal(t, d, time.Since(start), "the task's context ended at its timeout")

		// A task that ignores its context and fails late: its own error,
		// wrapped.
		ctl.SetFunc(1, func(ctx context.Context) error {
			dl, ok := ctx.Deadline()
			assert.True(t, ok, "Run's context has a deadline")
			assert.Equal(t, time.Now().Add(d), dl, "the deadline is the timeout after the start")
			time.Sleep(2 * d)
			return late
		})
		err = p.SubmitWait(ctx, s.Task(ctl, 1))
		assert.ErrorIs(t, err, context.DeadlineExceeded)
		assert.ErrorIs(t, err, late)
		// A late success is a success.
		ctl.SetFunc(2, func(ctx context.Context) error {
			time.Sleep(2 * d)
			return nil
		})
		assert.NoError(t, p.SubmitWait(ctx, s.Task(ctl, 2)))
		// One that finishes in time is not touched; the next task's
		// context is fresh.
		ctl.SetFunc(3, func(ctx context.Context) error { return ctx.Err() })
		assert.NoError(t, p.SubmitWait(ctx, s.Task(ctl, 3)))
		// Reported to OnTaskError when nobody waits.
		ctl.Set(4, probe.Block)
		require.NoError(t, p.Submit(ctx, s.Task(ctl, 4)))
		timedOut := uint64(3)
		if s.Pattern != Batch {
			// A task's own, shorter timeout.
			ctl.Set(5, probe.Block)
			ctl.SetTimeout(5, d/5)
			start = time.Now()
			assert.ErrorIs(t, p.SubmitWait(ctx, s.Task(ctl, 5)), context.DeadlineExceeded)
			assert.Equal(t, d/5, time.Since(start), "the task's own timeout")
			timedOut++
		}
		require.NoError(t, p.Shutdown(ctx))
		st := p.Stats()
		assert.Equal(t, timedOut, st.TimedOut, "TimedOut")
		assert.Equal(t, timedOut, st.Failed, "Failed: the timed-out tasks")
		assertSettled(t, st)
		rec.mu.Lock()
		assert.Equal(t, []int{4}, s.ids(rec.failed), "OnTaskError's tasks")
		for _, err := range rec.errs {
			assert.ErrorIs(t, err, context.DeadlineExceeded)
		}
		rec.mu.Unlock()
	})

	t.Run("CallerRuns", func(t *testing.T) {
		bubble(t, func(t *testing.T) {
			ctl := probe.New(16)
			var rec typedRecorder[T]
			p := s.start(t, 1, append(rec.opts(), poolrt.TaskTimeout(d), poolrt.QueueSize(1), poolrt.OnFull(poolrt.CallerRuns))...)
			ctx := context.Background()
			// The worker's task ignores its timeout (and succeeds, late),
			// so the queue stays full.
			started, gate := make(chan struct{}), make(chan struct{})
			ctl.SetFunc(0, func(context.Context) error {
				close(started)
				<-gate
				return nil
			})
			require.NoError(t, p.Submit(ctx, s.Task(ctl, 0)))
			<-started
			require.NoError(t, p.Submit(ctx, s.Task(ctl, 1)), "queued")
			ctl.Set(2, probe.Block)
			ctl.Set(3, probe.Block)
			require.NoError(t, p.Submit(ctx, s.Task(ctl, 2)), "run by the caller")
			assert.ErrorIs(t, p.SubmitWait(ctx, s.Task(ctl, 3)), context.DeadlineExceeded, "run by the caller, waited")
			close(gate)
			require.NoError(t, p.Shutdown(ctx))
			st := p.Stats()
			assert.Equal(t, uint64(2), st.TimedOut, "TimedOut")
			assertSettled(t, st)
			rec.mu.Lock()
			assert.Equal(t, []int{2}, s.ids(rec.failed), "OnTaskError's tasks")
			rec.mu.Unlock()
		})
	})

	t.Run("TaskOwn", func(t *testing.T) {
		if s.Pattern == Batch {
			t.Skip("a batch pool's timeout is its handler's")
		}
		bubble(t, func(t *testing.T) {
			// No TaskTimeout: only the tasks that state one have one.
			ctl := probe.New(4)
			p := s.start(t, 1, poolrt.OnTaskError(func(T, error) {}))
			ctx := context.Background()
			ctl.Set(0, probe.Block)
			ctl.SetTimeout(0, time.Second)
			start := time.Now()
			assert.ErrorIs(t, p.SubmitWait(ctx, s.Task(ctl, 0)), context.DeadlineExceeded)
			assert.Equal(t, time.Second, time.Since(start))
			ctl.SetFunc(1, func(ctx context.Context) error {
				_, ok := ctx.Deadline()
				assert.False(t, ok, "a task that states no timeout has no deadline")
				return nil
			})
			assert.NoError(t, p.SubmitWait(ctx, s.Task(ctl, 1)))
			require.NoError(t, p.Shutdown(ctx))
			assert.Equal(t, uint64(1), p.Stats().TimedOut)
		})
	})

	t.Run("ShutdownNow", func(t *testing.T) {
		bubble(t, func(t *testing.T) {
			// ShutdownNow still cancels a task that has a timeout, with
			// context.Canceled: it did not time out.
			ctl := probe.New(4)
			p := s.start(t, 1, poolrt.TaskTimeout(time.Hour), poolrt.OnTaskError(func(T, error) {}))
			s.block(t, p, ctl, 0)
			p.ShutdownNow()
			st := p.Stats()
			assert.Equal(t, uint64(0), st.TimedOut)
			assert.Equal(t, uint64(1), st.Failed)
		})
	})

	t.Run("Invalid", func(t *testing.T) {
		for _, v := range []time.Duration{0, -time.Second} {
			p, err := s.New(append(s.workerOpts(1), poolrt.TaskTimeout(v))...)
			assert.Nil(t, p)
			var ce *poolrt.ConfigError
			assert.ErrorAs(t, err, &ce, "TaskTimeout(%v)", v)
		}
	})
}
