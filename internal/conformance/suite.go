// Package conformance is the one behavioral suite for the pool contract
// (the guarantees listed in the README). It drives a pool through the small [Pool]
// interface, so the same tests run over every generic pool in package
// templates and every pool poolgen generates: a test file lists the
// implementations as [Impl] rows and calls [Run] for each.
//
// Tasks are probe tasks (package internal/probe): a [probe.Control] decides
// what each task does and counts how often it ran, so the tests check
// outcomes (every accepted task ran exactly once or was handed back), not
// merely that code ran. Time-dependent behavior runs under
// testing/synctest.
//
// The tests are not parallel: several of them check, with goleak, that no
// goroutine outlives the pool, which needs a quiet process.
package conformance

import (
	"context"
	"slices"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/poolgen/poolgen/internal/probe"
	poolrt "github.com/poolgen/poolgen/runtime"
)

// Pool is the contract every poolgen pool offers, generic or generated.
type Pool[T any] interface {
	Submit(ctx context.Context, t T) error
	SubmitWait(ctx context.Context, t T) error
	TrySubmit(t T) error
	SubmitAfter(d time.Duration, t T) error
	SubmitAt(at time.Time, t T) error
	Closed() bool
	Shutdown(ctx context.Context) error
	ShutdownNow() []T
	Stats() poolrt.Stats
}

// Impl describes one pool implementation for the suite.
type Impl[T any] struct {
	// Name names the row; it becomes the subtest's name.
	Name string
	// New creates a pool. Wrap a constructor with [Adapt].
	New func(opts ...poolrt.Option) (Pool[T], error)
	// Task makes task id of ctl; ID reads the id back from a task (the
	// suite identifies the tasks ShutdownNow returns and the tasks in
	// panic reports by it).
	Task func(ctl *probe.Control, id int) T
	ID   func(T) int

	// Pattern is the pool's pattern, for the options it must accept or
	// reject and its defaults; zero means Fixed.
	Pattern Pattern
	// Workers returns the options that make the pool run exactly n workers
	// at all times; nil means poolrt.Workers(n). (A dynamic pool would
	// pin its minimum and maximum to n.)
	Workers func(n int) []poolrt.Option
	// Reorders is set for pools that may start tasks out of submission
	// order even with a single worker (priority pools): the FIFO test and
	// the exact queue-wait figures of the latency test are skipped.
	Reorders bool
	// Options are added to every pool the suite creates (a batch pool
	// runs the suite with poolrt.MaxBatch(1), where a batch is a task).
	Options []poolrt.Option
}

// Pattern names a pool pattern, or a set of them. The suite keeps its own
// list of which options apply to which pattern, and of each pattern's
// defaults, as the pools' documentation states them, so that it checks the
// runtime rather than repeating it.
type Pattern uint8

// The pool patterns.
const (
	Fixed Pattern = 1 << iota
	Dynamic
	Stealing
	Priority
	Batch
	Fair
)

// Adapt turns a pool constructor into an Impl's New. It returns a nil Pool
// (not a typed nil pointer in an interface) when the constructor returns a
// nil pool, so that the suite can tell "no pool" from "a pool".
func Adapt[T any, P Pool[T]](newPool func(opts ...poolrt.Option) (P, error)) func(opts ...poolrt.Option) (Pool[T], error) {
	return func(opts ...poolrt.Option) (Pool[T], error) {
		p, err := newPool(opts...)
		var zero P
		if any(p) == any(zero) {
			return nil, err
		}
		return p, err
	}
}

// Run runs the whole suite over impl, as a subtest named impl.Name.
func Run[T any](t *testing.T, impl Impl[T]) {
	t.Helper()
	if impl.Name == "" || impl.New == nil || impl.Task == nil || impl.ID == nil {
		t.Fatalf("conformance: Impl %q needs Name, New, Task and ID", impl.Name)
	}
	if impl.Pattern == 0 {
		impl.Pattern = Fixed
	}
	impl = impl.withOptions()
	s := &suite[T]{Impl: impl}
	runTests(t, impl.Name, s, cases[T]())
}

// testCase is a test of the suite.
type testCase[T any] = namedTest[*suite[T]]

