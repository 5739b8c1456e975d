package conformance

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/poolgen/poolgen/internal/probe"
	poolrt "github.com/poolgen/poolgen/runtime"
)

// RouterImpl describes a router for the suite: a router's methods are a
// Pool's, but its tasks carry a class and its pools are built per class.
// The router runs the general suite as a router of one class (Impl), and
// the router suite (RunRouter) for what routing adds: exactly-once and
// ShutdownNow across classes, and the isolation of the classes.
type RouterImpl[T any] struct {
	// Name names the rows; it becomes the subtests' name.
	Name string
	// New creates a router of classes 0..classes-1 without a default
	// route, each class's pool a fixed pool configured by opts.
	New func(classes int, opts ...poolrt.Option) (Pool[T], error)
	// Task makes task id of ctl, of class class; ID reads the id back.
	Task func(ctl *probe.Control, id, class int) T
	ID   func(T) int
}

// Impl returns the router as a pool for the general suite: a router of
// one class, whose tasks are all of that class.
func (r RouterImpl[T]) Impl() Impl[T] {
	return Impl[T]{
		Name: r.Name + "-one-class",
		New:  func(opts ...poolrt.Option) (Pool[T], error) { return r.New(1, opts...) },
		Task: func(ctl *probe.Control, id int) T { return r.Task(ctl, id, 0) },
		ID:   r.ID,
	}
}

// RunRouter runs the router suite over impl, as a subtest named
// impl.Name.
func RunRouter[T any](t *testing.T, impl RouterImpl[T]) {
	t.Helper()
	if impl.Name == "" || impl.New == nil || impl.Task == nil || impl.ID == nil {
		t.Fatalf("conformance: RouterImpl %q needs Name, New, Task and ID", impl.Name)
	}
	runTests(t, impl.Name, &impl, []namedTest[*RouterImpl[T]]{
		{"RouterExactlyOnce", testRouterExactlyOnce[T]},
		{"RouterShutdownNow", testRouterShutdownNow[T]},
		{"RouterIsolation", testRouterIsolation[T]},
		{"RouterUnknownClass", testRouterUnknownClass[T]},
	})
}

// start creates a router of classes classes, each a fixed pool of
// workers workers and a queue of queue tasks, stopped when the test
// ends.
func (r *RouterImpl[T]) start(t *testing.T, classes, workers, queue int) Pool[T] {
	t.Helper()
	p, err := r.New(classes, poolrt.Workers(workers), poolrt.QueueSize(queue))
	require.NoError(t, err)
	require.NotNil(t, p)
	t.Cleanup(func() { p.ShutdownNow() })
	return p
}

// testRouterExactlyOnce submits tasks of three classes from several
// goroutines while the router shuts down: every task Submit accepted ran
// exactly once, every one it refused never ran, and the sums of the
// classes' counters settle.
func testRouterExactlyOnce[T any](t *testing.T, r *RouterImpl[T]) {
	const classes, perSubmitter, submitters = 3, 300, 6
	ctl := probe.New(perSubmitter * submitters)
	p := r.start(t, classes, 2, 16)
	accepted := make([]bool, ctl.Len())
	var wg sync.WaitGroup
	for s := range submitters {
		wg.Go(func() {
			for i := range perSubmitter {
				id := s*perSubmitter + i
				err := p.Submit(t.Context(), r.Task(ctl, id, id%classes))
				if err == nil {
					accepted[id] = true
				} else {
					assert.ErrorIs(t, err, poolrt.ErrClosed, "Submit(%d)", id)
				}
			}
		})
	}
	time.Sleep(time.Millisecond)
	require.NoError(t, p.Shutdown(t.Context()))
	wg.Wait()
	assert.True(t, p.Closed())
	n := 0
	for id, ok := range accepted {
		want := 0
		if ok {
			want, n = 1, n+1
		}
		assert.Equal(t, want, ctl.Runs(id), "runs of task %d (accepted: %v)", id, ok)
	}
	st := p.Stats()
	assertSettled(t, st)
	assert.Equal(t, uint64(n), st.Submitted, "Submitted: the tasks accepted")
	require.NotNil(t, st.Router)
	require.Len(t, st.Router.Classes, classes)
	var sum uint64
	for _, c := range st.Router.Classes {
		sum += c.Stats.Submitted
	}
	assert.Equal(t, st.Submitted, sum, "the total is the classes' sum")
}

