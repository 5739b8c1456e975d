package conformance

import (
	"context"
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

// StealingPool is what a work-stealing pool offers beyond [Pool]: Fork,
// which queues a subtask of the running task whose Run was given ctx.
type StealingPool[T any] interface {
	Pool[T]
	Fork(ctx context.Context, t T) error
}

// RunStealing runs the work-stealing suite over impl, as a subtest named
// impl.Name: the behavior of Fork that the general suite ([Run]), which
// only submits, cannot see. impl is a row of the general suite; the pools
// its New returns must implement [StealingPool].
func RunStealing[T any](t *testing.T, impl Impl[T]) {
	t.Helper()
	if impl.Name == "" || impl.New == nil || impl.Task == nil || impl.ID == nil {
		t.Fatalf("conformance: Impl %q needs Name, New, Task and ID", impl.Name)
	}
	impl = impl.withOptions()
	s := &suite[T]{Impl: impl}
	runTests(t, impl.Name, s, stealingCases[T]())
}

// stealingCases lists the tests of the work-stealing suite.
func stealingCases[T any]() []testCase[T] {
	return []testCase[T]{
		{"ForkOverflow", testForkOverflow[T]},
		{"ForkPropagates", testForkPropagates[T]},
		{"ForkRetry", testForkRetry[T]},
		{"ForkRetryBound", testForkRetryBound[T]},
		{"ForkBreaker", testForkBreaker[T]},
	}
}

// startStealing is suite.start for a pool that must implement
// [StealingPool].
func (s *suite[T]) startStealing(t *testing.T, workers int, opts ...poolrt.Option) StealingPool[T] {
	t.Helper()
	p := s.start(t, workers, opts...)
	sp, ok := p.(StealingPool[T])
	if !ok {
		t.Fatalf("%T has no method Fork(context.Context, %T) error", p, *new(T))
	}
	return sp
}

// testForkOverflow: a task forks more subtasks than its worker's deque
// holds, and the injector has room for only some of the rest. Fork keeps
// its promise in order: the first subtasks go onto the deque, the next to
// the injector, both queued and not run before Fork returns; the rest run
// at once on the forking goroutine, before Fork returns nil. None is
// lost: every subtask runs exactly once, and Stats counts each fork where
// it went.
func testForkOverflow[T any](t *testing.T, s *suite[T]) {
	bubble(t, func(t *testing.T) {
		const deque, injector, forks = 2, 2, 10
		ctl := probe.New(1 + forks)
		p := s.startStealing(t, 1, poolrt.DequeSize(deque), poolrt.QueueSize(injector))

		var (
			mu       sync.Mutex
			rootG    string
			ranOn    = make([]string, 1+forks) // goroutine each subtask ran on
			atReturn = make([]int, 1+forks)    // runs of each subtask when its Fork returned
			errs     = make([]error, 1+forks)
		)
		for id := 1; id <= forks; id++ {
			ctl.SetFunc(id, func(context.Context) error {
				mu.Lock()
				ranOn[id] = goid()
				mu.Unlock()
				return nil
			})
		}
		ctl.SetFunc(0, func(ctx context.Context) error {
			mu.Lock()
			rootG = goid()
			mu.Unlock()
			for id := 1; id <= forks; id++ {
				err := p.Fork(ctx, s.Task(ctl, id))
				runs := ctl.Runs(id)
				mu.Lock()
				errs[id], atReturn[id] = err, runs
				mu.Unlock()
			}
			return nil
		})
		require.NoError(t, p.Submit(context.Background(), s.Task(ctl, 0)))
		synctest.Wait()
		assert.Equal(t, 1+forks, ctl.Total(), "task runs once every queued subtask has run")
		// Before Shutdown, which closes the injector to forks.
		require.NoError(t, p.Shutdown(context.Background()))

		assertRuns(t, ctl, 1, span(0, 1+forks)...)
		mu.Lock()
		defer mu.Unlock()
		for id := 1; id <= forks; id++ {
			assert.NoError(t, errs[id], "Fork(%d)", id)
		}
		queued := deque + injector
		for id := 1; id <= queued; id++ {
			assert.Zero(t, atReturn[id], "subtask %d (deque or injector) ran before its Fork returned", id)
		}
		for id := queued + 1; id <= forks; id++ {
			assert.Equal(t, 1, atReturn[id], "subtask %d (deque and injector full) had not run when its Fork returned", id)
			if ranOn[id] != "" {
				assert.Equal(t, rootG, ranOn[id], "subtask %d (deque and injector full) ran on another goroutine than the forking one", id)
			}
		}

		st := p.Stats()
		assertSettled(t, st)
		assert.Equal(t, uint64(1+forks), st.Submitted, "Submitted: the task and its subtasks")
		assert.Equal(t, uint64(1+forks), st.Completed, "Completed")
		assert.Zero(t, st.CallerRuns, "CallerRuns: forks that run inline are not CallerRuns")
		require.NotNil(t, st.Stealing, "Stats.Stealing")
		assert.Equal(t, uint64(deque), st.Stealing.Forked, "Stats.Stealing.Forked (onto the deque)")
		assert.Equal(t, uint64(injector), st.Stealing.ForkedToInjector, "Stats.Stealing.ForkedToInjector")
		assert.Equal(t, uint64(forks-queued), st.Stealing.ForkedInline, "Stats.Stealing.ForkedInline")
	})
}

// testForkRetry: a subtask that fails is retried in place, as a
// submitted task is: after its backoff, on any worker, seeing its attempt
// number, up to MaxAttempts runs; one that fails for good is
// dead-lettered once. The parent does not wait: its continuation counter
// fires when the last subtask succeeds. Stats count the retries, and the
// identity holds with the subtasks in Submitted.
func testForkRetry[T any](t *testing.T, s *suite[T]) {
	bubble(t, func(t *testing.T) {
		const forks, attempts = 8, 3
		ctl := probe.New(1 + forks)
		var dl deadLetters[T]
		p := s.startStealing(t, 2, dl.opt(s), poolrt.Retry(poolrt.RetryPolicy{MaxAttempts: attempts, Initial: time.Millisecond, Max: 4 * time.Millisecond}))
		var mu sync.Mutex
		seen := make([][]int, 1+forks)
		var succeeded atomic.Int32
		for id := 1; id <= forks; id++ {
			// Subtask id succeeds at attempt id%3+1; the last never does.
			ctl.SetFunc(id, func(ctx context.Context) error {
				a := poolrt.Attempt(ctx)
				mu.Lock()
				seen[id] = append(seen[id], a)
				mu.Unlock()
				if id == forks || a < id%attempts+1 {
					return probe.ErrProbe
				}
				succeeded.Add(1)
				return nil
			})
		}
		ctl.SetFunc(0, func(ctx context.Context) error {
			for id := 1; id <= forks; id++ {
				if err := p.Fork(ctx, s.Task(ctl, id)); err != nil {
					return err
				}
			}
			return nil
		})
		require.NoError(t, p.Submit(context.Background(), s.Task(ctl, 0)))
		time.Sleep(time.Second)
		synctest.Wait()
		assert.Equal(t, int32(forks-1), succeeded.Load(), "every subtask but the last succeeded, retried in place")
		require.NoError(t, p.Shutdown(context.Background()))

		retries, recovered := 0, 0
		mu.Lock()
		for id := 1; id <= forks; id++ {
			runs := id%attempts + 1
			if id == forks {
				runs = attempts
			}
			assert.Equal(t, span(1, runs+1), seen[id], "subtask %d's attempts", id)
			retries += runs - 1
			if runs > 1 && id != forks {
				recovered++
			}
		}
		mu.Unlock()
		assert.Equal(t, []int{forks}, dl.sorted(), "the subtask that failed for good, once")
		assert.Equal(t, map[int]int{forks: attempts}, dl.attempts)
		st := p.Stats()
		assertSettled(t, st)
		assert.Equal(t, uint64(retries), st.Retries, "Retries")
		assert.Equal(t, uint64(recovered), st.RetrySucceeded, "RetrySucceeded")
		assert.Equal(t, uint64(1), st.DeadLettered, "DeadLettered")
		assert.Equal(t, uint64(1+forks), st.Submitted, "Submitted: the task and its subtasks, once each")
		require.NotNil(t, st.Stealing)
		assert.Equal(t, uint64(forks), st.Stealing.Forked+st.Stealing.ForkedToInjector, "Stats.Stealing.Forked: each subtask once, however often it ran")
	})
}

// testForkRetryBound: a subtask forked onto a deque holds no place in
// QueueSize until it must wait to retry; when every place is taken (here
// by its parent, waiting to retry itself) it is not retried: it fails
// for good at once, dead-lettered after one run.
func testForkRetryBound[T any](t *testing.T, s *suite[T]) {
	bubble(t, func(t *testing.T) {
		ctl := probe.New(2)
		var dl deadLetters[T]
		p := s.startStealing(t, 1, dl.opt(s), poolrt.QueueSize(1), poolrt.OnFull(poolrt.Reject),
			poolrt.Retry(poolrt.RetryPolicy{MaxAttempts: 3, Initial: time.Hour, Max: time.Hour}))
		ctl.SetFunc(0, func(ctx context.Context) error {
			if err := p.Fork(ctx, s.Task(ctl, 1)); err != nil {
				return err
			}
			return probe.ErrProbe // the parent waits to retry, with the one place
		})
		ctl.Set(1, probe.Fail)
		require.NoError(t, p.Submit(context.Background(), s.Task(ctl, 0)))
		synctest.Wait()
		assert.Equal(t, 1, ctl.Runs(1))
		assert.Equal(t, []int{1}, dl.sorted(), "the subtask, with no place to wait in, failed for good")
		assert.Equal(t, map[int]int{1: 1}, dl.attempts)
		assert.ErrorIs(t, p.TrySubmit(s.Task(ctl, 0)), poolrt.ErrQueueFull, "the parent keeps its place")
		assert.Equal(t, []int{0}, s.ids(p.ShutdownNow()), "the parent waiting to retry is handed back")
		st := p.Stats()
		assertSettled(t, st)
		assert.Equal(t, uint64(1), st.Retries)
		assert.Equal(t, uint64(1), st.DeadLettered)
		assert.Equal(t, uint64(1), st.Returned)
		assert.True(t, slices.Equal([]int{1, 1}, []int{ctl.Runs(0), ctl.Runs(1)}), "each ran once")
	})
}

// testForkBreaker: subtasks their breaker turns away are counted once,
// in Stats.Stealing.Forked (so in Submitted) and in DeadLettered: the
// identity holds.
func testForkBreaker[T any](t *testing.T, s *suite[T]) {
	bubble(t, func(t *testing.T) {
		const forks = 3
		ctl := probe.New(1 + forks)
		p := s.startStealing(t, 1, poolrt.OnError(func(error) {}),
			poolrt.Breaker(poolrt.BreakerPolicy{Failures: 1, Cooldown: time.Hour}))
		for id := 1; id <= forks; id++ {
			ctl.Set(id, probe.Fail) // the first to run opens the breaker
		}
		ctl.SetFunc(0, func(ctx context.Context) error {
			for id := 1; id <= forks; id++ {
				if err := p.Fork(ctx, s.Task(ctl, id)); err != nil {
					return err
				}
			}
			return nil
		})
		require.NoError(t, p.Submit(context.Background(), s.Task(ctl, 0)))
		synctest.Wait()
		require.NoError(t, p.Shutdown(context.Background()))
		st := p.Stats()
		assertSettled(t, st)
		assert.Equal(t, 2, ctl.Total(), "the task and the subtask that opened the breaker")
		assert.Equal(t, uint64(forks-1), st.DeadLettered, "the subtasks turned away")
		assert.Equal(t, uint64(1+forks), st.Submitted, "Submitted: the task and every subtask")
		require.NotNil(t, st.Stealing)
		assert.Equal(t, uint64(forks), st.Stealing.Forked, "Stats.Stealing.Forked")
	})
}
