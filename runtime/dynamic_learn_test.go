package poolrt

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/poolgen/poolgen/runtime/internal/config"
)

// TestLearningOptionErrors checks that bad values of Learning and
// Seasonal are *ConfigErrors naming the option, and that both options are
// for dynamic pools only.
func TestLearningOptionErrors(t *testing.T) {
	bad := []Option{
		Learning(LearningPolicy{Wait: -1}),
		Learning(LearningPolicy{Idle: math.NaN()}),
		Learning(LearningPolicy{Idle: 1e7}),
		Learning(LearningPolicy{Explore: 1}),
		Learning(LearningPolicy{Explore: -0.1}),
		Learning(LearningPolicy{LearningRate: 1.5}),
		Learning(LearningPolicy{Drain: -time.Second}),
		Seasonal(SeasonalPolicy{}), // no period
		Seasonal(SeasonalPolicy{Period: -time.Hour}),
		Seasonal(SeasonalPolicy{Period: time.Hour, Slots: -1}),
		Seasonal(SeasonalPolicy{Period: time.Hour, Slots: maxSeasonSlots + 1}),
		Seasonal(SeasonalPolicy{Period: 10 * time.Millisecond, Slots: 20}), // half-millisecond slots
		Seasonal(SeasonalPolicy{Period: time.Hour, Gamma: 2}),
		Seasonal(SeasonalPolicy{Period: time.Hour, Lead: -time.Second}),
		Seasonal(SeasonalPolicy{Period: time.Hour, PredictivePolicy: PredictivePolicy{Alpha: 3}}),
	}
	for _, o := range bad {
		_, err := config.Resolve(config.Dynamic, []Option{o})
		var ce *ConfigError
		if !errors.As(err, &ce) || ce.Option != o.String() || ce.Reason == "" || !strings.HasPrefix(err.Error(), "poolgen: ") {
			t.Errorf("Resolve(config.Dynamic, %v) = %v, want a *ConfigError naming it", o, err)
		}
	}
	for _, o := range []Option{Learning(LearningPolicy{}), Seasonal(SeasonalPolicy{Period: time.Hour})} {
		if _, err := config.Resolve(config.Fixed, []Option{o}); err == nil || !strings.Contains(err.Error(), "does not apply") {
			t.Errorf("Resolve(config.Fixed, %v) = %v, want it refused as dynamic-only", o, err)
		}
	}
}

// TestLearningOwnState checks that one Learning option gives every pool a
// learner of its own, starting from nothing, with the defaults filled in.
func TestLearningOwnState(t *testing.T) {
	opt := Learning(LearningPolicy{Idle: 2})
	a, _ := config.Resolve(config.Dynamic, []Option{opt})
	b, _ := config.Resolve(config.Dynamic, []Option{opt})
	pa, pb := a.Dynamic.Policy.(*LearningPolicy), b.Dynamic.Policy.(*LearningPolicy)
	if pa == nil || pa == pb || pa.learner == pb.learner {
		t.Fatalf("policies %p and %p: want two distinct *LearningPolicy with learners of their own", pa, pb)
	}
	if pa.Wait != defaultLearnWait || pa.Idle != 2 || pa.Explore != defaultLearnExplore || pa.LearningRate != defaultLearnRate || pa.Drain != time.Second {
		t.Errorf("resolved policy %+v: want the defaults and Idle 2", *pa)
	}
	sig := ScaleSignals{Interval: time.Second, Workers: 1, Min: 1, Max: 100, Arrivals: 100, Completions: 100, MeanRun: 10 * time.Millisecond}
	pa.Scale(sig)
	if pb.learner.primed || !pa.learner.primed {
		t.Error("a pool's measurement reached another pool's learner")
	}
}

