package conformance

import (
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/poolgen/poolgen/internal/probe"
	poolrt "github.com/poolgen/poolgen/runtime"
)

// deadLetters records the tasks given to OnDeadLetter.
type deadLetters[T any] struct {
	mu       sync.Mutex
	ids      []int
	attempts map[int]int
	errs     map[int]error
}

func (d *deadLetters[T]) opt(s *suite[T]) poolrt.Option {
	d.attempts, d.errs = map[int]int{}, map[int]error{}
	return poolrt.OnDeadLetter(func(t T, err error, attempts int) {
		d.mu.Lock()
		defer d.mu.Unlock()
		id := s.ID(t)
		d.ids = append(d.ids, id)
		d.attempts[id] = attempts
		d.errs[id] = err
	})
}

func (d *deadLetters[T]) sorted() []int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Sorted(slices.Values(d.ids))
}

// letters reports whether the suite's pattern takes Retry, OnDeadLetter
// and a breaker's Hold.
func (s *suite[T]) letters() bool {
	return s.Pattern&(Fixed|Dynamic|Stealing|Priority|Batch|Fair) != 0
}

// retries reports whether the suite's pattern takes Retry; for the others
// it checks that the options are refused.
func (s *suite[T]) retries(t *testing.T) bool {
	if s.letters() {
		return true
	}
	_, err := s.New(poolrt.Retry(poolrt.RetryPolicy{MaxAttempts: 2, Initial: time.Millisecond, Max: time.Millisecond}))
	var ce *poolrt.ConfigError
	assert.ErrorAs(t, err, &ce, "Retry is refused")
	_, err = s.New(poolrt.OnDeadLetter(func(T, error, int) {}))
	assert.ErrorAs(t, err, &ce, "OnDeadLetter is refused")
	return false
}

// identity checks that every accepted task has had its one outcome.
func identity(t *testing.T, st poolrt.Stats) {
	t.Helper()
	assert.Equal(t, st.Submitted, st.Completed+st.Panicked+st.DeadLettered+st.Returned, "Submitted = Completed + Panicked + DeadLettered + Returned: %+v", st)
}

// testRetry: a failing task runs again after a backoff within its bounds,
// up to MaxAttempts runs, seeing its attempt number; a Permanent error or
// one the classifier refuses is not retried; the tasks that fail for good
// reach OnDeadLetter once with their last error and attempts, and
// SubmitWait gets the final outcome.
func testRetry[T any](t *testing.T, s *suite[T]) {
	if !s.retries(t) {
		return
	}
	const initial, maxDelay = 10 * time.Millisecond, 40 * time.Millisecond
	notRetryable := errors.New("not retryable")
	bubble(t, func(t *testing.T) {
		ctl := probe.New(8)
		var dl deadLetters[T]
		p := s.start(t, 2, dl.opt(s), poolrt.OnPanic(func(*poolrt.PanicError) {}), poolrt.Retry(poolrt.RetryPolicy{
			MaxAttempts: 5, Initial: initial, Max: maxDelay,
			Retryable: func(err error) bool { return !errors.Is(err, notRetryable) },
		}))
		ctx := context.Background()

		// Always failing: 5 runs, each delay within its cap.
		var starts []time.Time
		var seen []int
		ctl.SetFunc(0, func(ctx context.Context) error {
			starts = append(starts, time.Now())
			seen = append(seen, poolrt.Attempt(ctx))
			return probe.ErrProbe
		})
		err := p.SubmitWait(ctx, s.Task(ctl, 0))
		assert.ErrorIs(t, err, probe.ErrProbe, "SubmitWait gets the last error")
		assert.Equal(t, 5, ctl.Runs(0))
		assert.Equal(t, []int{1, 2, 3, 4, 5}, seen, "Run sees its attempt")
		for n := 1; n < len(starts); n++ {
			limit := min(maxDelay, initial<<(n-1))
			d := starts[n].Sub(starts[n-1])
			assert.True(t, d >= 0 && d <= limit, "retry %d waited %v, cap %v", n, d, limit)
		}

		// Down for a while, then recovering: succeeds on its third run.
		ctl.SetFunc(1, func(ctx context.Context) error {
			if poolrt.Attempt(ctx) < 3 {
				return probe.ErrProbe
			}
			return nil
		})
		assert.NoError(t, p.SubmitWait(ctx, s.Task(ctl, 1)))
		assert.Equal(t, 3, ctl.Runs(1))

		// Permanent and not retryable: one run each.
		ctl.SetFunc(2, func(context.Context) error { return poolrt.Permanent(probe.ErrProbe) })
		ctl.SetFunc(3, func(context.Context) error { return notRetryable })
		require.NoError(t, p.Submit(ctx, s.Task(ctl, 2)))
		require.NoError(t, p.Submit(ctx, s.Task(ctl, 3)))
		// A panic is not retried either.
		ctl.Set(4, probe.Panic)
		require.NoError(t, p.Submit(ctx, s.Task(ctl, 4)))
		ctl.Set(5, probe.Succeed)
		require.NoError(t, p.Submit(ctx, s.Task(ctl, 5)))
		require.NoError(t, p.Shutdown(ctx))
		for id, runs := range map[int]int{2: 1, 3: 1, 4: 1, 5: 1} {
			assert.Equal(t, runs, ctl.Runs(id), "task %d", id)
		}

		assert.Equal(t, []int{0, 2, 3}, dl.sorted(), "the tasks that failed for good, once each")
		assert.Equal(t, map[int]int{0: 5, 2: 1, 3: 1}, dl.attempts)
		assert.True(t, poolrt.IsPermanent(dl.errs[2]))
		assert.ErrorIs(t, dl.errs[2], probe.ErrProbe, "Permanent unwraps")
		st := p.Stats()
		assert.Equal(t, uint64(4+2), st.Retries)
		assert.Equal(t, uint64(1), st.RetrySucceeded)
		assert.Equal(t, uint64(3), st.DeadLettered)
		assert.Equal(t, uint64(2), st.Completed)
		assert.Equal(t, uint64(0), st.Failed, "a dead-lettered task is not in Failed")
		assert.Equal(t, uint64(1), st.Panicked)
		identity(t, st)
	})
}