// cases lists every test of the suite, in the order they run.
func cases[T any]() []testCase[T] {
	return []testCase[T]{
		{"ExactlyOnce", testExactlyOnce[T]},
		{"ShutdownRace", testShutdownRace[T]},
		{"ShutdownNowRace", testShutdownNowRace[T]},
		{"ShutdownNowUnderLoad", testShutdownNowUnderLoad[T]},
		{"ShutdownNowMidBatch", testShutdownNowMidBatch[T]},
		{"ShutdownDrains", testShutdownDrains[T]},
		{"ShutdownTimeout", testShutdownTimeout[T]},
		{"SubmitBlocks", testSubmitBlocks[T]},
		{"TrySubmitFull", testTrySubmitFull[T]},
		{"Reject", testReject[T]},
		{"CallerRuns", testCallerRuns[T]},
		{"TaskContext", testTaskContext[T]},
		{"Panics", testPanics[T]},
		{"PanicMidBatch", testPanicMidBatch[T]},
		{"FIFO", testFIFO[T]},
		{"QueueCapacity", testQueueCapacity[T]},
		{"QueueBound", testQueueBound[T]},
		{"ConfigErrors", testConfigErrors[T]},
		{"Defaults", testDefaults[T]},
		{"StatsGauges", testStatsGauges[T]},
		{"Latency", testLatency[T]},
		{"MetricsOff", testMetricsOff[T]},
		{"ZeroAllocs", testZeroAllocs[T]},
		{"PropagateContext", testPropagateContext[T]},
		{"ZeroAllocsPropagate", testZeroAllocsPropagate[T]},
		{"GivesWay", testGivesWay[T]},
		{"GivesWayStream", testGivesWayStream[T]},
		{"WorkConserving", testWorkConserving[T]},
		{"WorkConservingAfterTiny", testWorkConservingAfterTiny[T]},
		{"DefaultReports", testDefaultReports[T]},
		{"HookPanicOnError", testHookPanicOnError[T]},
		{"HookPanicOnPanic", testHookPanicOnPanic[T]},
		{"HookGoexit", testHookGoexit[T]},
		{"CallerRunsGoexit", testCallerRunsGoexit[T]},
		{"NilTask", testNilTask[T]},
		{"QuietAfterShutdown", testQuietAfterShutdown[T]},
		{"SubmitWaitOutcome", testSubmitWaitOutcome[T]},
		{"SubmitWaitAbandon", testSubmitWaitAbandon[T]},
		{"SubmitWaitShutdownNow", testSubmitWaitShutdownNow[T]},
		{"SubmitWaitBackpressure", testSubmitWaitBackpressure[T]},
		{"SubmitWaitStress", testSubmitWaitStress[T]},
		{"SubmitWaitZeroAllocs", testSubmitWaitZeroAllocs[T]},
		{"TypedHooks", testTypedHooks[T]},
		{"TypedHookPanics", testTypedHookPanics[T]},
		{"TaskTimeout", testTaskTimeout[T]},
		{"Watchdog", testWatchdog[T]},
		{"WatchdogShutdown", testWatchdogShutdown[T]},
		{"Retry", testRetry[T]},
		{"RetryFraction", testRetryFraction[T]},
		{"RetryShutdownNow", testRetryShutdownNow[T]},
		{"RetryTorture", testRetryTorture[T]},
		{"RetryBound", testRetryBound[T]},
		{"CallerRunsDeadLetter", testCallerRunsDeadLetter[T]},
		{"Named", testNamed[T]},
		{"Breaker", testBreaker[T]},
		{"BreakerKeys", testBreakerKeys[T]},
		{"BreakerHooks", testBreakerHooks[T]},
		{"BreakerHold", testBreakerHold[T]},
		{"BreakerTimeout", testBreakerTimeout[T]},
		{"BreakerTorture", testBreakerTorture[T]},
		{"Shed", testShed[T]},
		{"Pacing", testPacing[T]},
		{"WorkerResource", testWorkerResource[T]},
		{"ResourceFailures", testResourceFailures[T]},
		{"PinWorkers", testPinWorkers[T]},
		{"ZeroAllocsWorkers", testZeroAllocsWorkers[T]},
		{"ScheduleDue", testScheduleDue[T]},
		{"ScheduleOrder", testScheduleOrder[T]},
		{"ScheduleBound", testScheduleBound[T]},
		{"ScheduleFull", testScheduleFull[T]},
		{"ScheduleShutdown", testScheduleShutdown[T]},
		{"ScheduleShutdownNowRace", testScheduleShutdownNowRace[T]},
	}
}

// withOptions returns impl with its New adding impl.Options to every
// pool it creates.
func (impl Impl[T]) withOptions() Impl[T] {
	if extra := impl.Options; len(extra) > 0 {
		base := impl.New
		impl.New = func(opts ...poolrt.Option) (Pool[T], error) {
			return base(append(slices.Clone(opts), extra...)...)
		}
	}
	return impl
}

// namedTest is one test of a suite whose state is S.
type namedTest[S any] struct {
	name string
	run  func(*testing.T, S)
}

// runTests runs tests over s as the subtests of a subtest named name,
// each checked with goleak once its own cleanups (registered later, so
// run first) have shut its pools down.
func runTests[S any](t *testing.T, name string, s S, tests []namedTest[S]) {
	t.Helper()
	t.Run(name, func(t *testing.T) {
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				ignore := goleak.IgnoreCurrent()
				t.Cleanup(func() { verifyNoLeaks(t, ignore) })
				tc.run(t, s)
			})
		}
	})
}

// suite is an Impl with the helpers the tests share.
type suite[T any] struct {
	Impl[T]
}

func (s *suite[T]) workerOpts(n int) []poolrt.Option {
	if s.Workers != nil {
		return s.Workers(n)
	}
	return []poolrt.Option{poolrt.Workers(n)}
}

// start creates a pool of exactly workers workers, configured by opts, and
// makes sure it is stopped when the test ends.
func (s *suite[T]) start(t *testing.T, workers int, opts ...poolrt.Option) Pool[T] {
	t.Helper()
	all := append(s.workerOpts(workers), opts...)
	p, err := s.New(all...)
	if err != nil {
		t.Fatalf("New(%v): %v", all, err)
	}
	if p == nil {
		t.Fatalf("New(%v) returned a nil pool and no error", all)
	}
	t.Cleanup(func() { p.ShutdownNow() })
	return p
}

// ids returns the ids of tasks.
func (s *suite[T]) ids(tasks []T) []int {
	out := make([]int, len(tasks))
	for i, task := range tasks {
		out[i] = s.ID(task)
	}
	return out
}
