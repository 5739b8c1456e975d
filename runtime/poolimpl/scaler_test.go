package poolimpl

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	poolrt "github.com/poolgen/poolgen/runtime"
	"github.com/poolgen/poolgen/runtime/internal/config"
)

// TestActivity checks the busy and alive time an Activity accounts, open
// periods included.
func TestActivity(t *testing.T) {
	var a Activity
	if r := a.read(100); r.busy != 0 || r.alive != 0 || r.mode != activityOff {
		t.Errorf("unused: %+v", r)
	}
	a.Start(100)
	a.Busy(150) // idle 50
	if r := a.read(170); r.busy != 20 || r.alive != 70 || r.mode != activityBusy || r.stamp != 150 {
		t.Errorf("busy since 150, read at 170: %+v", r)
	}
	a.Idle(200) // busy 50
	a.Busy(260) // idle 60
	a.Stop(300) // busy 40
	if r := a.read(1000); r.busy != 90 || r.alive != 200 || r.mode != activityOff {
		t.Errorf("stopped: %+v, want busy 90, alive 200", r)
	}
	a.Start(2000) // the slot's next worker
	if r := a.read(2100); r.busy != 90 || r.alive != 300 || r.mode != activityIdle || r.stamp != 2000 {
		t.Errorf("restarted: %+v, want busy 90, alive 300", r)
	}
}

// TestActivityConcurrent checks that a reader never sees a torn update.
// The owner alternates 1 ns idle and 2 ns busy, so a consistent reading
// after k whole cycles has busy = 2k and alive = 3k (plus the 1 ns idle
// of an unfinished cycle while busy), and alive always reaches exactly the
// last change; a torn one mixes two updates and breaks one of these.
func TestActivityConcurrent(t *testing.T) {
	const cycles = 200000
	var a Activity
	a.Start(1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		now := int64(1)
		for range cycles {
			now++
			a.Busy(now)
			now += 2
			a.Idle(now)
		}
	}()
	for reads := 0; ; reads++ {
		select {
		case <-done:
			if r := a.read(1); r.busy != 2*cycles || r.alive != 3*cycles {
				t.Errorf("final: %+v, want busy %d, alive %d", r, 2*cycles, 3*cycles)
			}
			t.Logf("%d reads", reads)
			return
		default:
		}
		r := a.read(1) // at the start: only closed periods count
		alive := r.alive
		if r.mode == activityBusy {
			alive-- // the idle nanosecond of the unfinished cycle
		}
		if r.alive != r.stamp-1 || alive%3 != 0 || r.busy != alive/3*2 {
			t.Fatalf("torn read: %+v", r)
		}
	}
}

// TestScalerNoAllocs checks that an evaluation that keeps the size
// allocates nothing: an idle pool's controller makes no garbage.
func TestScalerNoAllocs(t *testing.T) {
	set, err := config.Resolve(config.Dynamic, []poolrt.Option{poolrt.WorkerLimits(2, 4)})
	if err != nil {
		t.Fatal(err)
	}
	m := NewMeter(&set, set.Workers, set.Shards)
	acts := NewActivities(set.Workers)
	for id := range 2 {
		m.Worker(id)
		acts.Slot(id).Start(m.Now())
	}
	s := NewScaler(&set, m, acts, 64, func() int { return 0 }, func(int) bool { return true }, nil)
	s.Stats()
	allocs := testing.AllocsPerRun(100, func() { s.evaluate(false) })
	if allocs != 0 {
		t.Errorf("%v allocations per evaluation", allocs)
	}
	if st := s.Stats(); st.Evaluations != 101 || st.Size != 2 {
		t.Errorf("after 101 evaluations: %+v", st)
	}
}

// TestScalerSurge: a Surge makes the controller evaluate early, no sooner
// than SurgeGap after its last evaluation, again every gap while that
// grows the pool and tasks still wait for busy workers; such an
// evaluation only grows the pool. Under a policy other than the threshold
// policy, Surge does nothing.
func TestScalerSurge(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const interval = 100 * time.Millisecond
		gap := SurgeGap(interval)
		if gap != interval/64 || SurgeGap(10*time.Millisecond) != config.MinScaleInterval {
			t.Fatalf("SurgeGap(%v) = %v, SurgeGap(10ms) = %v", interval, gap, SurgeGap(10*time.Millisecond))
		}
		sc := newTestScaler(t, poolrt.WorkerLimits(1, 8), poolrt.ScaleInterval(interval))
		s := sc.s
		s.Start()
		defer s.Close()
		if !s.Growing() {
			t.Fatal("Growing() = false for a pool of 1 of 8 under the threshold policy")
		}

		sc.setDepth(4)
		time.Sleep(time.Millisecond)
		s.Surge()
		s.Surge() // one pending is enough
		synctest.Wait()
		if sizes := sc.resized(); len(sizes) != 0 {
			t.Fatalf("resized to %v within the surge gap", sizes)
		}
		time.Sleep(gap)
		synctest.Wait()
		st := s.Stats()
		if sizes := sc.resized(); !slices.Equal(sizes, []int{2}) || st.Surges != 1 || st.Evaluations != 1 {
			t.Fatalf("after a surge: resized to %v; Surges %d, Evaluations %d; want [2], 1, 1", sizes, st.Surges, st.Evaluations)
		}
		if at := st.Events[0].At.Sub(sc.m.Time(1)); at != gap {
			t.Fatalf("surge evaluated at %v, want %v (the gap after the controller started)", at, gap)
		}

		// Four tasks waited for two workers: a gap later it evaluates
		// again and grows, and then stops: two wait for four workers.
		sc.setDepth(2)
		time.Sleep(3 * gap)
		synctest.Wait()
		if st, sizes := s.Stats(), sc.resized(); !slices.Equal(sizes, []int{2, 4}) || st.Surges != 2 {
			t.Fatalf("a surge that grew the pool with tasks waiting: resized to %v, Surges %d; want [2 4], 2", sizes, st.Surges)
		}

		// Idle workers, empty queue: the policy wants fewer, but a surge
		// never shrinks.
		sc.act.Idle(sc.m.Now())
		sc.setDepth(0)
		time.Sleep(gap)
		s.Surge()
		time.Sleep(2 * gap)
		synctest.Wait()
		if st, sizes := s.Stats(), sc.resized(); len(sizes) != 2 || st.Surges != 3 || st.Size != 4 {
			t.Fatalf("a surge with idle workers resized to %v (Surges %d, Size %d)", sizes, st.Surges, st.Size)
		}
		s.Close()
		if err := s.Wait(context.Background()); err != nil {
			t.Fatal(err)
		}
		if s.Growing() {
			t.Fatal("Growing() = true after Close")
		}

		p := newTestScaler(t, poolrt.WorkerLimits(1, 8), poolrt.Predictive(poolrt.PredictivePolicy{})).s
		if p.Growing() {
			t.Fatal("Growing() = true under the predictive policy")
		}
	})
}

