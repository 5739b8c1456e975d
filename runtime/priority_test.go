package poolrt

import (
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/poolgen/poolgen/runtime/internal/config"
)

// TestAgingKey: with aging, ordering by key is ordering by effective
// priority p + (now−enq)/every at any moment now (a task ahead stays
// ahead as both age), and with a cost, by effective cost c − (now−enq)/every.
func TestAgingKey(t *testing.T) {
	const every = int64(10 * time.Millisecond)
	pr := config.PrioritySettings{Kind: ByPriority, Aging: time.Duration(every)}
	co := config.PrioritySettings{Kind: ByCost, Aging: time.Duration(every)}
	rng := rand.New(rand.NewPCG(5, 6))
	for range 10000 {
		p1, p2 := rng.Int64N(200)-100, rng.Int64N(200)-100
		e1, e2 := rng.Int64N(int64(time.Hour)), rng.Int64N(int64(time.Hour))
		now := max(e1, e2) + rng.Int64N(int64(time.Hour))
		// Effective priorities scaled by every, to stay in integers.
		eff1 := p1*every + (now - e1)
		eff2 := p2*every + (now - e2)
		k1, k2 := pr.Key(p1, e1), pr.Key(p2, e2)
		if (eff1 > eff2) != (k1 < k2) || (eff1 == eff2) != (k1 == k2) {
			t.Fatalf("priorities %d@%d, %d@%d: effective %d vs %d but keys %d vs %d", p1, e1, p2, e2, eff1, eff2, k1, k2)
		}
		c1, c2 := co.Key(p1, e1), co.Key(p2, e2)
		effc1, effc2 := p1*every-(now-e1), p2*every-(now-e2)
		if (effc1 < effc2) != (c1 < c2) || (effc1 == effc2) != (c1 == c2) {
			t.Fatalf("costs %d@%d, %d@%d: effective %d vs %d but keys %d vs %d", p1, e1, p2, e2, effc1, effc2, c1, c2)
		}
	}
}

// TestKeySaturates: extreme ranks never overflow into the wrong order:
// keys are monotonic in the rank, saturating at the ends.
func TestKeySaturates(t *testing.T) {
	ranks := []int64{math.MinInt64, math.MinInt64 + 1, -1 << 40, -1, 0, 1, 1 << 40, math.MaxInt64 - 1, math.MaxInt64}
	for _, s := range []config.PrioritySettings{
		{Kind: ByPriority},
		{Kind: ByPriority, Aging: time.Nanosecond},
		{Kind: ByPriority, Aging: time.Hour},
		{Kind: ByCost},
		{Kind: ByCost, Aging: time.Hour},
	} {
		for _, enq := range []int64{1, int64(time.Hour), math.MaxInt64 / 2} {
			prev := s.Key(ranks[0], enq)
			for _, r := range ranks[1:] {
				k := s.Key(r, enq)
				better := k < prev // r (higher) ranks before the previous one
				if s.Kind == ByCost {
					better = k > prev
				}
				if !better && k != prev {
					t.Errorf("%+v, enq %d: key(%d) = %d is out of order with the previous rank's %d", s, enq, r, k, prev)
				}
				prev = k
			}
		}
	}
	if k := (&config.PrioritySettings{Kind: ByPriority}).Key(math.MinInt64, 0); k != math.MaxInt64 {
		t.Errorf("key of the lowest priority = %d, want MaxInt64", k)
	}
	if k := (&config.PrioritySettings{Kind: ByPriority}).Key(math.MaxInt64, 0); k != -math.MaxInt64 {
		t.Errorf("key of the highest priority = %d, want -MaxInt64", k)
	}
	// Without aging, keys do not depend on the stamp.
	if a, b := (&config.PrioritySettings{Kind: ByPriority}).Key(3, 1), (&config.PrioritySettings{Kind: ByPriority}).Key(3, 999); a != b {
		t.Errorf("keys without aging depend on the submit time: %d, %d", a, b)
	}
}

