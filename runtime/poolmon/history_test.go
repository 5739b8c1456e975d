package poolmon

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	poolrt "github.com/poolgen/poolgen/runtime"
	"github.com/poolgen/poolgen/runtime/internal/registry"
	"github.com/poolgen/poolgen/templates"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestQuantile(t *testing.T) {
	var prev, cur poolrt.Latency
	p50, p99 := percentiles(&prev, &cur)
	assert.Zero(t, p50, "no observation: no percentile")
	assert.Zero(t, p99)

	cur.Buckets[3] = 98 // [4.096µs, 8.192µs)
	cur.Buckets[12] = 2 // [2.097ms, 4.194ms)
	p50, p99 = percentiles(&prev, &cur)
	assert.Equal(t, 3, class(p50), "p50 %v", p50)
	assert.Equal(t, 12, class(p99), "p99 %v", p99)

	prev = cur // nothing new since: the interval has no percentile
	p50, p99 = percentiles(&prev, &cur)
	assert.Zero(t, p50)
	assert.Zero(t, p99)

	cur.Buckets[0] += 1
	p50, _ = percentiles(&prev, &cur)
	assert.Equal(t, 512*time.Nanosecond, p50, "one observation: the middle of its class")

	var last poolrt.Latency
	last.Buckets[27] = 1
	p50, _ = percentiles(&poolrt.Latency{}, &last)
	assert.Equal(t, time.Duration(1024)<<26, p50, "the open class reports its lower bound")

	// Interpolation within a class: 4 observations in [1.024µs, 2.048µs).
	var spread poolrt.Latency
	spread.Buckets[1] = 4
	p50, p99 = percentiles(&poolrt.Latency{}, &spread)
	assert.Equal(t, time.Duration(1024+1024*1.5/4), p50)
	assert.Equal(t, time.Duration(1024+1024*3.5/4), p99)
}

// TestDeltaRouter: a router's sample lists its classes, completions per
// interval and gauges at its end, a lent class's limit; a reading whose
// classes changed counts from zero.
func TestDeltaRouter(t *testing.T) {
	classes := func(a, b uint64) *poolrt.RouterStats {
		return &poolrt.RouterStats{Budget: 4, Classes: []poolrt.ClassStats{
			{Class: "io", Lent: true, Min: 1, Limit: 3, Stats: poolrt.Stats{Completed: a, Workers: 3, Busy: 2, QueueDepth: 7}},
			{Class: "tiny", Stats: poolrt.Stats{Completed: b, Workers: 1}},
		}}
	}
	prev := poolrt.Stats{Completed: 15, Router: classes(10, 5)}
	cur := poolrt.Stats{Completed: 45, Router: classes(30, 15)}
	s := delta(prev, cur, 1)
	assert.Equal(t, []Class{
		{Class: "io", Completed: 20, Workers: 3, Busy: 2, QueueDepth: 7, Limit: 3},
		{Class: "tiny", Completed: 10, Workers: 1},
	}, s.Classes)
	prev.Router.Classes = prev.Router.Classes[:1]
	assert.Equal(t, uint64(30), delta(prev, cur, 1).Classes[0].Completed, "classes that do not match count from zero")
	assert.Nil(t, delta(poolrt.Stats{}, poolrt.Stats{}, 1).Classes)
}

