package poolimpl

import (
	"testing"
	"testing/synctest"
	"time"

	poolrt "github.com/poolgen/poolgen/runtime"
	"github.com/poolgen/poolgen/runtime/internal/config"
)

const (
	testTarget   = 5 * time.Millisecond
	testInterval = 100 * time.Millisecond
)

// shedRig is a controller over a fake queue whose depth the test sets,
// on a clock of the test's bubble.
type shedRig struct {
	s     *Shedder
	life  Lifecycle
	clock config.Clock
	depth int
}

func newShedRig(t *testing.T, p config.Pattern, opts ...poolrt.Option) *shedRig {
	t.Helper()
	opts = append(opts, poolrt.Shed(poolrt.ShedPolicy{Target: testTarget, Interval: testInterval}))
	var set config.Settings
	var err error
	if p == config.Priority {
		set, err = config.ResolveRank(poolrt.ByPriority, false, opts)
	} else {
		set, err = config.Resolve(p, opts)
	}
	if err != nil {
		t.Fatal(err)
	}
	return newShedRigSettings(t, &set)
}

func newShedRigSettings(t *testing.T, set *config.Settings) *shedRig {
	t.Helper()
	r := &shedRig{clock: config.NewClock()}
	r.s = newShedder(set, &r.life, &r.clock, 1000, func() int { return r.depth })
	if r.s == nil {
		t.Fatal("no controller for a pool with Shed")
	}
	return r
}

// observe has the controller see a wait of w now.
func (r *shedRig) observe(w time.Duration) { r.s.Observe(w, r.clock.Now()) }

// stats returns what the controller adds to Stats.
func (r *shedRig) stats() poolrt.Stats {
	var st poolrt.Stats
	r.s.snapshot(&st)
	return st
}

// overload keeps the waits at w for a whole interval, seeing one every
// 10ms, which puts the controller in the shedding state.
func (r *shedRig) overload(t *testing.T, w time.Duration) {
	t.Helper()
	for range 11 {
		r.observe(w)
		time.Sleep(10 * time.Millisecond)
	}
	if !r.s.on.Load() {
		t.Fatalf("waits of %v for an interval did not start shedding", w)
	}
}

func TestShedOff(t *testing.T) {
	set, err := config.Resolve(config.Fixed, nil)
	if err != nil {
		t.Fatal(err)
	}
	var life Lifecycle
	clock := config.NewClock()
	if s := newShedder(&set, &life, &clock, 10, func() int { return 0 }); s != nil {
		t.Fatal("a controller for a pool without Shed")
	}
}

// TestShedStandingQueue: waits above target for a whole interval start
// shedding, with the limit Little's law gives, and the queue's depth
// against the limit decides each submission.
func TestShedStandingQueue(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newShedRig(t, config.Fixed)
		r.depth = 80
		for range 10 { // 0..90ms: not yet an interval
			r.observe(20 * time.Millisecond)
			if r.s.Refuse(0) {
				t.Fatal("refused before the waits stayed above target for an interval")
			}
			time.Sleep(10 * time.Millisecond)
		}
		r.observe(20 * time.Millisecond) // at 100ms
		if !r.s.on.Load() {
			t.Fatal("waits above target for an interval did not start shedding")
		}
		if got, want := r.s.limit.Load(), int64(80*5/20); got != want {
			t.Errorf("limit = %d, want depth·target/wait = %d", got, want)
		}
		if !r.s.Refuse(0) {
			t.Error("a submission to a queue above the limit was admitted")
		}
		r.depth = 19
		if r.s.Refuse(0) {
			t.Error("a submission to a queue below the limit was refused")
		}
		r.depth = 20
		if !r.s.Refuse(0) {
			t.Error("a submission to a queue at the limit was admitted")
		}
		if st := r.stats(); st.Shed != 2 || !st.Shedding {
			t.Errorf("Shed %d, Shedding %t; want 2, true", st.Shed, st.Shedding)
		}
	})
}

