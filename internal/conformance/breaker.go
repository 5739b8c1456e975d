package conformance

import (
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/poolgen/poolgen/internal/probe"
	poolrt "github.com/poolgen/poolgen/runtime"
)

// turnedAway records the tasks a breaker turned away, as the pool reports
// them: to OnDeadLetter in the pools that take one (which hand it the
// tasks that failed too: those are left out), to OnTaskError in the
// others.
type turnedAway[T any] struct {
	mu   sync.Mutex
	ids  []int
	errs []error
}

func (r *turnedAway[T]) opt(s *suite[T]) poolrt.Option {
	add := func(t T, err error) {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.ids = append(r.ids, s.ID(t))
		r.errs = append(r.errs, err)
	}
	if s.Pattern&retrying != 0 {
		return poolrt.OnDeadLetter(func(t T, err error, attempts int) {
			if !errors.Is(err, poolrt.ErrCircuitOpen) {
				return // it failed
			}
			if attempts != 0 {
				err = errors.New("a task turned away has run")
			}
			add(t, err)
		})
	}
	return poolrt.OnTaskError(func(t T, err error) {
		if errors.Is(err, poolrt.ErrCircuitOpen) {
			add(t, err)
		}
	})
}

// got returns the ids reported, sorted, and checks that each was reported
// with ErrCircuitOpen.
func (r *turnedAway[T]) got(t *testing.T) []int {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	for i, err := range r.errs {
		assert.ErrorIs(t, err, poolrt.ErrCircuitOpen, "task %d", r.ids[i])
	}
	return slices.Sorted(slices.Values(r.ids))
}

// testBreaker: a dependency down for a while, then recovering. The
// breaker opens at the third failure in a row; tasks then fail fast with
// ErrCircuitOpen, without running, to the dead-letter handler and to a
// SubmitWait caller; after the cool-down one probe runs: its failure
// opens the breaker again, its success closes it. Stats count each
// change and task, and the identity holds.
func testBreaker[T any](t *testing.T, s *suite[T]) {
	const cooldown = time.Second
	bubble(t, func(t *testing.T) {
		ctl := probe.New(16)
		var down atomic.Bool
		down.Store(true)
		for id := range 16 {
			ctl.SetFunc(id, func(context.Context) error {
				if down.Load() {
					return probe.ErrProbe
				}
				return nil
			})
		}
		var away turnedAway[T]
		var changes []string
		var mu sync.Mutex
		p := s.start(t, 1, away.opt(s), poolrt.Breaker(poolrt.BreakerPolicy{
			Failures: 3, Cooldown: cooldown,
			OnStateChange: func(key any, from, to poolrt.BreakerState) {
				mu.Lock()
				defer mu.Unlock()
				assert.Nil(t, key)
				changes = append(changes, from.String()+">"+to.String())
			},
		}))
		ctx := context.Background()
		wait := func(id int) error { return p.SubmitWait(ctx, s.Task(ctl, id)) }

		for id := range 2 {
			assert.ErrorIs(t, wait(id), probe.ErrProbe)
		}
		require.Equal(t, poolrt.BreakerClosed, p.Stats().Breaker.States[0].State, "two failures: still closed")
		assert.Equal(t, 2, p.Stats().Breaker.States[0].Failures)
		assert.ErrorIs(t, wait(2), probe.ErrProbe)
		st := p.Stats().Breaker
		require.NotNil(t, st)
		assert.Equal(t, []poolrt.BreakerKeyState{{Key: "(pool)", State: poolrt.BreakerOpen}}, st.States)
		assert.Equal(t, 1, st.Open)

		// Open: tasks fail fast without running.
		assert.ErrorIs(t, wait(3), poolrt.ErrCircuitOpen)
		require.NoError(t, p.Submit(ctx, s.Task(ctl, 4)))
		require.NoError(t, p.Submit(ctx, s.Task(ctl, 5)))
		time.Sleep(cooldown - time.Millisecond)
		synctest.Wait()
		for id := 3; id <= 5; id++ {
			assert.Equal(t, 0, ctl.Runs(id), "task %d ran", id)
		}

		// Half-open: the probe fails, and the breaker opens again.
		time.Sleep(time.Millisecond)
		assert.ErrorIs(t, wait(6), probe.ErrProbe)
		assert.ErrorIs(t, wait(7), poolrt.ErrCircuitOpen)
		// Then the dependency recovers: the next probe closes it.
		down.Store(false)
		time.Sleep(cooldown)
		assert.NoError(t, wait(8))
		assert.NoError(t, wait(9))
		require.NoError(t, p.Shutdown(ctx))

		want := []int{4, 5}
		if s.Pattern&retrying != 0 {
			want = []int{3, 4, 5, 7} // the handler has every task turned away
		}
		assert.Equal(t, want, away.got(t))
		for id, runs := range []int{1, 1, 1, 0, 0, 0, 1, 0, 1, 1} {
			assert.Equal(t, runs, ctl.Runs(id), "task %d", id)
		}
		assert.Equal(t, []string{"closed>open", "open>half-open", "half-open>open", "open>half-open", "half-open>closed"}, changes)
		all := p.Stats()
		st = all.Breaker
		assert.Equal(t, [4]uint64{2, 2, 1, 4}, [4]uint64{st.Opens, st.HalfOpens, st.Closes, st.FailedFast}, "opens, half-opens, closes, failed fast")
		assert.Equal(t, []poolrt.BreakerKeyState{{Key: "(pool)", State: poolrt.BreakerClosed}}, st.States)
		if s.Pattern&retrying != 0 {
			// With OnDeadLetter, the failed tasks are dead-lettered too.
			assert.Equal(t, uint64(4+4), all.DeadLettered, "tasks turned away are dead-lettered")
			assert.Equal(t, uint64(2), all.Completed)
			assert.Equal(t, uint64(0), all.Failed)
		} else {
			assert.Equal(t, uint64(4), all.DeadLettered, "tasks turned away are dead-lettered")
			assert.Equal(t, uint64(6), all.Completed)
			assert.Equal(t, uint64(4), all.Failed)
		}
		identity(t, all)
	})
}

