package conformance

import (
	"bytes"
	"errors"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"go.uber.org/goleak"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/poolgen/poolgen/internal/probe"
	poolrt "github.com/poolgen/poolgen/runtime"
)

// waitLimit bounds every wait for a task to start: real time outside a
// synctest bubble, fake time inside one (where it fires at once when the
// bubble deadlocks, turning a hang into a failure that says what it waited
// for).
const waitLimit = 10 * time.Second

// bubble runs f in a testing/synctest bubble, as synctest.Test does, but
// turns a deadlock of the bubble (which synctest reports by panicking)
// into a failure of this test alone: the tests of the other pools still
// run and report. The deadlocked goroutines are left behind; the leak
// checks of later tests ignore them (see leaked).
func bubble(t *testing.T, f func(*testing.T)) {
	t.Helper()
	defer func() {
		if v := recover(); v != nil {
			leaked.Store(true)
			t.Fatalf("%v (the pool's goroutines are left blocked; later leak checks ignore them)", v)
		}
	}()
	synctest.Test(t, f)
}

// leaked is set once a bubble has deadlocked: its goroutines never exit.
var leaked atomic.Bool

// verifyNoLeaks checks with goleak that no goroutine outlives the test,
// ignoring, once a bubble has deadlocked, the goroutines alive before the
// test ran (ignore, taken when it started).
func verifyNoLeaks(t *testing.T, ignore goleak.Option) {
	t.Helper()
	if leaked.Load() {
		goleak.VerifyNone(t, ignore)
		return
	}
	goleak.VerifyNone(t)
}

// awaitStarted waits for the next Block or Hold task to start and returns
// its id.
func awaitStarted(t *testing.T, ctl *probe.Control) int {
	t.Helper()
	select {
	case id := <-ctl.Started():
		return id
	case <-time.After(waitLimit):
		t.Fatalf("no blocking task started within %v (%d runs started, %d ended)", waitLimit, ctl.Total(), ctl.Ended())
		return -1
	}
}

// occupy submits tasks ids (which the caller set to Block or Hold) one at
// a time, each once the previous one has started, so that each occupies a
// worker of its own and nothing else is taken with it.
func (s *suite[T]) occupy(t *testing.T, p Pool[T], ctl *probe.Control, ids ...int) {
	t.Helper()
	for _, id := range ids {
		require.NoError(t, p.Submit(t.Context(), s.Task(ctl, id)), "Submit(%d)", id)
		require.Equal(t, id, awaitStarted(t, ctl), "the task that started")
	}
}

// block sets ids to Block and occupies a worker with each.
func (s *suite[T]) block(t *testing.T, p Pool[T], ctl *probe.Control, ids ...int) {
	t.Helper()
	for _, id := range ids {
		ctl.Set(id, probe.Block)
	}
	s.occupy(t, p, ctl, ids...)
}

// fill submits tasks first, first+1, ... with TrySubmit until the queue is
// full and returns the ids accepted. The caller has occupied every worker.
func (s *suite[T]) fill(t *testing.T, p Pool[T], ctl *probe.Control, first int) []int {
	t.Helper()
	var ids []int
	for id := first; ; id++ {
		require.Less(t, id, ctl.Len(), "the queue never filled up")
		err := p.TrySubmit(s.Task(ctl, id))
		if errors.Is(err, poolrt.ErrQueueFull) {
			return ids
		}
		require.NoError(t, err, "TrySubmit(%d)", id)
		ids = append(ids, id)
	}
}

// span returns the ids lo, lo+1, ..., hi-1.
func span(lo, hi int) []int {
	out := make([]int, 0, max(hi-lo, 0))
	for id := lo; id < hi; id++ {
		out = append(out, id)
	}
	return out
}

// assertRuns checks that every id in ids ran exactly want times.
func assertRuns(t *testing.T, ctl *probe.Control, want int, ids ...int) {
	t.Helper()
	var bad []int
	for _, id := range ids {
		if ctl.Runs(id) != want {
			bad = append(bad, id)
		}
	}
	if len(bad) > 0 {
		runs := make([]int, len(bad))
		for i, id := range bad {
			runs[i] = ctl.Runs(id)
		}
		t.Errorf("tasks %v ran %v times, want %d each", bad, runs, want)
	}
}

