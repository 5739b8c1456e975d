package poolrt_test

import (
	"runtime"
	"testing"
	"testing/synctest"
	"time"

	"github.com/poolgen/poolgen/internal/replay"
	poolrt "github.com/poolgen/poolgen/runtime"
)

// replayOne plays tr into a real dynamic pool scaled by policy, in fake
// time, with one processor so that the run is the same every time.
func replayOne(t *testing.T, tr replay.Trace, cfg replay.Config, policy poolrt.Option) *replay.Result {
	t.Helper()
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	var r *replay.Result
	synctest.Test(t, func(t *testing.T) {
		var err error
		if r, err = replay.Run(tr, cfg, tr.Name, policy); err != nil {
			t.Fatal(err)
		}
	})
	return r
}

// TestLearningConvergesReplay: on a stationary load, LearningPolicy
// settles the pool near the Little's-law need — at least the need,
// within the headrooms it may choose, and steady — and where the idle
// workers cost more than the waiting tasks it settles lower than where
// the waits cost more, and pays for it in waits.
func TestLearningConvergesReplay(t *testing.T) {
	// 500 tasks a second of 20 ms: a need of 10 workers.
	const need = 10.0
	tr := replay.Step(40*time.Second, 500, 500, 0)
	cfg := replay.Config{Service: 20 * time.Millisecond, Min: 1, Max: 64, Seed: 3}
	latency := replayOne(t, tr, cfg, poolrt.Learning(poolrt.LearningPolicy{}))
	cost := replayOne(t, tr, cfg, poolrt.Learning(poolrt.LearningPolicy{Wait: 0.5, Idle: 1}))
	for _, c := range []struct {
		name string
		r    *replay.Result
	}{{"latency-bound", latency}, {"cost-bound", cost}} {
		early, late := c.r.MeanSize(10*time.Second, 25*time.Second), c.r.MeanSize(25*time.Second, 40*time.Second)
		t.Logf("%s: mean size %.1f, then %.1f; wait P99 %v", c.name, early, late, c.r.WaitQuantile(0.99, 10*time.Second, 40*time.Second))
		if late < need || late > 2.5*need {
			t.Errorf("%s: mean size %.1f over the last 15s, want within [%v, %v]", c.name, late, need, 2.5*need)
		}
		if d := late - early; d > 0.2*need || d < -0.2*need {
			t.Errorf("%s: mean size %.1f, then %.1f: not settled", c.name, early, late)
		}
	}
	if l, c := latency.MeanSize(20*time.Second, 40*time.Second), cost.MeanSize(20*time.Second, 40*time.Second); c >= l {
		t.Errorf("cost-bound mean size %.1f, latency-bound %.1f: want the cost-bound pool smaller", c, l)
	}
	if l, c := latency.WaitQuantile(0.99, 20*time.Second, 40*time.Second), cost.WaitQuantile(0.99, 20*time.Second, 40*time.Second); c <= l {
		t.Errorf("cost-bound wait P99 %v, latency-bound %v: want the cost-bound pool's longer", c, l)
	}
}

// TestSeasonalAnticipatesReplay: on a load whose burst recurs every
// period, SeasonalPolicy and PredictivePolicy run the first period alike
// (there is no history yet); in the second, the seasonal pool has grown
// before the burst comes and its tasks wait less.
func TestSeasonalAnticipatesReplay(t *testing.T) {
	const period = 20 * time.Second
	tr := replay.Burst(period, 2, 100, 1000, 8*time.Second, 3*time.Second)
	cfg := replay.Config{Service: 20 * time.Millisecond, Min: 1, Max: 64, Seed: 5}
	holt := replayOne(t, tr, cfg, poolrt.Predictive(poolrt.PredictivePolicy{}))
	seasonal := replayOne(t, tr, cfg, poolrt.Seasonal(poolrt.SeasonalPolicy{Period: period, Slots: 40}))

	if h, s := holt.WaitQuantile(0.99, 0, period), seasonal.WaitQuantile(0.99, 0, period); h != s {
		t.Errorf("first period: wait P99 %v under Holt, %v seasonal; want the same without history", h, s)
	}
	burst := period + 8*time.Second
	before, h := seasonal.MeanSize(burst-50*time.Millisecond, burst), holt.MeanSize(burst-50*time.Millisecond, burst)
	if before < 2*h {
		t.Errorf("50ms before the second burst: %.1f workers seasonal, %.1f Holt; want the seasonal pool grown", before, h)
	}
	// The burst's first half second: what anticipating is for.
	hw, sw := holt.WaitQuantile(0.99, burst, burst+500*time.Millisecond), seasonal.WaitQuantile(0.99, burst, burst+500*time.Millisecond)
	t.Logf("second burst's first 500ms: wait P99 %v under Holt, %v seasonal", hw, sw)
	if sw > hw/2 {
		t.Errorf("second burst's first 500ms: wait P99 %v seasonal, %v Holt; want at most half", sw, hw)
	}
	if hs, ss := holt.WaitQuantile(0.99, period, 2*period), seasonal.WaitQuantile(0.99, period, 2*period); ss >= hs {
		t.Errorf("second period: wait P99 %v seasonal, %v Holt; want it shorter", ss, hs)
	}
}