// testBreakerKeys: with BreakerKey, one dependency's breaker opens while
// the other's tasks go on running.
func testBreakerKeys[T any](t *testing.T, s *suite[T]) {
	ctl := probe.New(16)
	for id := 0; id < 16; id += 2 {
		ctl.Set(id, probe.Fail) // key 0 is down
	}
	var away turnedAway[T]
	p := s.start(t, 1, away.opt(s),
		poolrt.Breaker(poolrt.BreakerPolicy{Failures: 2, Cooldown: time.Hour}),
		poolrt.BreakerKey(func(t T) int { return s.ID(t) % 2 }))
	ctx := context.Background()
	for id := range 4 {
		err := p.SubmitWait(ctx, s.Task(ctl, id))
		if id%2 == 0 {
			assert.ErrorIs(t, err, probe.ErrProbe)
		} else {
			assert.NoError(t, err)
		}
	}
	for id := 4; id < 10; id++ {
		require.NoError(t, p.Submit(ctx, s.Task(ctl, id)))
	}
	require.NoError(t, p.Shutdown(ctx))
	assert.Equal(t, []int{4, 6, 8}, away.got(t))
	for id := range 10 {
		want := 1
		if id >= 4 && id%2 == 0 {
			want = 0
		}
		assert.Equal(t, want, ctl.Runs(id), "task %d", id)
	}
	st := p.Stats()
	assert.Equal(t, 2, st.Breaker.Keys)
	assert.Equal(t, 1, st.Breaker.Open)
	assert.Equal(t, []poolrt.BreakerKeyState{{Key: "0", State: poolrt.BreakerOpen}, {Key: "1", State: poolrt.BreakerClosed}}, st.Breaker.States)
	if s.Pattern&retrying != 0 {
		assert.Equal(t, uint64(3+2), st.DeadLettered, "turned away, and failed under OnDeadLetter")
	} else {
		assert.Equal(t, uint64(3), st.DeadLettered)
	}
	identity(t, st)
}