func TestDelta(t *testing.T) {
	prev := poolrt.Stats{
		Submitted: 100, Completed: 90, Failed: 5, Panicked: 1, Rejected: 2, TimedOut: 1, QueueDepth: 4, Workers: 2,
		Run:      poolrt.Latency{Count: 10, Mean: time.Millisecond},
		Scaling:  &poolrt.ScalingStats{Ups: 3, Downs: 1},
		Stealing: &poolrt.StealingStats{Steals: 10, StolenTasks: 40},
		Priority: &poolrt.PriorityStats{Bands: []poolrt.BandStats{{Lo: 0, Hi: 9, Submitted: 10}, {Lo: 10, Hi: 19, Submitted: 5}}},
		Batch:    &poolrt.BatchStats{Batches: 7, Full: 3, Linger: 2, Idle: 1, Shutdown: 1},
	}
	cur := prev
	cur.Submitted, cur.Completed, cur.Failed, cur.Panicked, cur.Rejected, cur.TimedOut = 400, 290, 25, 1, 12, 4
	cur.QueueDepth, cur.QueueCap, cur.Workers, cur.Busy = 10, 64, 2, 1
	cur.Run = poolrt.Latency{Count: 30, Mean: time.Millisecond} // 20 timed tasks, 20ms
	cur.Wait.Buckets[5] = 7
	cur.Scaling = &poolrt.ScalingStats{Size: 2, Min: 1, Max: 8, Ups: 5, Downs: 1}
	cur.Stealing = &poolrt.StealingStats{Steals: 13, StolenTasks: 52}
	cur.Priority = &poolrt.PriorityStats{Bands: []poolrt.BandStats{
		{Lo: 0, Hi: 9, Submitted: 30, Completed: 25},
		{Lo: 10, Hi: 19, Submitted: 5, Completed: 5},
	}}
	cur.Priority.Bands[0].Wait.Buckets[9] = 4
	s := delta(prev, cur, 2)

	assert.Equal(t, 2.0, s.Seconds)
	assert.Equal(t, [6]uint64{300, 200, 20, 0, 10, 3}, [6]uint64{s.Submitted, s.Completed, s.Failed, s.Panicked, s.Rejected, s.TimedOut})
	assert.Equal(t, [5]int{2, 1, 10, 64, 6}, [5]int{s.Workers, s.Busy, s.QueueDepth, s.QueueCap, s.QueueGrowth})
	assert.Equal(t, 5, class(s.WaitP50))
	assert.Zero(t, s.RunP50, "Run.Buckets did not move")
	assert.Equal(t, [5]uint64{2, 0, 3, 12, 0}, [5]uint64{s.ScaleUps, s.ScaleDowns, s.Steals, s.StolenTasks, s.Batches})
	assert.Equal(t, [3]int{2, 1, 8}, [3]int{s.Size, s.Min, s.Max})
	require.Len(t, s.Bands, 2)
	assert.Equal(t, Band{Lo: 0, Hi: 9, Submitted: 20, Queued: 5, WaitP50: s.Bands[0].WaitP50, WaitP99: s.Bands[0].WaitP99}, s.Bands[0])
	assert.Equal(t, 9, class(s.Bands[0].WaitP99))
	assert.Zero(t, s.Bands[1].Submitted)
	// 20 timed tasks of 1ms stand for 200 tasks (one in ten timed): 200ms
	// of work over 2s and 2 workers.
	cur.Batch, prev.Batch = nil, nil
	s = delta(prev, cur, 2)
	assert.InDelta(t, 0.05, s.Utilization, 1e-9)
	// No timed task ended: the gauge.
	cur.Run = prev.Run
	assert.Equal(t, 0.5, delta(prev, cur, 2).Utilization, "Busy/Workers")
	cur.Run = poolrt.Latency{Count: 30, Mean: time.Millisecond}

	// A batch pool times batches: 2 batches of 50ms each in 1s on 1 worker.
	bp := poolrt.Stats{Workers: 1, Batch: &poolrt.BatchStats{}}
	bc := poolrt.Stats{Workers: 1, Completed: 500, Run: poolrt.Latency{Count: 2, Mean: 50 * time.Millisecond},
		Batch: &poolrt.BatchStats{Batches: 2, Full: 1, Linger: 1}}
	s = delta(bp, bc, 1)
	assert.InDelta(t, 0.1, s.Utilization, 1e-9)
	assert.Equal(t, [4]uint64{2, 1, 1, 0}, [4]uint64{s.Batches, s.FlushFull, s.FlushLinger, s.FlushIdle})

	// Sections that appear with no earlier reading count from zero, and
	// bands that changed in number are not compared.
	s = delta(poolrt.Stats{Priority: &poolrt.PriorityStats{}}, cur, 1)
	assert.Equal(t, uint64(5), s.ScaleUps)
	assert.Equal(t, uint64(13), s.Steals)
	assert.Equal(t, uint64(30), s.Bands[0].Submitted)
	assert.Zero(t, delta(poolrt.Stats{}, poolrt.Stats{}, 1).Utilization, "no worker, no utilization")
}