// testRetryFraction: a dependency failing a seeded fraction of calls;
// every task ends once, succeeded or dead-lettered after exactly
// MaxAttempts runs, and the counts add up.
func testRetryFraction[T any](t *testing.T, s *suite[T]) {
	if !s.retries(t) {
		return
	}
	const n, attempts = 200, 3
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	bubble(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(uint64(seed), 1))
		var mu sync.Mutex
		ctl := probe.New(n)
		var dl deadLetters[T]
		p := s.start(t, 4, dl.opt(s), poolrt.QueueSize(n), poolrt.Retry(poolrt.RetryPolicy{MaxAttempts: attempts, Initial: time.Millisecond, Max: 5 * time.Millisecond}))
		for id := range n {
			ctl.SetFunc(id, func(context.Context) error {
				mu.Lock()
				defer mu.Unlock()
				if rng.IntN(10) < 4 {
					return probe.ErrProbe
				}
				return nil
			})
			require.NoError(t, p.Submit(context.Background(), s.Task(ctl, id)))
		}
		require.NoError(t, p.Shutdown(context.Background()), "Shutdown runs the pending retries to their end")
		st := p.Stats()
		runs, dead := 0, 0
		for id := range n {
			r := ctl.Runs(id)
			runs += r
			require.True(t, r >= 1 && r <= attempts, "task %d ran %d times", id, r)
			if r == attempts && slices.Contains(dl.sorted(), id) {
				dead++
			}
		}
		assert.Equal(t, len(dl.sorted()), dead, "the dead letters are tasks that ran MaxAttempts times")
		assert.Equal(t, uint64(runs-n), st.Retries)
		assert.Equal(t, uint64(dead), st.DeadLettered)
		identity(t, st)
	})
}

