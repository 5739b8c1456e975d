package conformance

import (
	"context"
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

// The aging scenario: one task agingDist ranks worse than a stream of
// tasks of rank 0, submitted by agingProducers goroutines that each block
// in Submit while the queue is full, so that the queue stays full and
// every worker busy for agingStream aging periods. Every task takes a
// tenth of an aging period (fake time), so that the bound is tight.
const (
	agingDist      = 10 // ranks between the worst task and the stream: Pmax−Pmin
	agingStream    = 50 // how long the stream lasts, in aging periods
	agingSteps     = 10 // aging periods are this many times a task's run time
	agingProducers = 2  // goroutines that submit the stream
)

// agingScenario is the shape of one aging test's pool, and where the
// worst task waits: in the queue, or blocked in Submit on a full queue.
type agingScenario struct {
	workers, size int
	blocked       bool
}

// ahead bounds the stream tasks that may be ahead of the worst task once
// (Pmax−Pmin)·every has passed: the queued ones (QueueSize, or one less
// when the worst task is itself queued) and one blocked Submit per
// producer.
func (sc agingScenario) ahead() int {
	if sc.blocked {
		return sc.size + agingProducers
	}
	return sc.size - 1 + agingProducers
}

// agingResult is what a run of the aging scenario saw, in fake time since
// the worst task's call to Submit.
type agingResult struct {
	started    time.Duration // when the worst task started (−1: never)
	lastSubmit time.Duration // when the stream's last Submit returned
	lastStart  time.Duration // when the stream's last task started
	runs       int           // task runs, the stream's and the worst's
}

// agingPeriod returns the aging period the aging tests use and the options
// that turn it on: the row's own period (its New sets it), or 10 ms.
func (s *rankSuite[T]) agingPeriod() (time.Duration, []poolrt.Option) {
	if s.Aging > 0 {
		return s.Aging, nil
	}
	const every = 10 * time.Millisecond
	return every, []poolrt.Option{poolrt.Aging(every)}
}

// skipUnlessAges skips the test on a deadline pool, which does not age.
func (s *rankSuite[T]) skipUnlessAges(t *testing.T) {
	t.Helper()
	if s.Kind == poolrt.ByDeadline {
		t.Skip("the deadline pool does not age: a waiting task's deadline only comes nearer")
	}
}

// runAging runs the aging scenario sc on a pool made with opts, its tasks
// taking every/agingSteps each. Every worker is held busy while the worst
// task is submitted (queued, or blocked in Submit when sc.blocked) and the
// stream fills the queue behind it; then the workers are let go and the
// stream runs for agingStream periods.
func (s *rankSuite[T]) runAging(t *testing.T, sc agingScenario, every time.Duration, opts ...poolrt.Option) agingResult {
	t.Helper()
	d := every / agingSteps
	stream := agingStream * every
	worst := sc.workers // ids: the workers' holders, the worst task, the stream
	ctl := probe.New(worst + 1 + agingStream*agingSteps*sc.workers + sc.size + agingProducers + 1)
	p := s.start(t, append([]poolrt.Option{poolrt.Workers(sc.workers), poolrt.QueueSize(sc.size)}, opts...)...)
	ctx := context.Background()
	for id := range sc.workers {
		ctl.Set(id, probe.Block)
		s.occupy(t, p, ctl, id, 0)
	}

	t0 := time.Now() // the worst task's call to Submit: no fake time passes until ctl.Release
	var started atomic.Int64
	started.Store(-1)
	ctl.SetFunc(worst, func(context.Context) error {
		started.Store(int64(time.Since(t0)))
		time.Sleep(d)
		return nil
	})
	worstDone := make(chan error, 1)
	if !sc.blocked {
		require.NoError(t, p.Submit(ctx, s.Ranked(ctl, worst, agingDist)), "Submit of the worst task to a queue with room")
		worstDone <- nil
	}

	var (
		next                  atomic.Int64 // the next stream task's id
		producers             sync.WaitGroup
		mu                    sync.Mutex
		lastSubmit, lastStart time.Duration // guarded by mu
	)
	next.Store(int64(worst + 1))
	work := func(context.Context) error {
		mu.Lock()
		lastStart = max(lastStart, time.Since(t0))
		mu.Unlock()
		time.Sleep(d)
		return nil
	}
	for range agingProducers {
		producers.Go(func() {
			for time.Since(t0) < stream {
				id := int(next.Add(1) - 1)
				if id >= ctl.Len() {
					t.Errorf("the stream ran out of task ids (%d)", ctl.Len())
					return
				}
				ctl.SetFunc(id, work)
				if err := p.Submit(ctx, s.Ranked(ctl, id, 0)); err != nil {
					t.Errorf("Submit of stream task %d: %v", id, err)
					return
				}
				mu.Lock()
				lastSubmit = max(lastSubmit, time.Since(t0))
				mu.Unlock()
			}
		})
	}
	synctest.Wait() // the queue is full; each producer is blocked in Submit
	if sc.blocked {
		go func() { worstDone <- p.Submit(ctx, s.Ranked(ctl, worst, agingDist)) }()
		synctest.Wait()
		select {
		case err := <-worstDone:
			t.Fatalf("Submit of the worst task to a full queue returned %v; want it blocked", err)
		default:
		}
	}

	ctl.Release() // the workers' holders return: the stream starts running
	producers.Wait()
	require.NoError(t, <-worstDone, "Submit of the worst task")
	require.NoError(t, p.Shutdown(ctx))
	assertRuns(t, ctl, 1, worst)
	mu.Lock()
	defer mu.Unlock()
	return agingResult{
		started:    time.Duration(started.Load()),
		lastSubmit: lastSubmit,
		lastStart:  lastStart,
		runs:       ctl.Total() - sc.workers,
	}
}

// testAging runs scenario sc with aging, and, for a row whose New does not
// set aging itself, without. With aging the worst task must start within
// the bound of poolrt.Aging, measured from its call to Submit: no earlier
// than (Pmax−Pmin)·every (until then each newer task of the stream
// outranks it) and no later than that plus the time the workers need for
// the tasks ahead of it at that moment and those running, well before the
// stream ends. Without aging it must start last, once the stream has
// ended: the scenario starves it, so a pool that did not age would fail.
func testAging[T any](t *testing.T, s *rankSuite[T], sc agingScenario) {
	s.skipUnlessAges(t)
	t.Run("Aging", func(t *testing.T) {
		bubble(t, func(t *testing.T) {
			every, opts := s.agingPeriod()
			d := every / agingSteps
			r := s.runAging(t, sc, every, opts...)
			lo := agingDist * every
			hi := lo + time.Duration((sc.ahead()+sc.workers-1)/sc.workers+1)*d
			t.Logf("aging every %v, tasks of %v: the worst task started %v after its call to Submit; bound [%v, %v]; %d tasks ran, the last submitted at %v",
				every, d, r.started, lo, hi, r.runs, r.lastSubmit)
			require.GreaterOrEqual(t, r.started, time.Duration(0), "the worst task never started")
			assert.GreaterOrEqual(t, r.started, lo,
				"the worst task (%d ranks down, aging every %v) started %v after its call to Submit, before (Pmax−Pmin)·every: a newer, better task must outrank it until then",
				agingDist, every, r.started)
			assert.LessOrEqual(t, r.started, hi,
				"the worst task (%d ranks down, aging every %v) started %v after its call to Submit, beyond the aging bound %v (the stream ran until %v)",
				agingDist, every, r.started, hi, r.lastSubmit)
		})
	})
	t.Run("NoAging", func(t *testing.T) {
		if s.Aging > 0 {
			t.Skip("the row's pool ages")
		}
		bubble(t, func(t *testing.T) {
			every, _ := s.agingPeriod()
			r := s.runAging(t, sc, every)
			t.Logf("no aging: the worst task started %v after its call to Submit; %d tasks ran, the last submitted at %v and started at %v", r.started, r.runs, r.lastSubmit, r.lastStart)
			assert.GreaterOrEqual(t, r.started, r.lastStart, "without aging the worst task starts after every task of the stream")
			assert.GreaterOrEqual(t, r.started, r.lastSubmit, "without aging the worst task starts only once the stream has ended")
		})
	})
}

// testRankAgingBound asserts the aging bound for a task queued first, of
// the worst rank, behind which a stream of better tasks keeps two workers
// busy and the queue full (see testAging).
func testRankAgingBound[T any](t *testing.T, s *rankSuite[T]) {
	testAging(t, s, agingScenario{workers: 2, size: 4})
}

// testRankAgingBlocked asserts that a task of the worst rank blocked in
// Submit on a full queue (QueueSize(1)), while blocked submitters of
// better tasks keep arriving, ages from its call to Submit: it is admitted
// ahead of newer better tasks once it outranks them, and starts within the
// aging bound measured from that call (see testAging).
func testRankAgingBlocked[T any](t *testing.T, s *rankSuite[T]) {
	testAging(t, s, agingScenario{workers: 1, size: 1, blocked: true})
}

// skipUnlessDeadline skips the test on a pool that is not a deadline pool,
// and fails it on a deadline row without Due.
func (s *rankSuite[T]) skipUnlessDeadline(t *testing.T) {
	t.Helper()
	if s.Kind != poolrt.ByDeadline {
		t.Skip("late tasks concern the deadline pool only")
	}
	if s.Due == nil {
		t.Fatalf("conformance: RankImpl %q of a deadline pool needs Due", s.Name)
	}
}

// lateAt is when the late-task scenario's worker takes the queued tasks,
// since they were submitted.
const lateAt = 100 * time.Millisecond

// lateTask is a task of the late-task scenario: its deadline, since the
// tasks were submitted, unless it has none.
type lateTask struct {
	id     int
	due    time.Duration
	noDue  bool
	isLate bool // its deadline has passed at lateAt
}

// lateTasks are the late-task scenario's tasks, in deadline order (the
// order they are taken in): task 1 late when submitted, task 2 late by the
// time the worker takes it, task 3 due after that and task 4 with no
// deadline.
var lateTasks = []lateTask{
	{id: 1, due: -10 * time.Millisecond, isLate: true},
	{id: 2, due: 20 * time.Millisecond, isLate: true},
	{id: 3, due: 500 * time.Millisecond},
	{id: 4, noDue: true},
}

// runLate runs the late-task scenario on p, a deadline pool of one worker:
// task 0 holds the worker for lateAt while lateTasks queue up (submitted
// in reverse, at t0); then it returns and the pool shuts down. It returns
// t0.
func (s *rankSuite[T]) runLate(t *testing.T, p Pool[T], ctl *probe.Control) time.Time {
	t.Helper()
	ctx := context.Background()
	release := ctl.Hold(0)
	s.occupy(t, p, ctl, 0, 0)
	t0 := time.Now()
	for i := len(lateTasks) - 1; i >= 0; i-- {
		lt := lateTasks[i]
		var due time.Time
		if !lt.noDue {
			due = t0.Add(lt.due)
		}
		require.NoError(t, p.Submit(ctx, s.Due(ctl, lt.id, due)), "Submit(%d)", lt.id)
	}
	time.Sleep(lateAt)
	release()
	require.NoError(t, p.Shutdown(ctx))
	return t0
}

// testRankDropLate asserts that under poolrt.OnLate(poolrt.DropLate) a
// deadline pool does not run a task whose deadline has passed when a
// worker takes it (late when submitted or late by then); that it counts
// it as completed and failed, and in Priority.Dropped; and that it reports
// it to OnError as a *poolrt.DeadlineError, unwrapping to
// poolrt.ErrDeadlineExceeded, that names the task, its deadline and how
// late it was taken. Tasks not yet due, or with no deadline, run.
func testRankDropLate[T any](t *testing.T, s *rankSuite[T]) {
	s.skipUnlessDeadline(t)
	bubble(t, func(t *testing.T) {
		ctl := probe.New(len(lateTasks) + 1)
		var rec recorder
		p := s.start(t, append(rec.opts(), poolrt.Workers(1), poolrt.QueueSize(len(lateTasks)), poolrt.OnLate(poolrt.DropLate))...)
		t0 := s.runLate(t, p, ctl)

		want := []int{0}
		var dropped []lateTask
		for _, lt := range lateTasks {
			if lt.isLate {
				dropped = append(dropped, lt)
				assertRuns(t, ctl, 0, lt.id)
			} else {
				want = append(want, lt.id)
				assertRuns(t, ctl, 1, lt.id)
			}
		}
		assert.Equal(t, want, ctl.Order(), "start order: the late tasks do not run")

		st := p.Stats()
		n := uint64(1 + len(lateTasks))
		assert.Equal(t, n, st.Submitted, "Submitted")
		assert.Equal(t, n, st.Completed, "Completed: dropped tasks count as completed")
		assert.Equal(t, uint64(len(dropped)), st.Failed, "Failed: dropped tasks count as failed")
		assert.Zero(t, st.Panicked, "Panicked")
		if assert.NotNil(t, st.Priority, "Stats.Priority") {
			assert.Equal(t, uint64(len(dropped)), st.Priority.Dropped, "Priority.Dropped")
			assert.Zero(t, st.Priority.Missed, "Priority.Missed")
			assert.Zero(t, st.Priority.HandedOff, "Priority.HandedOff")
		}
		assertSettled(t, st)
		assert.Empty(t, rec.panicked(), "panics reported")

		errs := rec.failed()
		require.Len(t, errs, len(dropped), "errors reported to OnError: one per dropped task")
		for i, lt := range dropped {
			err := errs[i]
			assert.ErrorIs(t, err, poolrt.ErrDeadlineExceeded, "error %d", i)
			var de *poolrt.DeadlineError
			if !assert.ErrorAs(t, err, &de, "error %d", i) {
				continue
			}
			if task, ok := de.Task.(T); assert.True(t, ok, "error %d: DeadlineError.Task is %T, want the task (%T)", i, de.Task, *new(T)) {
				assert.Equal(t, lt.id, s.ID(task), "error %d: the task dropped", i)
			}
			assert.True(t, t0.Add(lt.due).Equal(de.Deadline), "error %d: Deadline %v, want t0%+v", i, de.Deadline, lt.due)
			assert.Equal(t, lateAt-lt.due, de.Late, "error %d: Late", i)
		}
	})
}

// testRankRunLate asserts that under the default late policy, and under
// poolrt.OnLate(poolrt.RunLate), a deadline pool runs late tasks in
// deadline order like any other, counts them in Priority.Missed and
// reports nothing to OnError.
func testRankRunLate[T any](t *testing.T, s *rankSuite[T]) {
	s.skipUnlessDeadline(t)
	for _, c := range []struct {
		name string
		opts []poolrt.Option
	}{
		{"Default", nil},
		{"OnLate(RunLate)", []poolrt.Option{poolrt.OnLate(poolrt.RunLate)}},
	} {
		t.Run(c.name, func(t *testing.T) {
			bubble(t, func(t *testing.T) {
				ctl := probe.New(len(lateTasks) + 1)
				var rec recorder
				opts := append(rec.opts(), poolrt.Workers(1), poolrt.QueueSize(len(lateTasks)))
				p := s.start(t, append(opts, c.opts...)...)
				s.runLate(t, p, ctl)

				want, late := []int{0}, 0
				for _, lt := range lateTasks {
					want = append(want, lt.id)
					if lt.isLate {
						late++
					}
				}
				assert.Equal(t, want, ctl.Order(), "start order: every task runs, in deadline order")
				assertRuns(t, ctl, 1, want...)
				st := p.Stats()
				assert.Equal(t, uint64(len(want)), st.Completed, "Completed")
				assert.Zero(t, st.Failed, "Failed")
				if assert.NotNil(t, st.Priority, "Stats.Priority") {
					assert.Equal(t, uint64(late), st.Priority.Missed, "Priority.Missed")
					assert.Zero(t, st.Priority.Dropped, "Priority.Dropped")
					assert.Zero(t, st.Priority.HandedOff, "Priority.HandedOff")
				}
				assertSettled(t, st)
				assert.Empty(t, rec.failed(), "errors reported to OnError")
			})
		})
	}
}