func TestStartRefusesBadConfig(t *testing.T) {
	ok := func(Sample) (float64, bool) { return 0, false }
	for _, c := range []struct {
		cfg  Config
		want string
	}{
		{Config{Interval: time.Millisecond}, "interval 1ms: want at least 10ms"},
		{Config{Interval: time.Minute, Window: time.Second}, "want at least the interval"},
		{Config{Interval: 10 * time.Millisecond, Window: 24 * time.Hour}, "at most 65536 samples"},
		{Config{Rules: []Rule{{Check: ok}}}, "rule without a name"},
		{Config{Rules: []Rule{{Name: "x"}}}, `rule "x" has no Check`},
		{Config{Rules: []Rule{{Name: "x", Check: ok, FireAfter: -1}}}, "cannot be negative"},
		{Config{Rules: []Rule{Stuck(), Stuck()}}, `rule "stuck" given twice`},
	} {
		m, err := Start(c.cfg)
		assert.Nil(t, m)
		if assert.Error(t, err) {
			assert.Contains(t, err.Error(), c.want)
			assert.Contains(t, err.Error(), "poolgen: ")
		}
	}
}

func TestHistory(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := addFake(t, "a", "fixed")
		addFake(t, "b", "dynamic")
		m := start(t, Config{Window: 5 * time.Second})
		for i := range 8 {
			a.ran(10*(i+1), time.Millisecond)
			a.step(func(st *poolrt.Stats) { st.Workers, st.Busy, st.QueueDepth = 4, 1, i })
			tick(time.Second)
		}
		h := m.History()
		require.Len(t, h, 2)
		assert.Equal(t, []string{"a", "b"}, []string{h[0].Name, h[1].Name})
		assert.Equal(t, "dynamic", h[1].Pattern)
		assert.Equal(t, "poolmon.fakeTask", h[0].Task)
		s := h[0].Samples
		require.Len(t, s, 5, "the window holds 5 intervals")
		for i, x := range s {
			assert.Equal(t, 1.0, x.Seconds)
			assert.Equal(t, uint64(10*(i+4)), x.Completed, "oldest first, the first 3 aged out")
			assert.Equal(t, i+3, x.QueueDepth)
			assert.Equal(t, 1, x.QueueGrowth)
			assert.InDelta(t, float64(x.Completed)*1e-3/4, x.Utilization, 1e-9, "every task timed: exact busy time over 4 workers")
			if i > 0 {
				assert.Equal(t, time.Second, x.At.Sub(s[i-1].At))
			}
		}
		assert.Len(t, h[1].Samples, 5)
		assert.Zero(t, h[1].Samples[0].Completed)

		// A pool that leaves is kept, marked gone, for a window.
		registry.Remove(registry.All()[0])
		tick(time.Second)
		h = m.History()
		require.Len(t, h, 2)
		assert.True(t, h[0].Gone)
		assert.False(t, h[1].Gone)
		time.Sleep(5 * time.Second)
		synctest.Wait()
		assert.Len(t, m.History(), 1, "aged out")
		assert.Equal(t, "b", m.History()[0].Name)
	})
}

func TestWindowRoundsUp(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		addFake(t, "a", "fixed")
		m := start(t, Config{Interval: 2 * time.Second, Window: 5 * time.Second})
		for range 5 {
			tick(2 * time.Second)
		}
		assert.Len(t, m.History()[0].Samples, 3, "6s of history cover the 5s window")
	})
}