// testRetryShutdownNow: ShutdownNow hands back the tasks waiting to
// retry with the other unstarted ones, and their waiting submitters get
// poolrt.ErrClosed; no goroutine or timer is left.
func testRetryShutdownNow[T any](t *testing.T, s *suite[T]) {
	if !s.retries(t) {
		return
	}
	bubble(t, func(t *testing.T) {
		ctl := probe.New(4)
		p := s.start(t, 1, poolrt.Retry(poolrt.RetryPolicy{MaxAttempts: 3, Initial: time.Hour, Max: time.Hour}))
		ctl.Set(0, probe.Fail)
		ctl.Set(1, probe.Fail)
		got := make(chan error, 1)
		go func() { got <- p.SubmitWait(context.Background(), s.Task(ctl, 0)) }()
		require.NoError(t, p.Submit(context.Background(), s.Task(ctl, 1)))
		synctest.Wait()
		assert.Equal(t, uint64(2), p.Stats().Retries)
		back := s.ids(p.ShutdownNow())
		assert.ElementsMatch(t, []int{0, 1}, back)
		assert.ErrorIs(t, <-got, poolrt.ErrClosed)
		st := p.Stats()
		assert.Equal(t, uint64(2), st.Returned)
		identity(t, st)
	})
}

// testRetryTorture: a seeded random mix of submissions (some waited
// for), successes, retryable and Permanent failures, timeouts and panics,
// ended by Shutdown or ShutdownNow at a random moment: every accepted
// task ends exactly once, as succeeded, dead-lettered, panicked or
// returned, and the counters add up.
func testRetryTorture[T any](t *testing.T, s *suite[T]) {
	if !s.retries(t) {
		return
	}
	for round := range 4 {
		seed := time.Now().UnixNano() + int64(round)
		ok := t.Run("", func(t *testing.T) { retryTorture(t, s, seed) })
		if !ok {
			t.Fatalf("failed with seed %d", seed)
		}
	}
}

func retryTorture[T any](t *testing.T, s *suite[T], seed int64) {
	const n = 300
	bubble(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(uint64(seed), 2)) // the test's
		var mu sync.Mutex                             // guards ends and taskRng
		taskRng := rand.New(rand.NewPCG(uint64(seed), 3))
		ends := make([]int, n) // outcomes per task
		end := func(id int) {
			mu.Lock()
			ends[id]++
			mu.Unlock()
		}
		ctl := probe.New(n)
		for id := range n {
			ctl.SetFunc(id, func(ctx context.Context) error {
				mu.Lock()
				k := taskRng.IntN(10)
				mu.Unlock()
				switch {
				case k < 4:
					end(id)
					return nil
				case k < 7:
					return probe.ErrProbe
				case k < 8:
					return poolrt.Permanent(probe.ErrProbe)
				case k < 9:
					<-ctx.Done() // times out
					return ctx.Err()
				}
				end(id)
				panic(probe.ErrProbe)
			})
		}
		opts := []poolrt.Option{
			// Room for all: a waited submission blocked on a full queue
			// would be refused by the shutdown, and counted as accepted.
			poolrt.QueueSize(n), poolrt.TaskTimeout(time.Millisecond),
			poolrt.Retry(poolrt.RetryPolicy{MaxAttempts: 4, Initial: time.Millisecond, Max: 8 * time.Millisecond}),
			poolrt.OnDeadLetter(func(task T, err error, attempts int) {
				if !poolrt.IsPermanent(err) && attempts != 4 {
					t.Errorf("task %d dead-lettered after %d attempts with %v", s.ID(task), attempts, err)
				}
				end(s.ID(task))
			}),
			poolrt.OnPanic(func(*poolrt.PanicError) {}),
		}
		p := s.start(t, 1+rng.IntN(4), opts...)
		accepted := make([]bool, n)
		var wg sync.WaitGroup
		stopAt := rng.IntN(n + 1)
		now := rng.IntN(2) == 0
		for id := range n {
			if id == stopAt {
				break
			}
			if rng.IntN(4) == 0 {
				accepted[id] = true
				wg.Go(func() { _ = p.SubmitWait(context.Background(), s.Task(ctl, id)) })
				continue
			}
			accepted[id] = p.Submit(context.Background(), s.Task(ctl, id)) == nil
			if rng.IntN(8) == 0 {
				time.Sleep(time.Duration(rng.IntN(3)) * time.Millisecond)
			}
		}
		synctest.Wait()
		if now {
			for _, task := range p.ShutdownNow() {
				end(s.ID(task))
			}
		} else {
			require.NoError(t, p.Shutdown(context.Background()))
		}
		wg.Wait()
		st := p.Stats()
		identity(t, st)
		mu.Lock()
		defer mu.Unlock()
		for id := range n {
			want := 0
			if accepted[id] {
				want = 1
			}
			if ends[id] != want {
				t.Errorf("seed %d: task %d (accepted %v) ended %d times", seed, id, accepted[id], ends[id])
			}
		}
	})
}