// testBreakerHooks: panics in the user's classifier, state hook and key
// function are contained and counted once each; a panicking task counts
// as a failure, a Permanent error and an error the classifier excludes do
// not; every task is counted once.
func testBreakerHooks[T any](t *testing.T, s *suite[T]) {
	ctl := probe.New(16)
	excluded := errors.New("validation")
	var keyPanics atomic.Int32
	p := s.start(t, 1, poolrt.OnPanic(func(*poolrt.PanicError) {}), poolrt.OnError(func(error) {}),
		poolrt.Breaker(poolrt.BreakerPolicy{
			Failures: 2, Cooldown: time.Hour,
			IsFailure: func(err error) bool {
				if errors.Is(err, probe.ErrProbe) {
					panic("classifier")
				}
				return !errors.Is(err, excluded)
			},
			OnStateChange: func(any, poolrt.BreakerState, poolrt.BreakerState) { panic("state hook") },
		}),
		poolrt.BreakerKey(func(t T) int {
			if s.ID(t) == 9 {
				keyPanics.Add(1)
				panic("key")
			}
			return 0
		}))
	ctx := context.Background()
	ctl.SetFunc(0, func(context.Context) error { return poolrt.Permanent(probe.ErrProbe) })
	ctl.SetFunc(1, func(context.Context) error { return excluded })
	ctl.Set(2, probe.Fail)  // the classifier panics: a failure
	ctl.Set(3, probe.Panic) // the second failure in a row: open
	ctl.Set(9, probe.Succeed)
	for id := range 4 {
		_ = p.SubmitWait(ctx, s.Task(ctl, id))
	}
	assert.NoError(t, p.SubmitWait(ctx, s.Task(ctl, 9)), "a key function that panics: the shared breaker, closed")
	assert.ErrorIs(t, p.SubmitWait(ctx, s.Task(ctl, 4)), poolrt.ErrCircuitOpen)
	require.NoError(t, p.Shutdown(ctx))
	st := p.Stats()
	assert.Equal(t, uint64(1), st.Breaker.Opens)
	assert.Equal(t, int32(1), keyPanics.Load())
	assert.Equal(t, uint64(3), st.HookPanics, "the classifier once, the state hook once, the key function once")
	assert.Equal(t, uint64(1), st.Panicked)
	assert.Equal(t, uint64(4), st.Completed)
	assert.Equal(t, uint64(1), st.DeadLettered)
	identity(t, st)
	for id, runs := range []int{1, 1, 1, 1, 0} {
		assert.Equal(t, runs, ctl.Runs(id), "task %d", id)
	}

	// Bad options.
	var ce *poolrt.ConfigError
	_, err := s.New(poolrt.BreakerKey(func(t T) int { return 0 }))
	assert.ErrorAs(t, err, &ce, "a key without a breaker")
	_, err = s.New(poolrt.Breaker(poolrt.BreakerPolicy{Failures: 1, Cooldown: time.Second}), poolrt.BreakerKey(func(string) int { return 0 }))
	assert.ErrorAs(t, err, &ce, "a key function of another task type")
	for _, bad := range []poolrt.BreakerPolicy{
		{Cooldown: time.Second},
		{Failures: -1, Cooldown: time.Second},
		{Failures: 1},
		{FailureRate: 1.5, Cooldown: time.Second},
		{Failures: 1, MinRequests: 3, Cooldown: time.Second},
		{FailureRate: 0.5, Window: time.Microsecond, Cooldown: time.Second},
		{FailureRate: 0.5, MinRequests: -1, Cooldown: time.Second},
		{Failures: 1, Probes: -1, Cooldown: time.Second},
		{Failures: 1, MaxHeld: 3, Cooldown: time.Second},
		{Failures: 1, Window: time.Second, Cooldown: time.Second},
		{FailureRate: 0.5, Window: -time.Second, Cooldown: time.Second},
	} {
		_, err = s.New(poolrt.Breaker(bad))
		assert.ErrorAs(t, err, &ce, "%+v", bad)
	}
	_, err = s.New(poolrt.Breaker(poolrt.BreakerPolicy{Failures: 1, Cooldown: time.Second}), poolrt.BreakerKey[T, int](nil))
	assert.ErrorAs(t, err, &ce, "a nil key function")
}