func TestBand(t *testing.T) {
	s := config.PrioritySettings{Kind: ByPriority, Bounds: []int64{0, 10, 20}}
	for r, want := range map[int64]int{math.MinInt64: 0, -1: 0, 0: 1, 9: 1, 10: 2, 19: 2, 20: 3, math.MaxInt64: 3} {
		if got := s.Band(r); got != want {
			t.Errorf("Band(%d) = %d, want %d", r, got, want)
		}
	}
	if got := (&config.PrioritySettings{Kind: ByCost}).Band(42); got != 0 {
		t.Errorf("Band without bounds = %d, want 0", got)
	}
	if got := (&config.PrioritySettings{Kind: ByDeadline, Bounds: []int64{1}}).Band(42); got != 0 {
		t.Errorf("deadline Band = %d, want 0", got)
	}
}

func TestResolveRank(t *testing.T) {
	s, err := config.ResolveRank(ByPriority, false, []Option{Aging(time.Second), Bands(-5, 0, 5), Workers(3)})
	if err != nil {
		t.Fatal(err)
	}
	if s.Priority.Kind != ByPriority || s.Priority.Aging != time.Second || !slices.Equal(s.Priority.Bounds, []int64{-5, 0, 5}) || s.Workers != 3 {
		t.Errorf("settings %+v", s.Priority)
	}
	s, err = config.ResolveRank(ByDeadline, true, nil)
	if err != nil || !s.Priority.HandOff || s.Priority.Kind != ByDeadline {
		t.Errorf("ResolveRank(ByDeadline, handler) = %+v, %v", s.Priority, err)
	}
	s, err = config.ResolveRank(ByDeadline, false, []Option{OnLate(DropLate)})
	if err != nil || s.Priority.Late != DropLate || s.Priority.HandOff {
		t.Errorf("ResolveRank(ByDeadline, OnLate(DropLate)) = %+v, %v", s.Priority, err)
	}
	bounds := []int64{1, 2}
	opt := Bands(bounds...)
	bounds[0] = 5 // the option keeps its own copy
	if s, err := config.ResolveRank(ByCost, false, []Option{opt}); err != nil || !slices.Equal(s.Priority.Bounds, []int64{1, 2}) {
		t.Errorf("Bands after the caller changed its slice: %v, %v", s.Priority.Bounds, err)
	}

	tooMany := make([]int64, 64)
	for i := range tooMany {
		tooMany[i] = int64(i)
	}
	for _, c := range []struct {
		kind    RankKind
		handOff bool
		opts    []Option
		culprit string
		reason  string
	}{
		{ByPriority, false, []Option{Aging(0)}, "Aging(0s)", "positive"},
		{ByCost, false, []Option{Aging(-time.Second)}, "Aging(-1s)", "positive"},
		{ByPriority, false, []Option{Bands(1, 1)}, "Bands(1, 1)", "increasing"},
		{ByPriority, false, []Option{Bands(3, 2)}, "Bands(3, 2)", "increasing"},
		{ByCost, false, []Option{Bands(tooMany...)}, "", "at most"},
		{ByDeadline, false, []Option{OnLate(LatePolicy(2))}, "OnLate(LatePolicy(2))", "RunLate or DropLate"},
		{ByDeadline, false, []Option{Aging(time.Second)}, "Aging(1s)", "deadline"},
		{ByDeadline, false, []Option{Bands(1)}, "Bands(1)", "one band"},
		{ByDeadline, true, []Option{OnLate(RunLate)}, "OnLate(RunLate)", "handler"},
		{ByPriority, false, []Option{OnLate(DropLate)}, "OnLate(DropLate)", "deadline pool only"},
		{ByCost, false, []Option{OnLate(RunLate)}, "OnLate(RunLate)", "deadline pool only"},
	} {
		_, err := config.ResolveRank(c.kind, c.handOff, c.opts)
		var ce *ConfigError
		if !errors.As(err, &ce) {
			t.Errorf("ResolveRank(%v, %v): %v, want a *ConfigError", c.kind, c.opts, err)
			continue
		}
		if c.culprit != "" && ce.Option != c.culprit {
			t.Errorf("ResolveRank(%v, %v): blames %q, want %q", c.kind, c.opts, ce.Option, c.culprit)
		}
		if !strings.Contains(ce.Reason, c.reason) {
			t.Errorf("ResolveRank(%v, %v): reason %q, want it to mention %q", c.kind, c.opts, ce.Reason, c.reason)
		}
	}
	// The priority options are for the priority pattern only.
	for _, o := range []Option{Aging(time.Second), Bands(1), OnLate(RunLate)} {
		if _, err := config.Resolve(config.Fixed, []Option{o}); err == nil {
			t.Errorf("Resolve(config.Fixed, %v) accepted a priority option", o)
		}
	}
}