// testRouterShutdownNow holds every worker of every class and fills every
// queue: ShutdownNow returns every accepted task that never started, of
// every class, once, and none of them runs.
func testRouterShutdownNow[T any](t *testing.T, r *RouterImpl[T]) {
	const classes, workers, queue = 3, 1, 4
	ctl := probe.New(100)
	p := r.start(t, classes, workers, queue)
	id := 0
	for c := range classes {
		ctl.Set(id, probe.Block)
		require.NoError(t, p.Submit(t.Context(), r.Task(ctl, id, c)))
		require.Equal(t, id, awaitStarted(t, ctl))
		id++
	}
	var queued []int
	for c := range classes {
		for {
			err := p.TrySubmit(r.Task(ctl, id, c))
			if errors.Is(err, poolrt.ErrQueueFull) {
				break
			}
			require.NoError(t, err)
			queued = append(queued, id)
			id++
		}
	}
	require.GreaterOrEqual(t, len(queued), classes*queue, "every class's queue took its tasks")
	got := r.ids(p.ShutdownNow())
	assertUnique(t, got, "ShutdownNow")
	assert.ElementsMatch(t, queued, got, "ShutdownNow returns the queued tasks of every class")
	for _, q := range queued {
		assert.Zero(t, ctl.Runs(q), "returned task %d ran", q)
	}
	assert.Empty(t, p.ShutdownNow(), "a second ShutdownNow returns nothing")
	st := p.Stats()
	assertSettled(t, st)
	assert.Equal(t, uint64(len(queued)), st.Returned)
	assert.ErrorIs(t, p.Submit(t.Context(), r.Task(ctl, 99, 0)), poolrt.ErrClosed)
}

// testRouterIsolation saturates class 0 (its worker held, its queue
// full): a task of class 1 still runs at once, Submit of class 1 does not
// wait for class 0, and class 0's TrySubmit reports its queue full.
func testRouterIsolation[T any](t *testing.T, r *RouterImpl[T]) {
	ctl := probe.New(100)
	p := r.start(t, 2, 1, 2)
	ctl.Set(0, probe.Block)
	require.NoError(t, p.Submit(t.Context(), r.Task(ctl, 0, 0)))
	require.Equal(t, 0, awaitStarted(t, ctl))
	id := 1
	for ; ; id++ {
		if err := p.TrySubmit(r.Task(ctl, id, 0)); err != nil {
			require.ErrorIs(t, err, poolrt.ErrQueueFull)
			break
		}
	}
	blocked := id
	// A Submit of class 0 now waits for room; class 1 is not held up.
	done := make(chan error, 1)
	go func() { done <- p.Submit(t.Context(), r.Task(ctl, blocked, 0)) }()
	for i := range 10 {
		require.NoError(t, p.SubmitWait(t.Context(), r.Task(ctl, 50+i, 1)), "SubmitWait of class 1 while class 0 is full")
		assert.Equal(t, 1, ctl.Runs(50+i))
	}
	select {
	case err := <-done:
		t.Fatalf("Submit of saturated class 0 returned %v before class 0 had room", err)
	default:
	}
	ctl.Release()
	require.NoError(t, <-done)
	require.NoError(t, p.Shutdown(t.Context()))
	for i := 0; i <= blocked; i++ {
		assert.Equal(t, 1, ctl.Runs(i), "task %d of class 0", i)
	}
	assertSettled(t, p.Stats())
}

// testRouterUnknownClass submits a task of a class no route names to a
// router without a default route: ErrUnknownClass, the task never runs,
// and Stats counts it as unknown.
func testRouterUnknownClass[T any](t *testing.T, r *RouterImpl[T]) {
	ctl := probe.New(4)
	p := r.start(t, 2, 1, 4)
	assert.ErrorIs(t, p.Submit(t.Context(), r.Task(ctl, 0, 7)), poolrt.ErrUnknownClass)
	assert.ErrorIs(t, p.TrySubmit(r.Task(ctl, 1, -1)), poolrt.ErrUnknownClass)
	assert.ErrorIs(t, p.SubmitWait(t.Context(), r.Task(ctl, 2, 2)), poolrt.ErrUnknownClass)
	require.NoError(t, p.SubmitWait(t.Context(), r.Task(ctl, 3, 1)))
	require.NoError(t, p.Shutdown(t.Context()))
	st := p.Stats()
	assert.Equal(t, uint64(3), st.Router.Unknown)
	assert.Equal(t, uint64(1), st.Submitted)
	assert.Equal(t, []int{0, 0, 0, 1}, []int{ctl.Runs(0), ctl.Runs(1), ctl.Runs(2), ctl.Runs(3)})
}

// ids returns the ids of tasks.
func (r *RouterImpl[T]) ids(tasks []T) []int {
	out := make([]int, len(tasks))
	for i, task := range tasks {
		out[i] = r.ID(task)
	}
	return out
}