// assertUnique checks that ids holds no duplicate.
func assertUnique(t *testing.T, ids []int, what string) {
	t.Helper()
	sorted := slices.Sorted(slices.Values(ids))
	for i := 1; i < len(sorted); i++ {
		if sorted[i] == sorted[i-1] {
			t.Errorf("%s: id %d appears more than once", what, sorted[i])
		}
	}
}

// assertSettled checks the counters of a pool that has shut down: every
// accepted task is accounted for once.
func assertSettled(t *testing.T, st poolrt.Stats) {
	t.Helper()
	assert.Equal(t, st.Submitted, st.Completed+st.Panicked+st.DeadLettered+st.Returned,
		"Submitted = Completed + Panicked + DeadLettered + Returned once the pool has stopped (%+v)", st)
	assert.LessOrEqual(t, st.Failed, st.Completed, "Failed tasks are part of Completed")
	assert.Zero(t, st.QueueDepth, "QueueDepth after shutdown")
	assert.Zero(t, st.Workers, "Workers after shutdown")
	assert.Zero(t, st.Busy, "Busy after shutdown")
}

// recorder collects what a pool reports to its OnPanic and OnError
// handlers.
type recorder struct {
	mu     sync.Mutex
	panics []*poolrt.PanicError
	errs   []error
}

func (r *recorder) onPanic(pe *poolrt.PanicError) {
	r.mu.Lock()
	r.panics = append(r.panics, pe)
	r.mu.Unlock()
}

func (r *recorder) onError(err error) {
	r.mu.Lock()
	r.errs = append(r.errs, err)
	r.mu.Unlock()
}

// opts returns the options that install the recorder's handlers.
func (r *recorder) opts() []poolrt.Option {
	return []poolrt.Option{poolrt.OnPanic(r.onPanic), poolrt.OnError(r.onError)}
}

func (r *recorder) panicked() []*poolrt.PanicError {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.panics)
}

func (r *recorder) failed() []error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.errs)
}

// panicIDs returns the ids of the tasks in panic reports, in report
// order, failing the test (and giving -1) for a report whose Task is not a
// T.
func (s *suite[T]) panicIDs(t *testing.T, pes []*poolrt.PanicError) []int {
	t.Helper()
	ids := make([]int, len(pes))
	for i, pe := range pes {
		task, ok := pe.Task.(T)
		if batch, isBatch := pe.Task.([]T); isBatch && len(batch) == 1 {
			task, ok = batch[0], true // a batch pool reports its batch of one
		}
		if !ok {
			t.Errorf("PanicError.Task is %T, want the task (%T)", pe.Task, *new(T))
			ids[i] = -1
			continue
		}
		ids[i] = s.ID(task)
	}
	return ids
}

// checkPanicError checks one report of a task that did b (Panic or Goexit).
func checkPanicError(t *testing.T, pe *poolrt.PanicError, b probe.Behavior) {
	t.Helper()
	stack := string(pe.Stack)
	assert.Contains(t, stack, "probe.(*Control).Run", "the stack shows the task that panicked")
	switch b {
	case probe.Panic:
		assert.Equal(t, probe.ErrProbe, pe.Value, "PanicError.Value")
		assert.ErrorIs(t, pe, probe.ErrProbe, "a PanicError unwraps to the error panicked with")
		assert.Contains(t, stack, "panic(", "the stack is the panicking goroutine's")
		assert.Contains(t, pe.Error(), probe.ErrProbe.Error())
	case probe.Goexit:
		require.NotNil(t, pe.Value, "PanicError.Value of a task that called runtime.Goexit")
		assert.NotErrorIs(t, pe, probe.ErrProbe)
		assert.ErrorIs(t, pe, poolrt.ErrGoexit, "a PanicError of a runtime.Goexit unwraps to poolrt.ErrGoexit")
		assert.Contains(t, pe.Error(), "Goexit", "the report says the task called runtime.Goexit")
		assert.Contains(t, stack, "runtime.Goexit", "the stack shows the call of runtime.Goexit")
	}
}

// goid returns the current goroutine's id, from its stack header.
func goid() string {
	var buf [64]byte
	n := runtime.Stack(buf[:], false)
	f := bytes.Fields(buf[:n])
	if len(f) < 2 {
		return "?"
	}
	return string(f[1])
}