// TestDeadlineClock: deadlines convert to the pool clock's scale, late
// tasks are late by the exact time past their deadline, the zero time is
// no deadline, and extreme deadlines saturate without wrapping.
func TestDeadlineClock(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := config.NewClock()
		d := time.Now().Add(time.Second)
		k := c.DeadlineKey(d)
		if k != int64(time.Second) {
			t.Errorf("DeadlineKey(epoch+1s) = %d", k)
		}
		if by := c.PastDeadline(k); by > 0 {
			t.Errorf("PastDeadline before the deadline = %v", by)
		}
		time.Sleep(1500 * time.Millisecond)
		if by := c.PastDeadline(k); by != 500*time.Millisecond {
			t.Errorf("PastDeadline 0.5 s after the deadline = %v", by)
		}
		if k := c.DeadlineKey(time.Time{}); k != config.NoDeadline || c.PastDeadline(k) > 0 {
			t.Errorf("the zero deadline: key %d, past by %v", k, c.PastDeadline(k))
		}
		far := c.DeadlineKey(time.Now().AddDate(1000, 0, 0))
		if far != config.NoDeadline-1 {
			t.Errorf("a deadline in 1000 years: key %d, want config.NoDeadline-1", far)
		}
		old := c.DeadlineKey(time.Date(1, 2, 1, 0, 0, 0, 0, time.UTC))
		if old != math.MinInt64 || c.PastDeadline(old) != math.MaxInt64 {
			t.Errorf("an ancient deadline: key %d, past by %v", old, c.PastDeadline(old))
		}
	})
}

func TestDeadlineError(t *testing.T) {
	d := time.Date(2030, 5, 6, 7, 8, 9, 0, time.UTC)
	var err error = &DeadlineError{Task: 7, Deadline: d, Late: 3 * time.Millisecond}
	if !errors.Is(err, ErrDeadlineExceeded) {
		t.Error("DeadlineError does not unwrap to ErrDeadlineExceeded")
	}
	for _, s := range []string{"2030-05-06T07:08:09Z", "3ms", "dropped"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("%q does not mention %q", err.Error(), s)
		}
	}
}

func TestRankStrings(t *testing.T) {
	for v, want := range map[string]string{
		ByPriority.String(): "priority", ByDeadline.String(): "deadline", ByCost.String(): "cost", RankKind(9).String(): "RankKind(9)",
		RunLate.String(): "RunLate", DropLate.String(): "DropLate", LatePolicy(4).String(): "LatePolicy(4)",
		Aging(1500 * time.Millisecond).String(): "Aging(1.5s)", Bands(-1, 2).String(): "Bands(-1, 2)", Bands().String(): "Bands()",
		OnLate(DropLate).String(): "OnLate(DropLate)",
	} {
		if v != want {
			t.Errorf("got %q, want %q", v, want)
		}
	}
}