// TestScalerSurgeRetries: an early evaluation whose interval began before
// the burst may find utilization below the threshold and keep the size;
// the controller tries again a gap later while tasks still wait.
func TestScalerSurgeRetries(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const interval = 100 * time.Millisecond
		gap := SurgeGap(interval)
		sc := newTestScaler(t, poolrt.WorkerLimits(1, 8), poolrt.ScaleInterval(interval))
		s := sc.s
		sc.act.Idle(sc.m.Now())
		s.Start()
		defer s.Close()
		time.Sleep(10 * gap) // idle: the interval's utilization will be low
		sc.act.Busy(sc.m.Now())
		sc.setDepth(2) // below the threshold policy's queue level, above one worker
		s.Surge()
		synctest.Wait()
		if st := s.Stats(); st.Surges != 1 || len(sc.resized()) != 0 {
			t.Fatalf("first early evaluation: Surges %d, resized to %v; want 1, none (utilization %v)", st.Surges, sc.resized(), st.Last.Utilization)
		}
		time.Sleep(gap)
		synctest.Wait()
		if st, sizes := s.Stats(), sc.resized(); st.Surges != 2 || !slices.Equal(sizes, []int{2}) {
			t.Fatalf("a gap later: Surges %d, resized to %v; want 2, [2]", st.Surges, sizes)
		}
	})
}

// TestScalerDrain: once the pool drains (Shutdown), the controller grows
// it while tasks back up, never shrinks it, refuses SetLimits, and stops
// by itself when the pool has exited.
func TestScalerDrain(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const interval = 100 * time.Millisecond
		gap := SurgeGap(interval)
		sc := newTestScaler(t, poolrt.WorkerLimits(1, 8), poolrt.ScaleInterval(interval))
		s := sc.s
		s.Start()
		sc.setDepth(5)
		time.Sleep(time.Millisecond)
		s.Drain()
		time.Sleep(10 * gap)
		synctest.Wait()
		if sizes := sc.resized(); !slices.Equal(sizes, []int{2, 4, 8}) {
			t.Fatalf("draining with 5 tasks waiting: resized to %v, want [2 4 8]", sizes)
		}
		if err := s.SetLimits(1, 4); !errors.Is(err, poolrt.ErrClosed) {
			t.Fatalf("SetLimits while draining = %v, want ErrClosed", err)
		}

		sc.act.Idle(sc.m.Now())
		sc.setDepth(0)
		time.Sleep(3 * interval)
		synctest.Wait()
		if st := s.Stats(); st.Size != 8 || st.Downs != 0 || st.Evaluations < 5 {
			t.Fatalf("idle while draining: Size %d, Downs %d after %d evaluations; want 8, 0, ≥ 5", st.Size, st.Downs, st.Evaluations)
		}
		close(sc.exited)
		if err := s.Wait(context.Background()); err != nil {
			t.Fatal(err)
		}
		evals := s.Stats().Evaluations
		time.Sleep(3 * interval)
		if got := s.Stats().Evaluations; got != evals {
			t.Fatalf("%d evaluations after the pool exited", got-evals)
		}
	})
}

// testScaler is a Scaler over a fake pool: one worker activity, a queue
// depth the test sets, and the sizes the controller asked for.
type testScaler struct {
	s      *Scaler
	m      *Meter
	act    *Activity
	exited chan struct{}
	mu     sync.Mutex // the controller's goroutine reads depth and appends to sizes
	depth  int
	sizes  []int
}

func newTestScaler(t *testing.T, opts ...poolrt.Option) *testScaler {
	set, err := config.Resolve(config.Dynamic, opts)
	if err != nil {
		t.Fatal(err)
	}
	sc := &testScaler{m: NewMeter(&set, set.Workers, set.Shards), exited: make(chan struct{})}
	acts := NewActivities(set.Workers)
	sc.m.Worker(0)
	sc.act = acts.Slot(0)
	sc.act.Start(sc.m.Now())
	sc.act.Busy(sc.m.Now())
	sc.s = NewScaler(&set, sc.m, acts, 64, func() int {
		sc.mu.Lock()
		defer sc.mu.Unlock()
		return sc.depth
	}, func(n int) bool {
		sc.mu.Lock()
		defer sc.mu.Unlock()
		sc.sizes = append(sc.sizes, n)
		return true
	}, sc.exited)
	return sc
}

func (sc *testScaler) setDepth(n int) {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	sc.depth = n
}

func (sc *testScaler) resized() []int {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	return slices.Clone(sc.sizes)
}
