package conformance

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/poolgen/poolgen/internal/probe"
	poolrt "github.com/poolgen/poolgen/runtime"
)

// DynamicPool is what a dynamic pool offers beyond [Pool]: limits that
// change at run time and a size that follows the load.
type DynamicPool[T any] interface {
	Pool[T]
	SetLimits(min, max int) error
	Limits() (min, max int)
	Size() int
}

// DynamicImpl describes one dynamic pool implementation: [Run] checks it
// against the contract every pool keeps (through [DynamicImpl.Impl]),
// [RunDynamic] against the scaling behavior.
type DynamicImpl[T any] struct {
	Name string
	// New creates a pool. Wrap a constructor with [AdaptDynamic].
	New  func(opts ...poolrt.Option) (DynamicPool[T], error)
	Task func(ctl *probe.Control, id int) T
	ID   func(T) int
}

// AdaptDynamic turns a dynamic pool constructor into a DynamicImpl's New,
// returning a nil DynamicPool when the constructor returns a nil pool.
// Documented values of the dynamic pool: ThresholdPolicy's default
// scale-up utilization, and how many events ScalingStats.Events keeps.
const (
	upUtilization = 0.85
	scaleHistory  = 64
)

func AdaptDynamic[T any, P DynamicPool[T]](newPool func(opts ...poolrt.Option) (P, error)) func(opts ...poolrt.Option) (DynamicPool[T], error) {
	return func(opts ...poolrt.Option) (DynamicPool[T], error) {
		p, err := newPool(opts...)
		var zero P
		if any(p) == any(zero) {
			return nil, err
		}
		return p, err
	}
}

// Impl returns the row that runs the general suite over the dynamic pool,
// its size pinned (minimum = maximum) wherever the suite needs n workers.
func (d DynamicImpl[T]) Impl() Impl[T] {
	return Impl[T]{
		Name: d.Name,
		New: func(opts ...poolrt.Option) (Pool[T], error) {
			p, err := d.New(opts...)
			if p == nil {
				return nil, err
			}
			return p, err
		},
		Task:    d.Task,
		ID:      d.ID,
		Pattern: Dynamic,
		Workers: func(n int) []poolrt.Option { return []poolrt.Option{poolrt.WorkerLimits(n, n)} },
	}
}

// RunDynamic runs the scaling suite over impl, as a subtest named
// impl.Name. Its tests run under testing/synctest, except those that need
// real interleavings.
func RunDynamic[T any](t *testing.T, impl DynamicImpl[T]) {
	t.Helper()
	if impl.Name == "" || impl.New == nil || impl.Task == nil {
		t.Fatalf("conformance: DynamicImpl %q needs Name, New and Task", impl.Name)
	}
	s := &dynamicSuite[T]{impl}
	runTests(t, impl.Name, s, dynamicCases[T]())
}

type dynamicCase[T any] = namedTest[*dynamicSuite[T]]

func dynamicCases[T any]() []dynamicCase[T] {
	return []dynamicCase[T]{
		{"StepLoad", testStepLoad[T]},
		{"Bounds", testBounds[T]},
		{"SetLimits", testSetLimits[T]},
		{"IdleExpiry", testIdleExpiry[T]},
		{"Predictive", testPredictive[T]},
		{"UserPolicy", testUserPolicy[T]},
		{"ScaleFromZero", testScaleFromZero[T]},
		{"ZeroRace", testZeroRace[T]},
		{"ShutdownStopsController", testShutdownStopsController[T]},
		{"DrainGrows", testDrainGrows[T]},
		{"EventRing", testEventRing[T]},
		{"LimitErrors", testLimitErrors[T]},
		{"ResourceScaleDown", testResourceScaleDown[T]},
	}
}

type dynamicSuite[T any] struct {
	DynamicImpl[T]
}

// start creates a pool configured by opts and stops it when the test ends.
func (s *dynamicSuite[T]) start(t *testing.T, opts ...poolrt.Option) DynamicPool[T] {
	t.Helper()
	p, err := s.New(opts...)
	require.NoError(t, err, "New(%v)", opts)
	require.NotNil(t, p, "New(%v) returned a nil pool and no error", opts)
	t.Cleanup(func() { p.ShutdownNow() })
	return p
}