// testRetryBound: tasks waiting to retry keep their place in QueueSize, so
// submissions are refused while they wait; a bad policy or a dead-letter
// handler of another task type is a *poolrt.ConfigError.
func testRetryBound[T any](t *testing.T, s *suite[T]) {
	if !s.retries(t) {
		return
	}
	var ce *poolrt.ConfigError
	for _, p := range []poolrt.RetryPolicy{
		{MaxAttempts: 1, Initial: 1, Max: 1},
		{MaxAttempts: 2, Initial: 2, Max: 1},
		{MaxAttempts: 2, Initial: 1, Max: 1, Multiplier: 0.5},
	} {
		_, err := s.New(poolrt.Retry(p))
		assert.ErrorAs(t, err, &ce, "%+v", p)
	}
	_, err := s.New(poolrt.OnDeadLetter(func(struct{}, error, int) {}))
	assert.ErrorAs(t, err, &ce, "a handler of another task type")
	_, err = s.New(poolrt.OnDeadLetter[T](nil))
	assert.ErrorAs(t, err, &ce, "a nil handler")
	assert.Nil(t, poolrt.Permanent(nil))
	assert.Equal(t, 1, poolrt.Attempt(context.Background()), "outside a pool")

	bubble(t, func(t *testing.T) {
		ctl := probe.New(4)
		p := s.start(t, 1, poolrt.QueueSize(2), poolrt.OnFull(poolrt.Reject),
			poolrt.Retry(poolrt.RetryPolicy{MaxAttempts: 2, Initial: time.Hour, Max: time.Hour}))
		ctl.Set(0, probe.Fail)
		ctl.Set(1, probe.Fail)
		require.NoError(t, p.Submit(context.Background(), s.Task(ctl, 0)))
		require.NoError(t, p.Submit(context.Background(), s.Task(ctl, 1)))
		synctest.Wait()
		require.Equal(t, uint64(2), p.Stats().Retries)
		assert.ErrorIs(t, p.TrySubmit(s.Task(ctl, 2)), poolrt.ErrQueueFull, "the waiting retries fill the bound")
		assert.ErrorIs(t, p.Submit(context.Background(), s.Task(ctl, 3)), poolrt.ErrQueueFull)
		assert.ElementsMatch(t, []int{0, 1}, s.ids(p.ShutdownNow()))
		identity(t, p.Stats())
	})
	// Under Block, a submitter waits for a token: the retried task's end
	// gives it back.
	bubble(t, func(t *testing.T) {
		ctl := probe.New(2)
		p := s.start(t, 1, poolrt.QueueSize(1), poolrt.OnFull(poolrt.Block),
			poolrt.Retry(poolrt.RetryPolicy{MaxAttempts: 2, Initial: time.Second, Max: time.Second}))
		ctl.SetFunc(0, func(ctx context.Context) error {
			if poolrt.Attempt(ctx) == 1 {
				return probe.ErrProbe
			}
			return nil
		})
		ctl.Set(1, probe.Succeed)
		require.NoError(t, p.Submit(context.Background(), s.Task(ctl, 0)))
		synctest.Wait()
		require.Equal(t, 1, ctl.Runs(0))
		submitted := make(chan error, 1)
		go func() { submitted <- p.Submit(context.Background(), s.Task(ctl, 1)) }()
		synctest.Wait()
		if ctl.Runs(0) == 1 { // the retry is still waiting (its delay may be 0)
			assert.Equal(t, 0, ctl.Runs(1), "the submitter waits while the retry holds the bound")
			assert.Empty(t, submitted)
		}
		time.Sleep(time.Second)
		synctest.Wait()
		assert.NoError(t, <-submitted)
		assert.Equal(t, 2, ctl.Runs(0))
		assert.Equal(t, 1, ctl.Runs(1), "admitted once the retried task ended")
		require.NoError(t, p.Shutdown(context.Background()))
		st := p.Stats()
		assert.Equal(t, uint64(2), st.Completed)
		identity(t, st)
	})
}