func TestRestartedPool(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		old := addFake(t, "p", "fixed")
		m := start(t, Config{})
		old.ran(1000, time.Millisecond)
		tick(time.Second)
		registry.Remove(registry.All()[0])

		// A new pool under the same name within the interval: its
		// counters start from zero and its interval from its start.
		time.Sleep(time.Second / 2)
		fresh := addFake(t, "p", "dynamic")
		fresh.ran(5, time.Millisecond)
		tick(time.Second / 2)
		s := m.History()[0].Samples
		require.Len(t, s, 2)
		assert.Equal(t, uint64(5), s[1].Completed)
		assert.Equal(t, 0.5, s[1].Seconds)
		assert.Equal(t, "dynamic", m.History()[0].Pattern)
	})
}

func TestScaleEvents(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := addFake(t, "d", "dynamic")
		m := start(t, Config{})
		var events []poolrt.ScaleEvent
		for i := range 100 {
			events = append(events, poolrt.ScaleEvent{At: time.Now(), From: i, To: i + 1, Reason: "test"})
			if len(events) > scaleEventsKept {
				events = events[1:]
			}
			f.step(func(st *poolrt.Stats) {
				st.Scaling = &poolrt.ScalingStats{Size: i + 1, Ups: uint64(i + 1), Events: append([]poolrt.ScaleEvent(nil), events...)}
			})
			tick(time.Second)
		}
		h := m.History()[0]
		require.Len(t, h.Events, scaleEventsKept, "bounded")
		for i, e := range h.Events {
			assert.Equal(t, 100-scaleEventsKept+i, e.From, "each event once, the latest kept")
		}
		assert.Equal(t, uint64(1), h.Samples[len(h.Samples)-1].ScaleUps)
	})
}

// TestRealPools samples pools of package templates under load: the
// numbers must be what the pools did.
func TestRealPools(t *testing.T) {
	fixed, err := templates.NewFixedPool[sleepTask](poolrt.Name("fixed"), poolrt.Workers(2), poolrt.LatencySampling(1))
	require.NoError(t, err)
	dyn, err := templates.NewDynamicPool[sleepTask](poolrt.Name("dynamic"), poolrt.WorkerLimits(1, 4))
	require.NoError(t, err)
	t.Cleanup(func() {
		fixed.Shutdown(context.Background())
		dyn.Shutdown(context.Background())
	})
	m := start(t, Config{Interval: 20 * time.Millisecond, Window: time.Second})
	ctx := context.Background()
	for range 200 {
		require.NoError(t, fixed.Submit(ctx, sleepTask{100 * time.Microsecond}))
		require.NoError(t, dyn.Submit(ctx, sleepTask{100 * time.Microsecond}))
	}
	// The pools keep running: a pool's last interval before it leaves the
	// registry is never sampled.
	require.Eventually(t, func() bool {
		var n uint64
		for _, s := range m.History() {
			for _, x := range s.Samples {
				n += x.Completed
			}
		}
		return n == 400
	}, 5*time.Second, 10*time.Millisecond, "every task completed is in exactly one interval")
	h := m.History()
	require.Len(t, h, 2)
	assert.Equal(t, [4]string{"dynamic", "dynamic", "fixed", "fixed"}, [4]string{h[0].Name, h[0].Pattern, h[1].Name, h[1].Pattern})
	assert.Equal(t, "poolmon.sleepTask", h[0].Task)
	for _, s := range h {
		var timed bool
		for _, x := range s.Samples {
			assert.True(t, x.Utilization >= 0 && x.Utilization <= 1)
			timed = timed || x.RunP50 >= 100*time.Microsecond
		}
		assert.True(t, timed, "%s: the run time of some interval is at least the task's", s.Name)
	}
}

func TestDeltaShed(t *testing.T) {
	prev := poolrt.Stats{Uptime: time.Second, Shed: 3}
	cur := poolrt.Stats{Uptime: 2 * time.Second, Shed: 10, Shedding: true}
	s := delta(prev, cur, 1)
	assert.Equal(t, uint64(7), s.Shed, "submissions shed in the interval")
	assert.True(t, s.Shedding, "shedding at the interval's end")
	assert.Zero(t, delta(cur, cur, 1).Shed, "none shed between two equal readings")
}