// sleeper makes task id of ctl take d (fake time under synctest), or until
// its context is canceled.
func (s *dynamicSuite[T]) sleeper(ctl *probe.Control, id int, d time.Duration) T {
	ctl.SetFunc(id, func(ctx context.Context) error {
		if d <= 0 {
			return nil
		}
		select {
		case <-time.After(d):
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	})
	return s.Task(ctl, id)
}

// steady submits tasks first, first+1, ... first+n-1 of ctl, each taking
// d, one every gap.
func (s *dynamicSuite[T]) steady(t *testing.T, p DynamicPool[T], ctl *probe.Control, first, n int, gap, d time.Duration) {
	t.Helper()
	for id := first; id < first+n; id++ {
		require.NoError(t, p.Submit(context.Background(), s.sleeper(ctl, id, d)), "Submit(%d)", id)
		time.Sleep(gap)
	}
}

// policyFunc is a ScalePolicy made of a function.
type policyFunc func(poolrt.ScaleSignals) (int, string)

func (f policyFunc) Scale(s poolrt.ScaleSignals) (int, string) { return f(s) }

// holdSize is a policy that never changes the size.
var holdSize = policyFunc(func(s poolrt.ScaleSignals) (int, string) { return s.Workers, "" })

// splitEvents returns the events that grew and shrank the pool, and fails
// the test for one that changed nothing.
func splitEvents(t *testing.T, evs []poolrt.ScaleEvent) (ups, downs []poolrt.ScaleEvent) {
	t.Helper()
	for _, e := range evs {
		switch {
		case e.To > e.From:
			ups = append(ups, e)
		case e.To < e.From:
			downs = append(downs, e)
		default:
			t.Errorf("event %+v changes nothing", e)
		}
	}
	return ups, downs
}

// assertNoFlap checks that the pool only grew, then only shrank.
func assertNoFlap(t *testing.T, evs []poolrt.ScaleEvent) {
	t.Helper()
	shrunk := false
	for i, e := range evs {
		if e.To < e.From {
			shrunk = true
		} else if shrunk {
			t.Errorf("event %d grows the pool (%d→%d, %s) after it shrank: flapping", i, e.From, e.To, e.Reason)
		}
	}
}

// logEvents logs the events, for the reader of a failure.
func logEvents(t *testing.T, evs []poolrt.ScaleEvent) {
	t.Helper()
	for _, e := range evs {
		s := e.Signals
		t.Logf("%s %d→%d %q depth=%d util=%.3f arrivals=%d completions=%d run=%v expired=%d",
			e.At.Format("05.000"), e.From, e.To, e.Reason, s.QueueDepth, s.Utilization, s.Arrivals, s.Completions, s.MeanRun, s.IdleExpired)
	}
}

// change is an event's From, To and Reason, for comparisons.
func change(e poolrt.ScaleEvent) [3]any { return [3]any{e.From, e.To, e.Reason} }

// testStepLoad: under a step of load (twice what one worker serves) the
// threshold policy grows the pool within one interval of the step,
// doubling while the workers are saturated, holds the size while the load
// lasts, and after it ends shrinks one worker per cooldown back to the
// minimum — never growing again after shrinking.
func testStepLoad[T any](t *testing.T, s *dynamicSuite[T]) {
	bubble(t, func(t *testing.T) {
		const interval, cooldown = 100 * time.Millisecond, 500 * time.Millisecond
		const n = 600
		ctl := probe.New(n)
		created := time.Now()
		p := s.start(t, poolrt.WorkerLimits(1, 8), poolrt.ScaleInterval(interval), poolrt.Cooldown(cooldown),
			poolrt.Thresholds(poolrt.ThresholdPolicy{DownUtilization: 0.4}))
		assert.Equal(t, 1, p.Size(), "a new pool's size")

		time.Sleep(time.Millisecond) // off the controller's ticks
		start := time.Now()
		s.steady(t, p, ctl, 0, n, 5*time.Millisecond, 10*time.Millisecond) // 3 s of 200 tasks/s, 10 ms each
		end := time.Now()
		time.Sleep(4 * time.Second)
		synctest.Wait()

		st := p.Stats()
		sc := st.Scaling
		require.NotNil(t, sc, "Stats().Scaling")
		logEvents(t, sc.Events)
		ups, downs := splitEvents(t, sc.Events)
		require.Len(t, ups, 2, "scale-ups: 1→2→4")
		require.Len(t, downs, 3, "scale-downs: 4→3→2→1")
		assert.Equal(t, uint64(2), sc.Ups, "Ups")
		assert.Equal(t, uint64(3), sc.Downs, "Downs")
		assertNoFlap(t, sc.Events)

		// Tasks back up with one busy worker: the arrival at 10 ms (as the
		// first task ends) or at 15 ms finds two waiting, and the
		// controller evaluates then (a surge: the surge gap, 1.56 ms, has
		// passed since its start), not at its first tick.
		assert.LessOrEqual(t, ups[0].At.Sub(start), 15*time.Millisecond, "the first scale-up comes when tasks back up")
		assert.Less(t, ups[0].At.Sub(created), interval, "the first scale-up comes before the first tick")
		assert.Equal(t, 4, ups[1].To, "size under load")
		for _, e := range ups {
			assert.Equal(t, poolrt.ReasonBusy, e.Reason, "scale-up at %v", e.At)
			assert.GreaterOrEqual(t, e.Signals.Utilization, upUtilization, "utilization that scaled up")
			assert.True(t, e.At.Before(end), "scale-up at %v after the load ended", e.At)
		}
		for i, e := range downs {
			assert.Equal(t, poolrt.ReasonQuiet, e.Reason, "scale-down at %v", e.At)
			assert.True(t, e.At.After(end), "scale-down at %v while the load lasted", e.At)
			assert.Zero(t, e.Signals.QueueDepth, "queue depth that allowed a scale-down")
			assert.LessOrEqual(t, e.Signals.Utilization, 0.4, "utilization that allowed a scale-down")
			if i > 0 {
				assert.GreaterOrEqual(t, e.At.Sub(downs[i-1].At), cooldown, "scale-downs are a cooldown apart")
			}
		}
		assert.Equal(t, 1, p.Size(), "size after the load")
		assert.Equal(t, 1, st.Workers, "workers after the load")
		assert.Equal(t, 4, sc.Peak, "Peak")
		assert.Zero(t, sc.Capped, "Capped")
		assert.Positive(t, sc.Held, "scale-downs held back by the cooldown")
		assert.Positive(t, sc.Surges, "early evaluations")
		assert.Equal(t, uint64(time.Since(created)/interval)+sc.Surges, sc.Evaluations, "one evaluation per interval, plus the surges")

		require.NoError(t, p.Shutdown(context.Background()))
		assertRuns(t, ctl, 1, span(0, n)...)
	})
}

// testBounds: a load far above what the maximum can serve keeps the pool
// at its maximum, never above; when the load ends the pool returns to its
// minimum, never below. Capped and AtMax show the pool was too small.
func testBounds[T any](t *testing.T, s *dynamicSuite[T]) {
	bubble(t, func(t *testing.T) {
		const lo, hi, n = 2, 4, 1000
		ctl := probe.New(n)
		p := s.start(t, poolrt.WorkerLimits(lo, hi), poolrt.QueueSize(64), poolrt.Cooldown(200*time.Millisecond))

		stop := make(chan struct{})
		var wg sync.WaitGroup
		var samples int
		wg.Go(func() { // samples the pool every millisecond
			for {
				select {
				case <-stop:
					return
				case <-time.After(time.Millisecond):
				}
				samples++
				st := p.Stats()
				if size := p.Size(); size < lo || size > hi {
					t.Errorf("size %d outside [%d, %d] at %v", size, lo, hi, time.Now())
				}
				if st.Workers > hi {
					t.Errorf("%d workers alive, more than the maximum %d, at %v", st.Workers, hi, time.Now())
				}
			}
		})
		s.steady(t, p, ctl, 0, n, time.Millisecond, 10*time.Millisecond) // 10 workers' worth, for 1 s at least
		atMaxDuringLoad := p.Stats().Scaling.AtMax
		time.Sleep(3 * time.Second)
		close(stop)
		wg.Wait()

		sc := p.Stats().Scaling
		logEvents(t, sc.Events)
		assert.Greater(t, samples, 3000, "samples")
		for _, e := range sc.Events {
			assert.True(t, e.To >= lo && e.To <= hi, "event %d→%d outside [%d, %d]", e.From, e.To, lo, hi)
		}
		assert.Equal(t, hi, sc.Peak, "Peak")
		assert.Positive(t, sc.Capped, "Capped: the policy wanted more than the maximum")
		assert.Greater(t, atMaxDuringLoad, 500*time.Millisecond, "AtMax during the load")
		assert.Equal(t, lo, p.Size(), "size after the load")
		assert.Positive(t, sc.AtMin, "AtMin")
		require.NoError(t, p.Shutdown(context.Background()))
		assertRuns(t, ctl, 1, span(0, n)...)
	})
}

// testSetLimits: SetLimits resizes the pool at once when its size is
// outside the new limits (recording why), refuses limits that cannot work
// with a *ConfigError and leaves the limits as they were, bounds what the
// policy gets, and returns ErrClosed after shutdown.
func testSetLimits[T any](t *testing.T, s *dynamicSuite[T]) {
	bubble(t, func(t *testing.T) {
		var want atomic.Int64 // the size the policy asks for; 0: keep
		policy := policyFunc(func(s poolrt.ScaleSignals) (int, string) {
			if n := int(want.Load()); n > 0 {
				return n, "test"
			}
			return s.Workers, ""
		})
		p := s.start(t, poolrt.WorkerLimits(1, 8), poolrt.ScaleWith(policy))

		require.NoError(t, p.SetLimits(3, 6))
		assert.Equal(t, 3, p.Size(), "size after raising the minimum to 3")
		assert.Equal(t, 3, p.Stats().Workers, "workers started at once")
		lo, hi := p.Limits()
		assert.Equal(t, [2]int{3, 6}, [2]int{lo, hi}, "Limits")

		require.NoError(t, p.SetLimits(0, 2))
		assert.Equal(t, 2, p.Size(), "size after lowering the maximum to 2")
		synctest.Wait()
		assert.Equal(t, 2, p.Stats().Workers, "idle workers above the size retire at once")
		require.NoError(t, p.SetLimits(0, 2), "the same limits again")

		for _, bad := range [][2]int{{-1, 2}, {3, 2}, {0, 0}, {1, 9}} {
			err := p.SetLimits(bad[0], bad[1])
			var ce *poolrt.ConfigError
			if assert.ErrorAs(t, err, &ce, "SetLimits(%d, %d)", bad[0], bad[1]) {
				assert.NotEmpty(t, ce.Reason)
				assert.Contains(t, err.Error(), "SetLimits(")
			}
		}
		lo, hi = p.Limits()
		assert.Equal(t, [2]int{0, 2}, [2]int{lo, hi}, "refused limits change nothing")

		want.Store(100)
		time.Sleep(250 * time.Millisecond) // two evaluations
		assert.Equal(t, 2, p.Size(), "the policy's 100 is capped at the maximum")
		assert.Equal(t, uint64(2), p.Stats().Scaling.Capped, "Capped")
		require.NoError(t, p.SetLimits(0, 5))
		time.Sleep(100 * time.Millisecond)
		assert.Equal(t, 5, p.Size(), "the controller grows to the raised maximum")

		sc := p.Stats().Scaling
		logEvents(t, sc.Events)
		var got [][3]any
		for _, e := range sc.Events {
			got = append(got, change(e))
		}
		assert.Equal(t, [][3]any{{1, 3, poolrt.ReasonLimits}, {3, 2, poolrt.ReasonLimits}, {2, 5, "test"}}, got, "events")
		assert.Equal(t, [2]int{0, 2}, [2]int{sc.Events[1].Signals.Min, sc.Events[1].Signals.Max}, "a SetLimits event carries the new limits")

		require.NoError(t, p.Shutdown(context.Background()))
		assert.ErrorIs(t, p.SetLimits(1, 2), poolrt.ErrClosed, "SetLimits after Shutdown")
	})
}

// testIdleExpiry: workers idle for IdleTimeout are retired in one step,
// whatever the policy says, and a busy worker is not counted; a worker
// idle since before a change of size needs a full IdleTimeout after the
// change; the pool never goes below its minimum.
func testIdleExpiry[T any](t *testing.T, s *dynamicSuite[T]) {
	bubble(t, func(t *testing.T) {
		const idle = time.Second
		ctl := probe.New(1)
		p := s.start(t, poolrt.WorkerLimits(1, 4), poolrt.ScaleWith(holdSize), poolrt.IdleTimeout(idle), poolrt.Cooldown(0))
		require.NoError(t, p.Submit(context.Background(), s.sleeper(ctl, 0, 5*time.Second))) // the first worker is busy
		synctest.Wait()
		require.NoError(t, p.SetLimits(4, 4))
		require.NoError(t, p.SetLimits(1, 4)) // 4 workers, 3 of them idle

		time.Sleep(800 * time.Millisecond)
		require.NoError(t, p.SetLimits(1, 3)) // a change of size: idleness counts from here
		changed := time.Now()
		time.Sleep(idle - 50*time.Millisecond)
		assert.Equal(t, 3, p.Size(), "size before any worker was idle for IdleTimeout since the change")
		time.Sleep(100 * time.Millisecond)
		assert.Equal(t, 1, p.Size(), "size once two workers were idle for IdleTimeout")

		time.Sleep(10 * time.Second)
		synctest.Wait()
		st := p.Stats()
		sc := st.Scaling
		logEvents(t, sc.Events)
		require.Len(t, sc.Events, 3)
		e := sc.Events[2]
		assert.Equal(t, [3]any{3, 1, poolrt.ReasonIdleTimeout}, change(e), "the expiry")
		assert.Equal(t, 2, e.Signals.IdleExpired, "IdleExpired: the busy worker is not idle")
		assert.Equal(t, 1, e.Signals.Busy, "Busy")
		assert.Equal(t, idle, e.At.Sub(changed), "expired IdleTimeout after the change")
		assert.Equal(t, 1, st.Workers, "workers once the long task ended")
		assert.Equal(t, 1, p.Size(), "the minimum holds")
		assertRuns(t, ctl, 1, 0)
	})
}

// testPredictive: for a steady arrival rate λ of tasks that run S, the
// predictive policy sizes the pool by Little's law in one step, to
// ⌈λ·S/ρ⌉ (here ⌈100/s × 50 ms / 0.7⌉ = 8), keeps it there while the rate
// holds, and scales back to the minimum when arrivals stop.
func testPredictive[T any](t *testing.T, s *dynamicSuite[T]) {
	bubble(t, func(t *testing.T) {
		const interval, n = 100 * time.Millisecond, 300
		ctl := probe.New(n)
		p := s.start(t, poolrt.WorkerLimits(1, 32), poolrt.ScaleInterval(interval), poolrt.Cooldown(500*time.Millisecond),
			poolrt.LatencySampling(1), poolrt.Predictive(poolrt.PredictivePolicy{TargetUtilization: 0.7}))
		time.Sleep(time.Millisecond)
		start := time.Now()
		s.steady(t, p, ctl, 0, n, 10*time.Millisecond, 50*time.Millisecond) // 3 s at 100 tasks/s
		end := time.Now()
		assert.Equal(t, 8, p.Size(), "size under a steady load")

		last := p.Stats().Scaling.Last
		assert.Equal(t, uint64(10), last.Arrivals, "arrivals per interval")
		assert.InDelta(t, 100, last.ArrivalRate(), 1e-9, "arrival rate")
		assert.Equal(t, 50*time.Millisecond, last.MeanRun, "mean run time")
		assert.InDelta(t, 100*0.05/8, last.Utilization, 0.02, "utilization: λ·S/workers")

		time.Sleep(3 * time.Second)
		sc := p.Stats().Scaling
		logEvents(t, sc.Events)
		ups, downs := splitEvents(t, sc.Events)
		assertNoFlap(t, sc.Events)
		require.Len(t, ups, 1, "one step up")
		assert.Equal(t, [3]any{1, 8, poolrt.ReasonForecast}, change(ups[0]), "the step")
		assert.LessOrEqual(t, ups[0].At.Sub(start), interval, "sized within one interval")
		require.NotEmpty(t, downs)
		for _, e := range downs {
			assert.Equal(t, poolrt.ReasonForecast, e.Reason)
			assert.True(t, e.At.After(end), "scale-down at %v before arrivals stopped", e.At)
		}
		assert.Equal(t, 1, p.Size(), "size once arrivals stopped")
		require.NoError(t, p.Shutdown(context.Background()))
		assertRuns(t, ctl, 1, span(0, n)...)
	})
}

// testUserPolicy: a user's policy is called once per interval with signals
// that match what happened, its targets are clamped and applied, and its
// reasons recorded (ReasonPolicy when it gives none).
func testUserPolicy[T any](t *testing.T, s *dynamicSuite[T]) {
	bubble(t, func(t *testing.T) {
		const interval, n = 100 * time.Millisecond, 10
		var mu sync.Mutex
		var calls []poolrt.ScaleSignals
		policy := policyFunc(func(s poolrt.ScaleSignals) (int, string) {
			mu.Lock()
			defer mu.Unlock()
			calls = append(calls, s)
			switch len(calls) {
			case 1:
				return 3, "three"
			case 2:
				return 100, ""
			}
			return s.Workers, ""
		})
		ctl := probe.New(n)
		created := time.Now()
		p := s.start(t, poolrt.WorkerLimits(1, 4), poolrt.QueueSize(32), poolrt.ScaleInterval(interval),
			poolrt.LatencySampling(1), poolrt.ScaleWith(policy))
		for id := range n {
			require.NoError(t, p.Submit(context.Background(), s.sleeper(ctl, id, 30*time.Millisecond)))
		}
		time.Sleep(550 * time.Millisecond)
		mu.Lock()
		got := append([]poolrt.ScaleSignals(nil), calls...)
		mu.Unlock()

		require.Len(t, got, 5, "one call per interval")
		first := got[0]
		// One worker for 100 ms: tasks end at 30, 60 and 90 ms, the 4th runs.
		assert.Equal(t, 1, first.Workers, "Workers")
		assert.Equal(t, uint64(n), first.Arrivals, "Arrivals")
		assert.Equal(t, uint64(3), first.Completions, "Completions")
		assert.Equal(t, 6, first.QueueDepth, "QueueDepth")
		assert.Equal(t, 32, first.QueueCap, "QueueCap")
		assert.Equal(t, 1, first.Busy, "Busy")
		assert.InDelta(t, 1, first.Utilization, 1e-9, "Utilization")
		assert.Equal(t, 30*time.Millisecond, first.MeanRun, "MeanRun")

		var arrivals, completions uint64
		var workers []int
		for i, sig := range got {
			assert.Equal(t, created.Add(time.Duration(i+1)*interval), sig.At, "call %d: At", i)
			assert.Equal(t, interval, sig.Interval, "call %d: Interval", i)
			assert.Equal(t, [2]int{1, 4}, [2]int{sig.Min, sig.Max}, "call %d: limits", i)
			assert.True(t, sig.Utilization >= 0 && sig.Utilization <= 1, "call %d: Utilization %v", i, sig.Utilization)
			arrivals += sig.Arrivals
			completions += sig.Completions
			workers = append(workers, sig.Workers)
		}
		assert.Equal(t, []int{1, 3, 4, 4, 4}, workers, "Workers seen")
		assert.Equal(t, uint64(n), arrivals, "arrivals over all intervals")
		assert.Equal(t, uint64(n), completions, "completions over all intervals")
		assert.Zero(t, got[4].Busy, "Busy once the tasks are done")
		assert.Zero(t, got[4].Utilization, "Utilization once the tasks are done")

		sc := p.Stats().Scaling
		require.Len(t, sc.Events, 2)
		assert.Equal(t, [3]any{1, 3, "three"}, change(sc.Events[0]))
		assert.Equal(t, [3]any{3, 4, poolrt.ReasonPolicy}, change(sc.Events[1]))
		assert.Equal(t, got[0], sc.Events[0].Signals, "an event carries the signals it was decided on")
		assert.Equal(t, uint64(1), sc.Capped, "Capped")
		assert.Equal(t, uint64(5), sc.Evaluations, "Evaluations")
		assert.Equal(t, got[4], sc.Last, "Last")
	})
}

// testScaleFromZero: with a minimum of 0 the pool starts without workers,
// a submission starts one at once (not at the next interval), and once
// quiet the pool retires it again.
func testScaleFromZero[T any](t *testing.T, s *dynamicSuite[T]) {
	bubble(t, func(t *testing.T) {
		ctl := probe.New(2)
		p := s.start(t, poolrt.WorkerLimits(0, 2), poolrt.Cooldown(300*time.Millisecond))
		assert.Equal(t, 0, p.Size(), "a new pool's size")
		assert.Equal(t, 0, p.Stats().Workers, "a new pool's workers")

		time.Sleep(10 * time.Millisecond)
		require.NoError(t, p.Submit(context.Background(), s.sleeper(ctl, 0, 10*time.Millisecond)))
		assert.Equal(t, 1, p.Size(), "size after a submission")
		time.Sleep(11 * time.Millisecond)
		assert.Equal(t, 1, ctl.Ended(), "the task ran before the controller's first interval")

		time.Sleep(time.Second)
		synctest.Wait()
		assert.Equal(t, 0, p.Size(), "size once quiet")
		assert.Equal(t, 0, p.Stats().Workers, "workers once quiet")

		require.NoError(t, p.TrySubmit(s.sleeper(ctl, 1, 10*time.Millisecond)))
		time.Sleep(11 * time.Millisecond)
		assert.Equal(t, 2, ctl.Ended(), "TrySubmit starts a worker too")

		sc := p.Stats().Scaling
		logEvents(t, sc.Events)
		require.Len(t, sc.Events, 3)
		for i, want := range [][3]any{{0, 1, poolrt.ReasonArrival}, {1, 0, poolrt.ReasonQuiet}, {0, 1, poolrt.ReasonArrival}} {
			assert.Equal(t, want, change(sc.Events[i]), "event %d", i)
		}
		require.NoError(t, p.Shutdown(context.Background()))
		assertRuns(t, ctl, 1, 0, 1)
	})
}

// testZeroRace: a pool that scales to zero and back as fast as it can,
// under submitters arriving at random moments and a shutdown at a random
// moment, loses no task: every accepted task runs, even one accepted just
// as the last worker retires or intake closes. Real time and -race, to
// meet the interleavings synctest would not.
func testZeroRace[T any](t *testing.T, s *dynamicSuite[T]) {
	const submitters, per = 4, 50
	rounds := 10
	if testing.Short() {
		rounds = 3
	}
	for range rounds {
		ctl := probe.New(submitters * per)
		p, err := s.New(poolrt.WorkerLimits(0, 2), poolrt.ScaleInterval(time.Millisecond), poolrt.Cooldown(0),
			poolrt.Thresholds(poolrt.ThresholdPolicy{DownUtilization: 0.99, UpUtilization: 1}))
		require.NoError(t, err)
		var accepted []int
		var mu sync.Mutex
		var wg sync.WaitGroup
		for g := range submitters {
			wg.Go(func() {
				for k := range per {
					time.Sleep(time.Duration(rand.IntN(1500)) * time.Microsecond)
					id := g*per + k
					if p.TrySubmit(s.Task(ctl, id)) == nil {
						mu.Lock()
						accepted = append(accepted, id)
						mu.Unlock()
					}
				}
			})
		}
		time.Sleep(time.Duration(20+rand.IntN(40)) * time.Millisecond)
		ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
		err = p.Shutdown(ctx)
		cancel()
		wg.Wait()
		require.NoError(t, err, "Shutdown")
		st := p.Stats()
		require.Equal(t, len(accepted), ctl.Total(), "task runs (%d scaling events)", st.Scaling.Ups+st.Scaling.Downs)
		assertRuns(t, ctl, 1, accepted...)
		assertSettled(t, st)
	}
}

// testShutdownStopsController: the controller exits with the pool,
// whichever way it is shut down, and makes no change afterwards.
func testShutdownStopsController[T any](t *testing.T, s *dynamicSuite[T]) {
	for _, how := range []string{"Shutdown", "ShutdownNow", "ShutdownTimeout"} {
		t.Run(how, func(t *testing.T) {
			const n = 20
			ctl := probe.New(n + 1)
			p, err := s.New(poolrt.WorkerLimits(0, 4), poolrt.ScaleInterval(time.Millisecond), poolrt.Cooldown(0))
			require.NoError(t, err)
			for id := range n {
				require.NoError(t, p.Submit(context.Background(), s.sleeper(ctl, id, time.Millisecond)))
			}
			time.Sleep(5 * time.Millisecond)
			switch how {
			case "Shutdown":
				require.NoError(t, p.Shutdown(context.Background()))
				assertRuns(t, ctl, 1, span(0, n)...)
			case "ShutdownNow":
				left := p.ShutdownNow()
				assert.Equal(t, n, ctl.Ended()+len(left), "tasks run or returned")
			default:
				ctx, cancel := context.WithCancel(context.Background())
				cancel()
				require.NoError(t, p.Submit(context.Background(), s.sleeper(ctl, n, time.Hour)))
				assert.ErrorIs(t, p.Shutdown(ctx), context.Canceled)
				p.ShutdownNow()
			}
			goleak.VerifyNone(t) // no worker and no controller left
			before := p.Stats().Scaling
			time.Sleep(10 * time.Millisecond)
			after := p.Stats().Scaling
			assert.Equal(t, before.Evaluations, after.Evaluations, "evaluations after shutdown")
			assert.Equal(t, before.AtMin+before.AtMax, after.AtMin+after.AtMax, "time accounting stops at shutdown")
			assert.ErrorIs(t, p.SetLimits(1, 2), poolrt.ErrClosed)
			assert.ErrorIs(t, p.TrySubmit(s.Task(ctl, 0)), poolrt.ErrClosed)
			assertSettled(t, p.Stats())
		})
	}
}

// testDrainGrows: a burst submitted and followed at once by Shutdown is
// drained by a pool that grows to its maximum (early evaluations, a surge
// gap apart), not by the one worker it had: 40 tasks of 10 ms take about
// 60 ms on up to 8 workers rather than 400 ms on one. The pool never
// shrinks while it drains.
func testDrainGrows[T any](t *testing.T, s *dynamicSuite[T]) {
	bubble(t, func(t *testing.T) {
		const n, d = 40, 10 * time.Millisecond
		ctl := probe.New(n)
		p := s.start(t, poolrt.WorkerLimits(1, 8), poolrt.ScaleInterval(100*time.Millisecond))
		start := time.Now()
		for id := range n {
			require.NoError(t, p.Submit(context.Background(), s.sleeper(ctl, id, d)))
		}
		require.NoError(t, p.Shutdown(context.Background()))
		took := time.Since(start)
		sc := p.Stats().Scaling
		logEvents(t, sc.Events)
		assert.Equal(t, 8, sc.Peak, "Peak while draining")
		assert.Zero(t, sc.Downs, "scale-downs while draining")
		assert.Positive(t, sc.Surges, "early evaluations")
		assert.Less(t, took, 100*time.Millisecond, "drain time of %d tasks of %v", n, d)
		assertRuns(t, ctl, 1, span(0, n)...)
	})
}

// testEventRing: Events keeps the latest 64 changes, oldest
// first, while Ups and Downs count them all.
func testEventRing[T any](t *testing.T, s *dynamicSuite[T]) {
	bubble(t, func(t *testing.T) {
		p := s.start(t, poolrt.WorkerLimits(1, 2), poolrt.ScaleWith(holdSize))
		const n = scaleHistory + 10
		for i := range n {
			size := 2 - i%2 // 2, 1, 2, 1, ...
			require.NoError(t, p.SetLimits(size, size))
			time.Sleep(time.Millisecond)
		}
		sc := p.Stats().Scaling
		require.Len(t, sc.Events, scaleHistory)
		assert.Equal(t, uint64(n), sc.Ups+sc.Downs, "Ups + Downs")
		for i, e := range sc.Events {
			k := n - scaleHistory + i // the change's index
			assert.Equal(t, 2-k%2, e.To, "event %d: To", i)
			if i > 0 {
				assert.True(t, e.At.After(sc.Events[i-1].At), "events oldest first")
			}
		}
	})
}

// testLimitErrors: limits and scaling options that cannot work make the
// constructor return a *poolrt.ConfigError naming the option, and start
// nothing.
func testLimitErrors[T any](t *testing.T, s *dynamicSuite[T]) {
	for _, o := range []poolrt.Option{
		poolrt.WorkerLimits(3, 2),
		poolrt.WorkerLimits(-1, 2),
		poolrt.ScaleInterval(0),
		poolrt.Cooldown(-time.Second),
		poolrt.IdleTimeout(-time.Second),
		poolrt.Thresholds(poolrt.ThresholdPolicy{UpUtilization: 0.5, DownUtilization: 0.6}),
		poolrt.Predictive(poolrt.PredictivePolicy{TargetUtilization: 2}),
		poolrt.ScaleWith(nil),
	} {
		p, err := s.New(o)
		var ce *poolrt.ConfigError
		if assert.True(t, errors.As(err, &ce), "New(%v) = %v, want a *poolrt.ConfigError", o, err) {
			assert.Equal(t, o.String(), ce.Option, "the option named")
		}
		if !assert.Nil(t, p, "New(%v) returned a pool with its error", o) {
			p.ShutdownNow()
		}
	}
	goleak.VerifyNone(t)
}