// TestShedBurst: a burst whose waits fall back to target within the
// interval is absorbed, as CoDel's good queue, and so is a run of high
// waits broken by a gap longer than the interval.
func TestShedBurst(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newShedRig(t, config.Fixed)
		r.depth = 100
		for round := range 3 {
			for range 9 {
				r.observe(50 * time.Millisecond)
				time.Sleep(10 * time.Millisecond)
			}
			r.observe(testTarget) // at target: the minimum is not above it
			time.Sleep(10 * time.Millisecond)
			if r.s.on.Load() || r.s.Refuse(0) {
				t.Fatalf("round %d: a burst shorter than the interval started shedding", round)
			}
		}
		r.observe(50 * time.Millisecond)
		time.Sleep(testInterval + time.Millisecond) // nothing seen: unknown
		r.observe(50 * time.Millisecond)
		time.Sleep(testInterval)
		r.observe(50 * time.Millisecond)
		if r.s.on.Load() {
			t.Fatal("high waits an interval apart, with none seen between, started shedding")
		}
		time.Sleep(testInterval / 2)
		r.observe(50 * time.Millisecond)
		time.Sleep(testInterval / 2)
		r.observe(50 * time.Millisecond)
		if !r.s.on.Load() {
			t.Fatal("high waits seen every half interval for an interval did not start shedding")
		}
		r.s.on.Store(false)
		if st := r.stats(); st.Shed != 0 || st.Shedding {
			t.Errorf("Shed %d, Shedding %t; want 0, false", st.Shed, st.Shedding)
		}
	})
}

// TestShedLimit: in the shedding state the limit is scaled once per
// period of target by √(target/mean wait of the period), bounded to
// [1/√2, √2] a step and to [1, capacity].
func TestShedLimit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newShedRig(t, config.Fixed)
		r.depth = 400
		r.overload(t, 10*time.Millisecond)
		if got := r.s.limit.Load(); got != 200 {
			t.Fatalf("limit at entry = %d, want depth·target/wait = 400·5/10 = 200", got)
		}
		// Within a period the waits only add up; at its end their mean
		// counts: (2.5 + 17.5)/2 = 10ms, target/10ms = ½.
		r.s.refused.Store(r.clock.Now()) // a refusal just now keeps the state
		r.observe(testTarget)            // ends the period begun at entry: no change
		if got := r.s.limit.Load(); got != 200 {
			t.Fatalf("limit after a period of waits at target = %d, want 200", got)
		}
		r.observe(testTarget / 2)
		time.Sleep(testTarget / 2)
		r.observe(7 * testTarget / 2)
		if got := r.s.limit.Load(); got != 200 {
			t.Fatalf("limit changed within a period: %d", got)
		}
		time.Sleep(testTarget / 2)
		r.observe(0)                             // the period's mean: (2.5 + 17.5 + 0)/3 = 6.67ms
		if got := r.s.limit.Load(); got != 173 { // 200·√(5/6.67) = 173.2
			t.Fatalf("limit after a period of waits averaging 6.67ms = %d, want 173", got)
		}
		steps := []struct {
			wait time.Duration
			want int64
		}{
			{10 * time.Millisecond, 122}, // 173·√½ = 122.3
			{5 * time.Millisecond, 122},
			{time.Hour, 86},        // at most √½ down
			{testTarget / 4, 122},  // at most √2 up, rounded up: 121.6
			{time.Nanosecond, 173}, // 172.5
			{0, 245},               // 244.7
			{0, 347},               // 346.5
			{0, 491},               // 490.7
			{0, 695},               // 694.4
			{0, 983},               // 982.9
			{0, 1000},              // the capacity
		}
		for i, st := range steps {
			time.Sleep(testTarget)
			r.s.refused.Store(r.clock.Now())
			r.observe(st.wait)
			if got := r.s.limit.Load(); got != st.want {
				t.Fatalf("step %d: wait %v: limit %d, want %d", i, st.wait, got, st.want)
			}
		}
		for range 30 {
			time.Sleep(testTarget)
			r.s.refused.Store(r.clock.Now())
			r.observe(time.Hour)
		}
		if got := r.s.limit.Load(); got != 1 {
			t.Errorf("limit after long waits = %d, want the floor 1", got)
		}
		r.depth = 0
		if r.s.Refuse(0) {
			t.Error("a submission to an empty queue was refused")
		}
	})
}