// testBreakerHold: under Hold, tasks whose breaker is open wait off the
// workers, up to MaxHeld (past it they fail fast), and run once it lets
// them through; ShutdownNow returns them; Shutdown lets them ask once
// more and dead-letters those still refused. The other patterns refuse
// Hold.
func testBreakerHold[T any](t *testing.T, s *suite[T]) {
	const cooldown = time.Second
	pol := poolrt.BreakerPolicy{Failures: 1, Cooldown: cooldown, Hold: true, MaxHeld: 2}
	if s.Pattern&retrying == 0 {
		_, err := s.New(poolrt.Breaker(pol))
		var ce *poolrt.ConfigError
		assert.ErrorAs(t, err, &ce, "Hold is refused")
		return
	}
	bubble(t, func(t *testing.T) {
		ctl := probe.New(32)
		var down atomic.Bool
		down.Store(true)
		for id := range 32 {
			ctl.SetFunc(id, func(context.Context) error {
				if down.Load() {
					return probe.ErrProbe
				}
				return nil
			})
		}
		var away turnedAway[T]
		p := s.start(t, 1, away.opt(s), poolrt.Breaker(pol), poolrt.QueueSize(8))
		ctx := context.Background()
		assert.ErrorIs(t, p.SubmitWait(ctx, s.Task(ctl, 0)), probe.ErrProbe)

		// Open: two tasks held, the third fails fast.
		waited := make(chan error, 1)
		go func() { waited <- p.SubmitWait(ctx, s.Task(ctl, 1)) }()
		synctest.Wait()
		require.NoError(t, p.Submit(ctx, s.Task(ctl, 2)))
		require.NoError(t, p.Submit(ctx, s.Task(ctl, 3)))
		synctest.Wait()
		st := p.Stats()
		assert.Equal(t, 2, st.Breaker.Holding)
		assert.Equal(t, uint64(2), st.Breaker.Held)
		assert.Equal(t, uint64(1), st.Breaker.FailedFast)
		assert.Equal(t, 0, st.Busy, "held tasks hold no worker")
		for id := 1; id <= 3; id++ {
			assert.Equal(t, 0, ctl.Runs(id), "task %d", id)
		}

		// The dependency recovers: after the cool-down the held tasks run.
		down.Store(false)
		time.Sleep(cooldown)
		synctest.Wait()
		assert.NoError(t, <-waited)
		assert.Equal(t, 1, ctl.Runs(1))
		time.Sleep(cooldown / 10) // the other one was held behind the probe
		synctest.Wait()
		assert.Equal(t, 1, ctl.Runs(2))
		assert.Equal(t, 0, p.Stats().Breaker.Holding)

		// ShutdownNow hands held tasks back.
		down.Store(true)
		assert.ErrorIs(t, p.SubmitWait(ctx, s.Task(ctl, 4)), probe.ErrProbe)
		go func() { waited <- p.SubmitWait(ctx, s.Task(ctl, 5)) }()
		synctest.Wait()
		require.NoError(t, p.Submit(ctx, s.Task(ctl, 6)))
		synctest.Wait()
		assert.ElementsMatch(t, []int{5, 6}, s.ids(p.ShutdownNow()))
		assert.ErrorIs(t, <-waited, poolrt.ErrClosed)
		for id := 5; id <= 6; id++ {
			assert.Equal(t, 0, ctl.Runs(id), "task %d", id)
		}
		assert.Equal(t, []int{3}, away.got(t))
		all := p.Stats()
		assert.Equal(t, uint64(2), all.Returned)
		assert.Equal(t, 0, all.Breaker.Holding)
		identity(t, all)

		// Shutdown: the first held task is let through as a probe after
		// the cool-down, and fails; the breaker refuses the second, which
		// is dead-lettered.
		var away2 turnedAway[T]
		p = s.start(t, 1, away2.opt(s), poolrt.Breaker(pol), poolrt.QueueSize(8))
		assert.ErrorIs(t, p.SubmitWait(ctx, s.Task(ctl, 10)), probe.ErrProbe)
		require.NoError(t, p.Submit(ctx, s.Task(ctl, 11)))
		require.NoError(t, p.Submit(ctx, s.Task(ctl, 12)))
		synctest.Wait()
		require.NoError(t, p.Shutdown(ctx))
		assert.Equal(t, 1, ctl.Runs(11))
		assert.Equal(t, 0, ctl.Runs(12))
		assert.Equal(t, []int{12}, away2.got(t))
		all = p.Stats()
		assert.Equal(t, uint64(1), all.Breaker.FailedFast)
		identity(t, all)
	})
}