// testCallerRunsDeadLetter: under CallerRuns with dead letters and
// retries, a task its submitter ran (the queue was full) is not retried,
// and if it fails it fails for good as a worker's last attempt does:
// dead-lettered once, with one attempt, counted in DeadLettered and not
// in Failed; SubmitWait gets the error as well.
func testCallerRunsDeadLetter[T any](t *testing.T, s *suite[T]) {
	if !s.retries(t) {
		return
	}
	bubble(t, func(t *testing.T) {
		const workers, size = 2, 2
		ctl := probe.New(16)
		var dl deadLetters[T]
		// With Retry, QueueSize bounds the tasks running too.
		p := s.start(t, workers, dl.opt(s), poolrt.QueueSize(workers+size), poolrt.OnFull(poolrt.CallerRuns),
			poolrt.Retry(poolrt.RetryPolicy{MaxAttempts: 3, Initial: time.Millisecond, Max: time.Millisecond}))
		s.block(t, p, ctl, 0, 1)
		for id := 2; id < 2+size; id++ {
			require.NoError(t, p.Submit(context.Background(), s.Task(ctl, id)))
		}

		ctl.Set(10, probe.Fail)
		require.NoError(t, p.Submit(context.Background(), s.Task(ctl, 10)))
		assert.Equal(t, 1, ctl.Runs(10), "the caller ran it once, before Submit returned")
		ctl.Set(11, probe.Fail)
		assert.ErrorIs(t, p.SubmitWait(context.Background(), s.Task(ctl, 11)), probe.ErrProbe, "SubmitWait gets the error")
		assert.Equal(t, 1, ctl.Runs(11))
		ctl.Set(12, probe.Succeed)
		require.NoError(t, p.Submit(context.Background(), s.Task(ctl, 12)))
		assert.Equal(t, []int{10, 11}, dl.sorted(), "dead-lettered before Submit returned, once each")
		assert.Equal(t, map[int]int{10: 1, 11: 1}, dl.attempts)
		assert.ErrorIs(t, dl.errs[10], probe.ErrProbe)

		ctl.Release()
		require.NoError(t, p.Shutdown(context.Background()))
		assertRuns(t, ctl, 1, 10, 11, 12)
		st := p.Stats()
		assert.Equal(t, uint64(3), st.CallerRuns)
		assert.Equal(t, uint64(2), st.DeadLettered)
		assert.Zero(t, st.Failed, "a dead-lettered task is not in Failed")
		assert.Zero(t, st.Retries, "a task run by its submitter is not retried")
		assert.Equal(t, uint64(workers+size+1), st.Completed)
		identity(t, st)
	})

	// Without a dead-letter handler the failure goes to OnError, unless
	// the submitter waited for it; it is dead-lettered all the same.
	bubble(t, func(t *testing.T) {
		const workers, size = 2, 2
		ctl := probe.New(16)
		var rec recorder
		p := s.start(t, workers, append(rec.opts(), poolrt.QueueSize(workers+size), poolrt.OnFull(poolrt.CallerRuns),
			poolrt.Retry(poolrt.RetryPolicy{MaxAttempts: 3, Initial: time.Millisecond, Max: time.Millisecond}))...)
		s.block(t, p, ctl, 0, 1)
		for id := 2; id < 2+size; id++ {
			require.NoError(t, p.Submit(context.Background(), s.Task(ctl, id)))
		}
		ctl.Set(10, probe.Fail)
		ctl.Set(11, probe.Fail)
		require.NoError(t, p.Submit(context.Background(), s.Task(ctl, 10)))
		assert.ErrorIs(t, p.SubmitWait(context.Background(), s.Task(ctl, 11)), probe.ErrProbe)
		errs := rec.failed()
		if assert.Len(t, errs, 1, "OnError has the failure its submitter did not wait for") {
			assert.ErrorIs(t, errs[0], probe.ErrProbe)
		}
		ctl.Release()
		require.NoError(t, p.Shutdown(context.Background()))
		st := p.Stats()
		assert.Equal(t, uint64(2), st.DeadLettered)
		assert.Zero(t, st.Failed)
		identity(t, st)
	})
}
