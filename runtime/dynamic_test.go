package poolrt

import (
	"errors"
	"math"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/poolgen/poolgen/runtime/internal/config"
)

// TestResolveDynamic checks the dynamic pool's defaults and that Workers,
// the worker slots, is its maximum, from which the shards and the default
// queue size follow.
func TestResolveDynamic(t *testing.T) {
	procs := runtime.GOMAXPROCS(0)
	s, err := config.Resolve(config.Dynamic, nil)
	if err != nil {
		t.Fatal(err)
	}
	d := s.Dynamic
	if d.Min != 1 || d.Max != procs || s.Workers != procs {
		t.Errorf("default limits [%d, %d], Workers %d; want [%d, %d], %d", d.Min, d.Max, s.Workers, 1, procs, procs)
	}
	if d.Interval != 100*time.Millisecond || d.Cooldown != time.Second || d.IdleTimeout != 0 {
		t.Errorf("default Interval %v, Cooldown %v, IdleTimeout %v", d.Interval, d.Cooldown, d.IdleTimeout)
	}
	if d.Policy != nil {
		t.Errorf("default policy %T, want none (the pool's controller uses ThresholdPolicy{})", d.Policy)
	}

	s, err = config.Resolve(config.Dynamic, []Option{WorkerLimits(0, 40), ScaleInterval(time.Second), IdleTimeout(time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	if s.Dynamic.Min != 0 || s.Dynamic.Max != 40 || s.Workers != 40 {
		t.Errorf("WorkerLimits(0, 40): limits [%d, %d], Workers %d", s.Dynamic.Min, s.Dynamic.Max, s.Workers)
	}
	if s.QueueSize != 256*40 || s.Shards != min(40, procs) {
		t.Errorf("QueueSize %d, Shards %d: want them to follow the maximum", s.QueueSize, s.Shards)
	}
	if s.Dynamic.Cooldown != 10*time.Second {
		t.Errorf("default Cooldown %v, want %d intervals", s.Dynamic.Cooldown, 10)
	}
	s, err = config.Resolve(config.Dynamic, []Option{Cooldown(0), ScaleInterval(time.Second)})
	if err != nil || s.Dynamic.Cooldown != 0 {
		t.Errorf("Cooldown(0): %v, %v; want an explicit 0 kept", s.Dynamic.Cooldown, err)
	}
}

// TestDynamicOptionErrors checks that every bad value of a dynamic
// option is a *ConfigError naming it.
func TestDynamicOptionErrors(t *testing.T) {
	bad := []Option{
		WorkerLimits(-1, 2),
		WorkerLimits(0, 0),
		WorkerLimits(3, 2),
		WorkerLimits(1, (1<<20)+1),
		ScaleInterval(0),
		ScaleInterval(time.Microsecond),
		Cooldown(-time.Second),
		IdleTimeout(-time.Second),
		Thresholds(ThresholdPolicy{UpUtilization: 1.5}),
		Thresholds(ThresholdPolicy{DownUtilization: 0.9}), // above the default UpUtilization
		Thresholds(ThresholdPolicy{UpUtilization: 0.5, DownUtilization: 0.5}),
		Thresholds(ThresholdPolicy{DownUtilization: math.NaN()}),
		Thresholds(ThresholdPolicy{StepUp: -1}),
		Thresholds(ThresholdPolicy{UpQueue: QueueLevel{Fraction: 2}}),
		Thresholds(ThresholdPolicy{DownQueue: QueueLevel{Tasks: -1}}),
		Predictive(PredictivePolicy{TargetUtilization: 1.5}),
		Predictive(PredictivePolicy{Alpha: -0.5}),
		Predictive(PredictivePolicy{Beta: 2}),
		Predictive(PredictivePolicy{Slack: -1}),
		Predictive(PredictivePolicy{Drain: -time.Second}),
		ScaleWith(nil),
	}
	for _, o := range bad {
		_, err := config.Resolve(config.Dynamic, []Option{o})
		var ce *ConfigError
		if !errors.As(err, &ce) || ce.Option != o.String() || ce.Reason == "" {
			t.Errorf("Resolve(config.Dynamic, %v) = %v, want a *ConfigError naming it", o, err)
		}
	}
	for _, o := range []Option{WorkerLimits(1, 2), ScaleInterval(time.Second), Cooldown(0), IdleTimeout(0),
		Thresholds(ThresholdPolicy{}), Predictive(PredictivePolicy{}), ScaleWith(ThresholdPolicy{})} {
		if _, err := config.Resolve(config.Fixed, []Option{o}); err == nil || !strings.Contains(err.Error(), "does not apply") {
			t.Errorf("Resolve(config.Fixed, %v) = %v, want it refused as dynamic-only", o, err)
		}
		if _, err := config.Resolve(config.Dynamic, []Option{o}); err != nil {
			t.Errorf("Resolve(config.Dynamic, %v) = %v", o, err)
		}
	}
	if _, err := config.Resolve(config.Dynamic, []Option{Workers(2)}); err == nil {
		t.Error("Resolve(config.Dynamic, Workers(2)) accepted: the dynamic pool sizes itself")
	}
}

// TestPredictiveOwnState checks that one Predictive option gives every
// pool a forecast of its own.
func TestPredictiveOwnState(t *testing.T) {
	opt := Predictive(PredictivePolicy{})
	a, _ := config.Resolve(config.Dynamic, []Option{opt})
	b, _ := config.Resolve(config.Dynamic, []Option{opt})
	pa, pb := a.Dynamic.Policy.(*PredictivePolicy), b.Dynamic.Policy.(*PredictivePolicy)
	if pa == nil || pa == pb {
		t.Fatalf("policies %p and %p: want two distinct *PredictivePolicy", pa, pb)
	}
	pa.Scale(ScaleSignals{Interval: time.Second, Arrivals: 100})
	if pb.forecast() != 0 || pa.forecast() != 100 {
		t.Errorf("forecasts %v and %v, want 100 and 0", pa.forecast(), pb.forecast())
	}
}

func TestQueueLevel(t *testing.T) {
	for _, c := range []struct {
		l    QueueLevel
		cap  int
		want int
	}{
		{QueueLevel{}, 100, 0},
		{QueueLevel{Tasks: 7}, 100, 7},
		{QueueLevel{Fraction: 0.05}, 1000, 50},
		{QueueLevel{Fraction: 0.05}, 10, 1}, // rounded up
		{QueueLevel{Tasks: 7, Fraction: 0.05}, 1000, 50},
		{QueueLevel{Tasks: 70, Fraction: 0.05}, 1000, 70},
	} {
		if got := c.l.Level(c.cap); got != c.want {
			t.Errorf("%+v.Level(%d) = %d, want %d", c.l, c.cap, got, c.want)
		}
	}
}

// TestThresholdPolicy checks the default policy's decisions, its
// defaults and its guard against scaling down into a scale-up.
func TestThresholdPolicy(t *testing.T) {
	sig := func(workers, depth int, util float64) ScaleSignals {
		return ScaleSignals{Workers: workers, Min: 0, Max: 100, QueueDepth: depth, QueueCap: 1000, Utilization: util}
	}
	def := ThresholdPolicy{}
	custom := ThresholdPolicy{UpQueue: QueueLevel{Tasks: 10}, DownQueue: QueueLevel{Tasks: 2},
		UpUtilization: 0.9, DownUtilization: 0.3, StepUp: 3, StepDown: 2}
	tests := []struct {
		name   string
		p      ThresholdPolicy
		s      ScaleSignals
		want   int
		reason string
	}{
		{"deep queue doubles", def, sig(4, 50, 0.5), 8, ReasonQueue},
		{"queue below the level", def, sig(4, 49, 0.6), 4, ""},
		{"busy doubles", def, sig(4, 0, 0.85), 8, ReasonBusy},
		{"queue at zero workers", def, sig(0, 50, 0), 1, ReasonQueue},
		{"zero workers, short queue", def, sig(0, 3, 0), 0, ""},
		{"quiet shrinks by one", def, sig(4, 0, 0.5), 3, ReasonQuiet},
		{"tasks wait: no shrink", def, sig(4, 1, 0.1), 4, ""},
		{"between the thresholds", def, sig(4, 0, 0.6), 4, ""},
		{"idle to zero", def, sig(1, 0, 0), 0, ReasonQuiet},
		{"not to zero while busy", def, sig(1, 0, 0.2), 1, ""},
		// 0.45 × 2 / 1 = 0.9 ≥ 0.85: one worker would be busy enough to
		// scale up again, so keep two.
		{"shrink that would flap", def, sig(2, 0, 0.45), 2, ""},
		{"shrink that fits", def, sig(3, 0, 0.45), 2, ReasonQuiet},
		{"custom queue up", custom, sig(4, 10, 0), 7, ReasonQueue},
		{"custom busy", custom, sig(4, 0, 0.9), 7, ReasonBusy},
		{"custom shrink by two", custom, sig(10, 2, 0.3), 8, ReasonQuiet},
		{"custom queue above down level", custom, sig(10, 3, 0.1), 10, ""},
		// 0.3 × 4 / 2 = 0.6 fits; the step of 2 applies in full.
		{"custom shrink by two, small", custom, sig(4, 0, 0.3), 2, ReasonQuiet},
		// A down level at or above the up level: up is raised above it.
		{"down level above up level", ThresholdPolicy{UpQueue: QueueLevel{Tasks: 5}, DownQueue: QueueLevel{Tasks: 8}}, sig(4, 8, 0), 3, ReasonQuiet},
		{"raised up level", ThresholdPolicy{UpQueue: QueueLevel{Tasks: 5}, DownQueue: QueueLevel{Tasks: 8}}, sig(4, 9, 0), 8, ReasonQueue},
	}
	for _, tt := range tests {
		got, reason := tt.p.Scale(tt.s)
		if got != tt.want || reason != tt.reason {
			t.Errorf("%s: Scale(%+v) = %d, %q; want %d, %q", tt.name, tt.s, got, reason, tt.want, tt.reason)
		}
	}
}

// TestPredictivePolicy checks Little's law, the down-scaling slack, the
// backlog term, the missing estimate, and that Holt's trend makes the
// forecast lead a ramp.
func TestPredictivePolicy(t *testing.T) {
	const interval = 100 * time.Millisecond
	sig := func(workers int, rate float64, run time.Duration, depth int) ScaleSignals {
		return ScaleSignals{Workers: workers, Interval: interval, Arrivals: uint64(rate * interval.Seconds()), MeanRun: run, QueueDepth: depth}
	}
	p := &PredictivePolicy{TargetUtilization: 0.5}
	// λ = 200/s, S = 20 ms, ρ = 0.5: 8 workers.
	if n, r := p.Scale(sig(1, 200, 20*time.Millisecond, 0)); n != 8 || r != ReasonForecast {
		t.Errorf("steady 200/s × 20 ms / 0.5: %d, %q; want 8", n, r)
	}
	for range 10 {
		if n, _ := p.Scale(sig(8, 200, 20*time.Millisecond, 0)); n != 8 {
			t.Fatalf("steady rate at the right size: %d, want 8", n)
		}
	}
	// 9 workers are within the 20% slack of 8: keep; 10 is not: 8·1.2 = 9.6 → 10.
	if n, _ := p.Scale(sig(9, 200, 20*time.Millisecond, 0)); n != 9 {
		t.Errorf("9 workers for a need of 8: %d, want 9 (within the slack)", n)
	}
	if n, _ := p.Scale(sig(12, 200, 20*time.Millisecond, 0)); n != 10 {
		t.Errorf("12 workers for a need of 8: %d, want 10", n)
	}
	// A backlog of 100 tasks to clear within 1 s adds 100/s: (200+100) × 0.02 / 0.5 = 12.
	if n, _ := p.Scale(sig(8, 200, 20*time.Millisecond, 100)); n != 12 {
		t.Errorf("backlog: %d, want 12", n)
	}

	q := &PredictivePolicy{}
	if n, r := q.Scale(sig(2, 100, 0, 5)); n != 3 || r != ReasonNoEstimate {
		t.Errorf("no run time, tasks waiting: %d, %q; want 3", n, r)
	}
	if n, r := q.Scale(sig(2, 100, 0, 0)); n != 2 || r != "" {
		t.Errorf("no run time, no task waiting: %d, %q; want 2", n, r)
	}

	// A ramp of +10/s per interval: a plain average lags behind it, Holt's
	// trend catches up and forecasts the next step.
	r := &PredictivePolicy{Alpha: 0.5, Beta: 0.5}
	var rate float64
	for i := range 40 {
		rate = float64(100 + 10*i)
		r.Scale(sig(1, rate, 10*time.Millisecond, 0))
	}
	if f := r.forecast(); math.Abs(f-(rate+10)) > 0.5 {
		t.Errorf("forecast on a ramp ending at %v: %v, want about %v", rate, f, rate+10)
	}
	// Arrivals stop: the forecast falls to zero, never below.
	for range 20 {
		r.Scale(sig(1, 0, 10*time.Millisecond, 0))
	}
	if f := r.forecast(); f != 0 {
		t.Errorf("forecast after arrivals stopped: %v, want 0", f)
	}
}