// testBreakerTimeout: a task that runs out of time (TaskTimeout) is a
// failure of its dependency.
func testBreakerTimeout[T any](t *testing.T, s *suite[T]) {
	bubble(t, func(t *testing.T) {
		ctl := probe.New(4)
		ctl.SetFunc(0, func(ctx context.Context) error {
			<-ctx.Done()
			return ctx.Err()
		})
		p := s.start(t, 1, poolrt.TaskTimeout(10*time.Millisecond), poolrt.OnError(func(error) {}),
			poolrt.Breaker(poolrt.BreakerPolicy{Failures: 1, Cooldown: time.Hour}))
		ctx := context.Background()
		assert.ErrorIs(t, p.SubmitWait(ctx, s.Task(ctl, 0)), context.DeadlineExceeded)
		assert.ErrorIs(t, p.SubmitWait(ctx, s.Task(ctl, 1)), poolrt.ErrCircuitOpen, "the timeout opened the breaker")
		require.NoError(t, p.Shutdown(ctx))
		st := p.Stats()
		assert.Equal(t, uint64(1), st.TimedOut)
		assert.Equal(t, uint64(1), st.Breaker.Opens)
		identity(t, st)
	})
}

// testBreakerTorture: many tasks from several submitters, a share of
// them failing, per-key breakers opening and closing all along: every
// task either runs once or is turned away once, never both, and the
// counts agree.
func testBreakerTorture[T any](t *testing.T, s *suite[T]) {
	const n = 3000
	ctl := probe.New(n)
	for id := range n {
		if id%10 < 4 {
			ctl.Set(id, probe.Fail)
		}
	}
	var away turnedAway[T]
	opts := []poolrt.Option{away.opt(s), poolrt.QueueSize(64),
		poolrt.Breaker(poolrt.BreakerPolicy{Failures: 2, FailureRate: 0.5, MinRequests: 8, Cooldown: 50 * time.Microsecond, Probes: 2}),
		poolrt.BreakerKey(func(t T) int { return s.ID(t) % 3 })}
	if s.Pattern&retrying != 0 {
		opts = append(opts, poolrt.OnError(func(error) {})) // the recorder is OnTaskError in the others
	}
	p := s.start(t, 4, opts...)
	ctx := context.Background()
	var wg sync.WaitGroup
	for sub := range 4 {
		wg.Go(func() {
			for id := sub; id < n; id += 4 {
				if id%7 == 0 {
					_ = p.SubmitWait(ctx, s.Task(ctl, id))
					continue
				}
				assert.NoError(t, p.Submit(ctx, s.Task(ctl, id)))
			}
		})
	}
	wg.Wait()
	require.NoError(t, p.Shutdown(ctx))
	turned := away.got(t)
	once := map[int]int{}
	for _, id := range turned {
		once[id]++
	}
	refusedWaited := 0
	for id := range n {
		outcomes := ctl.Runs(id) + once[id]
		if id%7 == 0 && s.Pattern&retrying == 0 && ctl.Runs(id) == 0 && once[id] == 0 {
			refusedWaited++ // its SubmitWait caller had the error; OnTaskError did not
			continue
		}
		assert.Equal(t, 1, outcomes, "task %d: runs %d, turned away %d", id, ctl.Runs(id), once[id])
	}
	st := p.Stats()
	assert.Equal(t, uint64(len(turned)+refusedWaited), st.Breaker.FailedFast)
	assert.Positive(t, st.Breaker.Opens)
	identity(t, st)
}
