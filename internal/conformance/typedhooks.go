package conformance

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/poolgen/poolgen/internal/probe"
	poolrt "github.com/poolgen/poolgen/runtime"
)

// typedRecorder collects what a pool reports to its typed hooks.
type typedRecorder[T any] struct {
	mu      sync.Mutex
	failed  []T
	errs    []error
	panics  []T
	reports []*poolrt.PanicError
}

func (r *typedRecorder[T]) opts() []poolrt.Option {
	return []poolrt.Option{
		poolrt.OnTaskError(func(t T, err error) {
			r.mu.Lock()
			r.failed, r.errs = append(r.failed, t), append(r.errs, err)
			r.mu.Unlock()
		}),
		poolrt.OnTaskPanic(func(t T, pe *poolrt.PanicError) {
			r.mu.Lock()
			r.panics, r.reports = append(r.panics, t), append(r.reports, pe)
			r.mu.Unlock()
		}),
	}
}

// testTypedHooks: OnTaskError and OnTaskPanic receive the task itself with
// its error or panic, from a worker and from CallerRuns alike, each
// outcome once; a typed hook of another task type, or given beside its
// untyped twin, is a configuration error.
func testTypedHooks[T any](t *testing.T, s *suite[T]) {
	bubble(t, func(t *testing.T) {
		ctl := probe.New(16)
		var rec typedRecorder[T]
		p := s.start(t, 1, rec.opts()...)
		ctx := context.Background()
		ctl.Set(0, probe.Fail)
		ctl.Set(1, probe.Panic)
		ctl.Set(2, probe.Goexit)
		for id := range 3 {
			require.NoError(t, p.Submit(ctx, s.Task(ctl, id)))
		}
		require.NoError(t, p.Shutdown(ctx))
		// Under CallerRuns, on a full queue: the caller's goroutine reports.
		q := s.start(t, 1, append(rec.opts(), poolrt.QueueSize(1), poolrt.OnFull(poolrt.CallerRuns))...)
		s.block(t, q, ctl, 3)
		require.NoError(t, q.Submit(ctx, s.Task(ctl, 4)))
		ctl.Set(5, probe.Fail)
		ctl.Set(6, probe.Panic)
		require.NoError(t, q.Submit(ctx, s.Task(ctl, 5)), "CallerRuns")
		require.NoError(t, q.Submit(ctx, s.Task(ctl, 6)), "CallerRuns")
		ctl.Release()
		require.NoError(t, q.Shutdown(ctx))

		rec.mu.Lock()
		defer rec.mu.Unlock()
		assert.ElementsMatch(t, []int{0, 5}, s.ids(rec.failed), "OnTaskError's tasks")
		for _, err := range rec.errs {
			assert.ErrorIs(t, err, probe.ErrProbe)
		}
		assert.ElementsMatch(t, []int{1, 2, 6}, s.ids(rec.panics), "OnTaskPanic's tasks")
		for i, pe := range rec.reports {
			b := probe.Panic
			if s.ID(rec.panics[i]) == 2 {
				b = probe.Goexit
			}
			checkPanicError(t, pe, b)
		}
		st, sq := p.Stats(), q.Stats()
		assert.Equal(t, uint64(2), st.Failed+sq.Failed, "Failed")
		assert.Equal(t, uint64(3), st.Panicked+sq.Panicked, "Panicked")
		assertSettled(t, st)
		assertSettled(t, sq)
	})

	t.Run("Misconfigured", func(t *testing.T) {
		for _, opt := range []poolrt.Option{
			poolrt.OnTaskError(func(struct{ wrong int }, error) {}),
			poolrt.OnTaskPanic(func(struct{ wrong int }, *poolrt.PanicError) {}),
		} {
			p, err := s.New(append(s.workerOpts(1), opt)...)
			assert.Nil(t, p, "a pool with %v for another task type", opt)
			var ce *poolrt.ConfigError
			if assert.ErrorAs(t, err, &ce, "%v for another task type", opt) {
				assert.Equal(t, opt.String(), ce.Option)
				assert.Contains(t, ce.Reason, "struct { wrong int }", "the reason names the handler's type")
			}
		}
		for _, opts := range [][]poolrt.Option{
			{poolrt.OnError(func(error) {}), poolrt.OnTaskError(func(T, error) {})},
			{poolrt.OnTaskPanic(func(T, *poolrt.PanicError) {}), poolrt.OnPanic(func(*poolrt.PanicError) {})},
		} {
			p, err := s.New(append(s.workerOpts(1), opts...)...)
			assert.Nil(t, p)
			var ce *poolrt.ConfigError
			assert.ErrorAs(t, err, &ce, "both the typed and the untyped hook")
		}
	})
}

// testTypedHookPanics: a typed hook that panics is contained and counted
// once in HookPanics; the task keeps its one outcome, and the pool goes
// on serving.
func testTypedHookPanics[T any](t *testing.T, s *suite[T]) {
	bubble(t, func(t *testing.T) {
		ctl := probe.New(8)
		boom := errors.New("hook: boom")
		p := s.start(t, 1,
			poolrt.OnTaskError(func(T, error) { panic(boom) }),
			poolrt.OnTaskPanic(func(T, *poolrt.PanicError) { panic(boom) }))
		ctx := context.Background()
		ctl.Set(0, probe.Fail)
		ctl.Set(1, probe.Panic)
		for id := range 4 {
			require.NoError(t, p.Submit(ctx, s.Task(ctl, id)))
		}
		require.NoError(t, p.Shutdown(ctx))
		assertRuns(t, ctl, 1, 0, 1, 2, 3)
		st := p.Stats()
		assert.Equal(t, uint64(2), st.HookPanics, "HookPanics: one per panicking hook call")
		assert.Equal(t, uint64(1), st.Failed, "Failed")
		assert.Equal(t, uint64(1), st.Panicked, "Panicked")
		assertSettled(t, st)
	})
}