// TestLearningScale checks the sizes LearningPolicy asks for before it
// has learned anything: one more worker while tasks wait and no run time
// is known, then Little's law with the default headroom (1.4) and the
// backlog's drain.
func TestLearningScale(t *testing.T) {
	var p LearningPolicy // used through ScaleWith: no option filled it in
	p.Explore = 1e-9     // never explores: the sizes are the default arm's
	s := ScaleSignals{Interval: 100 * time.Millisecond, Workers: 2, Min: 1, Max: 100, QueueDepth: 3}
	if n, r := p.Scale(s); n != 3 || r != ReasonNoEstimate {
		t.Errorf("tasks waiting, no run time: Scale = %d, %q; want 3, %q", n, r, ReasonNoEstimate)
	}
	s.QueueDepth = 0
	if n, r := p.Scale(s); n != 2 || r != "" {
		t.Errorf("no task waiting, no run time: Scale = %d, %q; want the size kept", n, r)
	}

	// 1,000 tasks a second of 10 ms: a need of 10 workers; 14 with the
	// default headroom.
	q := LearningPolicy{Explore: 1e-9}
	s = ScaleSignals{Interval: 100 * time.Millisecond, Workers: 2, Min: 1, Max: 100, Arrivals: 100, Completions: 20, MeanRun: 10 * time.Millisecond}
	if n, r := q.Scale(s); n != 14 || r != ReasonLearned {
		t.Errorf("steady load, need 10: Scale = %d, %q; want 14, %q", n, r, ReasonLearned)
	}
	s.Workers = 14
	if n, r := q.Scale(s); n != 14 || r != "" {
		t.Errorf("at the size it chose: Scale = %d, %q; want it kept", n, r)
	}
	// A backlog of 50 tasks adds the workers that drain it within a
	// second: 50 tasks × 10 ms = 0.5 worker.
	s.QueueDepth = 50
	if n, _ := q.Scale(s); n != 15 {
		t.Errorf("with a backlog of 50: Scale = %d, want 15", n)
	}
	// A rise out of the average is planned for at once: 3,000 tasks a
	// second, in the rising context, whose default arm is also 1.4.
	s.QueueDepth, s.Arrivals = 0, 300
	if n, _ := q.Scale(s); n != 42 {
		t.Errorf("rate tripled: Scale = %d, want 42", n)
	}
}

// TestLearningLearns plays LearningPolicy against a model of a pool whose
// tasks queue unless it runs 1.5 workers per worker of need: it must
// settle on the smallest headroom that keeps the queue empty (1.6), and
// move to a smaller one when idle workers cost more than waiting tasks.
func TestLearningLearns(t *testing.T) {
	model := func(p *LearningPolicy, intervals int) {
		const need = 20.0 // 2,000 tasks a second of 10 ms
		s := ScaleSignals{Interval: 100 * time.Millisecond, Workers: 20, Min: 1, Max: 1000, Arrivals: 200, Completions: 200, MeanRun: 10 * time.Millisecond}
		for range intervals {
			n, _ := p.Scale(s)
			s.Workers = n
			s.QueueDepth = int(max(0, 1.5*need-float64(n)) * 10)
		}
	}
	lat := LearningPolicy{}.withDefaults()
	lat.reset()
	model(&lat, 2000)
	if h := lat.headroom(learnSteady); h != 1.6 {
		t.Errorf("latency-bound (Wait %v, Idle %v): learned headroom %v, want 1.6", lat.Wait, lat.Idle, h)
	}
	cost := LearningPolicy{Wait: 0.01, Idle: 4}.withDefaults()
	cost.reset()
	model(&cost, 2000)
	if h := cost.headroom(learnSteady + learnTrends); h >= 1.6 {
		t.Errorf("cost-bound (Wait %v, Idle %v): learned headroom %v, want below 1.6", cost.Wait, cost.Idle, h)
	}
	if h := (&LearningPolicy{}).headroom(learnSteady); !math.IsNaN(h) {
		t.Errorf("headroom of a policy that never ran = %v, want NaN", h)
	}
}

// TestLearningSkipsUnapplied checks that an interval whose size the
// controller did not apply teaches nothing.
func TestLearningSkipsUnapplied(t *testing.T) {
	p := LearningPolicy{Explore: 1e-9}.withDefaults()
	p.reset()
	s := ScaleSignals{Interval: 100 * time.Millisecond, Workers: 30, Min: 1, Max: 100, Arrivals: 100, Completions: 100, MeanRun: 10 * time.Millisecond}
	p.Scale(s) // chooses 14: a scale-down the Cooldown holds
	p.Scale(s) // still 30 workers: nothing learned
	s.Max = 50
	p.Scale(s) // the limits changed: nothing learned
	for c := range p.learner.tried {
		for a, tried := range p.learner.tried[c] {
			if tried {
				t.Errorf("learned from an unapplied size: context %d, headroom %v", c, learnHeadrooms[a])
			}
		}
	}
	s.Workers = 14
	p.Scale(s)
	if !p.learner.tried[learnSteady][learnDefaultArm] {
		t.Error("nothing learned from an applied size")
	}
}