// TestShedRecovery: the state ends once the pool refused no one for an
// interval and a wait at or below target is seen; Stats stops reporting
// it as shedding an interval after the last refusal even if no wait is
// seen.
func TestShedRecovery(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newShedRig(t, config.Fixed)
		r.depth = 1000
		r.overload(t, 50*time.Millisecond)
		if !r.s.Refuse(0) {
			t.Fatal("not refused at the capacity")
		}
		time.Sleep(testInterval / 2)
		r.observe(time.Millisecond)
		if !r.s.on.Load() {
			t.Fatal("the state ended half an interval after a refusal")
		}
		time.Sleep(testInterval / 2)
		if st := r.stats(); st.Shedding {
			t.Error("Stats reports shedding an interval after the last refusal")
		}
		r.observe(2 * testTarget)
		if !r.s.on.Load() {
			t.Fatal("the state ended on a wait above target")
		}
		r.observe(testTarget)
		if r.s.on.Load() {
			t.Fatal("the state did not end on a wait at target an interval after the last refusal")
		}
		if r.s.Refuse(0) {
			t.Error("refused after the state ended")
		}
		if st := r.stats(); st.Shed != 1 || st.Shedding {
			t.Errorf("Shed %d, Shedding %t; want 1, false", st.Shed, st.Shedding)
		}
	})
}

// TestShedBands: a priority pool refuses its band served last from a
// third of the limit, the next from two thirds, the one served first at
// the limit; a cost pool serves its highest band last; a deadline pool
// has one band.
func TestShedBands(t *testing.T) {
	type want struct {
		depth   int
		refused []bool // by band
	}
	cases := []struct {
		name  string
		kind  poolrt.RankKind
		opts  []poolrt.Option
		wants []want
	}{
		{"priority", poolrt.ByPriority, []poolrt.Option{poolrt.Bands(0, 10)}, []want{
			{9, []bool{false, false, false}},
			{10, []bool{true, false, false}},
			{20, []bool{true, true, false}},
			{30, []bool{true, true, true}},
		}},
		{"cost", poolrt.ByCost, []poolrt.Option{poolrt.Bands(0, 10)}, []want{
			{10, []bool{false, false, true}},
			{20, []bool{false, true, true}},
			{30, []bool{true, true, true}},
		}},
		{"deadline", poolrt.ByDeadline, nil, []want{
			{29, []bool{false}},
			{30, []bool{true}},
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				opts := append(c.opts, poolrt.Shed(poolrt.ShedPolicy{Target: testTarget, Interval: testInterval}))
				set, err := config.ResolveRank(c.kind, false, opts)
				if err != nil {
					t.Fatal(err)
				}
				r := newShedRigSettings(t, &set)
				r.depth = 60
				r.overload(t, 2*testTarget) // limit 60·5/10 = 30
				if got := r.s.limit.Load(); got != 30 {
					t.Fatalf("limit %d, want 30", got)
				}
				for _, w := range c.wants {
					r.depth = w.depth
					for b, refused := range w.refused {
						if got := r.s.Refuse(b); got != refused {
							t.Errorf("depth %d, band %d: refused %t, want %t", w.depth, b, got, refused)
						}
					}
				}
			})
		})
	}
}

// TestShedClosed: a closed pool's submissions fail with ErrClosed, not
// ErrOverloaded, and are not counted as shed.
func TestShedClosed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newShedRig(t, config.Fixed)
		r.life.Init(0)
		r.depth = 1000
		r.overload(t, time.Second)
		r.life.Stop(Draining, func() {})
		if r.s.Refuse(0) {
			t.Error("a closed pool's submission refused as overloaded")
		}
		if st := r.stats(); st.Shed != 0 {
			t.Errorf("Shed = %d, want 0", st.Shed)
		}
	})
}
