package poolrt

import (
	"math"
	"testing"
	"time"

	"github.com/poolgen/poolgen/runtime/internal/config"
)

// burstDay plays a synthetic period of 30 seconds into p, one interval
// of 100ms at a time from midnight UTC on 1 January 2000: 100 tasks a
// second, and 1,000 from the 10th second to the 14th. It returns the
// size asked for at each interval, from a pool that always has 4 workers.
func burstDay(p ScalePolicy, periods int) []int {
	const interval = 100 * time.Millisecond
	t0 := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	var sizes []int
	for i := 1; i <= periods*300; i++ {
		end := time.Duration(i) * interval
		arrivals := uint64(10)
		if off := end % (30 * time.Second); off > 10*time.Second && off <= 14*time.Second {
			arrivals = 100
		}
		n, _ := p.Scale(ScaleSignals{At: t0.Add(end), Interval: interval, Arrivals: arrivals, Completions: arrivals,
			MeanRun: 20 * time.Millisecond, Workers: 4, Min: 1, Max: 64})
		sizes = append(sizes, n)
	}
	return sizes
}

// TestSeasonalAnticipates checks that in the second period the policy
// sizes the pool for the burst an interval before it comes, and at once
// for its whole height, where Holt's forecast follows it over several
// intervals; and that in the first period, with no history, it is the
// predictive policy.
func TestSeasonalAnticipates(t *testing.T) {
	var hw PredictivePolicy
	holt := burstDay(&hw, 2)
	s, err := config.Resolve(config.Dynamic, []Option{Seasonal(SeasonalPolicy{Period: 30 * time.Second, Slots: 48})})
	if err != nil {
		t.Fatal(err)
	}
	seasonal := burstDay(s.Dynamic.Policy.(*SeasonalPolicy), 2)
	for i := range 300 {
		if seasonal[i] != holt[i] {
			t.Fatalf("first period, interval %d: seasonal %d workers, Holt %d; want the same without history", i, seasonal[i], holt[i])
		}
	}
	// 1,000 tasks a second × 20 ms / 0.75 = 27 workers. sizes[i] is asked
	// for at the end of the interval that ends at (i+1)×100ms: sizes[398]
	// at 39.9s, before the burst starts at 40s; sizes[399] at 40s, having
	// measured none of it.
	if got := seasonal[398]; got != 27 {
		t.Errorf("second period, the interval before the burst: %d workers, want 27", got)
	}
	if got := seasonal[399]; got != 27 {
		t.Errorf("second period, the burst's first interval: %d workers, want 27 (the profile's)", got)
	}
	if got := holt[398]; got >= 10 {
		t.Errorf("Holt before the burst: %d workers; it cannot know", got)
	}
	if got := holt[399]; got >= 27 {
		t.Errorf("Holt in the burst's first interval: %d workers; it has not measured it yet", got)
	}
}

// TestSeasonalDeviation checks that a period that departs from the
// profile corrects the seasonal forecast: a burst that does not come
// stops holding workers within a few intervals.
func TestSeasonalDeviation(t *testing.T) {
	p := SeasonalPolicy{Period: 30 * time.Second}.withDefaults()
	p.reset()
	burstDay(&p, 1)
	t0 := time.Date(2000, 1, 1, 0, 0, 30, 0, time.UTC)
	var sizes []int
	for i := 1; i <= 150; i++ { // the second period without its burst
		n, _ := p.Scale(ScaleSignals{At: t0.Add(time.Duration(i) * 100 * time.Millisecond), Interval: 100 * time.Millisecond,
			Arrivals: 10, Completions: 10, MeanRun: 20 * time.Millisecond, Workers: 4, Min: 1, Max: 64})
		sizes = append(sizes, n)
	}
	if sizes[99] != 27 {
		t.Errorf("at the burst's hour: %d workers, want the profile's 27", sizes[99])
	}
	if sizes[105] > 6 {
		t.Errorf("six intervals into a burst that did not come: %d workers, want the profile forgotten", sizes[105])
	}
}

// TestSeasonalLead checks that a Lead looks further ahead, across slots.
func TestSeasonalLead(t *testing.T) {
	p := SeasonalPolicy{Period: 30 * time.Second, Slots: 60, Lead: 2 * time.Second}.withDefaults()
	p.reset()
	sizes := burstDay(&p, 2)
	// Slots of half a second: the burst is in view from 38s on.
	if sizes[378] >= 10 || sizes[379] != 27 {
		t.Errorf("with a lead of 2s: %d workers at 37.9s, %d at 38s; want few, then 27", sizes[378], sizes[379])
	}
}

// TestSeasonalWithoutOption checks a SeasonalPolicy given to ScaleWith:
// it sets itself up on its first call, and without a valid season it is
// the predictive policy.
func TestSeasonalWithoutOption(t *testing.T) {
	var hw PredictivePolicy
	holt := burstDay(&hw, 2)
	bad := burstDay(&SeasonalPolicy{}, 2) // no Period
	good := burstDay(&SeasonalPolicy{Period: 30 * time.Second}, 2)
	for i := range holt {
		if bad[i] != holt[i] {
			t.Fatalf("interval %d: a SeasonalPolicy without a period asked for %d workers, Holt %d", i, bad[i], holt[i])
		}
	}
	if good[398] != 27 {
		t.Errorf("a SeasonalPolicy set up by its first call: %d workers before the burst, want 27", good[398])
	}
}

// TestSeasonalProfile checks the slots and the blend of periods.
func TestSeasonalProfile(t *testing.T) {
	p := SeasonalPolicy{Period: time.Hour, Slots: 4, Gamma: 0.25}.withDefaults()
	p.reset()
	for _, c := range []struct {
		at   time.Time
		want int
	}{
		{time.Date(2024, 5, 1, 13, 0, 0, 0, time.UTC), 0},
		{time.Date(2024, 5, 1, 13, 14, 59, 0, time.UTC), 0},
		{time.Date(2024, 5, 1, 13, 15, 0, 0, time.UTC), 1},
		{time.Date(2024, 5, 1, 13, 59, 0, 0, time.UTC), 3},
		{time.Date(1969, 12, 31, 23, 50, 0, 0, time.UTC), 3}, // before the epoch
	} {
		if got := p.slotOf(c.at); got != c.want {
			t.Errorf("slotOf(%v) = %d, want %d", c.at, got, c.want)
		}
	}
	feed := func(at time.Time, perSecond uint64) {
		p.Scale(ScaleSignals{At: at, Interval: time.Minute, Arrivals: perSecond * 60, Workers: 1, Min: 1, Max: 10})
	}
	t0 := time.Date(2024, 5, 1, 13, 0, 0, 0, time.UTC)
	for m := 1; m <= 15; m++ {
		feed(t0.Add(time.Duration(m)*time.Minute), 8)
	}
	feed(t0.Add(16*time.Minute), 1) // folds slot 0
	if p.profile[0] != 8 || !math.IsNaN(p.profile[1]) {
		t.Fatalf("after the first quarter: profile %v, want [8 NaN …]", p.profile)
	}
	for m := 17; m <= 75; m++ {
		feed(t0.Add(time.Duration(m)*time.Minute), 4)
	}
	feed(t0.Add(76*time.Minute), 4) // folds slot 0 again
	if p.profile[0] != 0.25*4+0.75*8 {
		t.Errorf("after the second hour's first quarter: profile[0] = %v, want %v", p.profile[0], 0.25*4+0.75*8)
	}
}
