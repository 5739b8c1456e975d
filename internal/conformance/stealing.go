package conformance

import (
	"context"
	"sync"
	"testing"
	"testing/synctest"

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
