package poolrt

import (
	"fmt"
	"math"
	"time"

	"github.com/poolgen/poolgen/runtime/internal/config"
)

// Defaults and bounds of SeasonalPolicy, stated in its documentation.
const (
	defaultSeasonSlots = 48
	maxSeasonSlots     = 1 << 16
	defaultSeasonGamma = 0.5
)

// SeasonalPolicy sizes the pool ahead of a load that repeats every
// Period: a daily curve, an hourly batch, a job every five minutes. It is
// a [PredictivePolicy] (Holt's forecast of the arrival rate, sized by
// Little's law) that also keeps a seasonal profile of the history: the
// period is cut into Slots equal slots, and each slot remembers the mean
// arrival rate measured in it, blended over the periods seen (the latest
// period weighs Gamma, the older ones the rest).
//
// It also tracks how far the current period runs from the profile: the
// measured rate minus the profile's for the slot it was measured in,
// smoothed by Alpha. Each interval, besides Holt's forecast, it reads the
// profile for the current slot and every slot that starts within Lead,
//
//	seasonal = profile[slot] + deviation
//
// and sizes the pool for the largest of these and Holt's forecast. So the
// pool grows before a recurring rise arrives, where Holt's trend can only
// follow it once it has been measured; a day busier than usual raises the
// forecast, and a rise that does not come stops holding workers within a
// few intervals, as the deviation measures it. It never runs fewer
// workers than PredictivePolicy would. Falls are left to Holt's forecast
// and the Slack: shrinking early on the strength of the past risks the
// latency of a period that does not fall. Until a slot has been seen
// once, the policy behaves as PredictivePolicy.
//
// Slots are aligned on the Unix epoch: with a Period of 24 hours the
// first slot starts at midnight UTC, with an hour at the top of every
// hour. A slot should span several ScaleIntervals, so that its mean is
// measured, and be no longer than the features of the load to anticipate:
// the profile cannot see a burst shorter than a slot as more than a
// slot's mean.
//
// Zero fields take their defaults, except Period, which is required. The
// profile and the forecast are state: use the [Seasonal] option, which
// gives every pool its own copy; a *SeasonalPolicy passed to ScaleWith
// must serve one pool only.
type SeasonalPolicy struct {
	// PredictivePolicy sets the target utilization, Holt's smoothing, the
	// Slack and the Drain, as it does for the predictive policy.
	PredictivePolicy
	// Period is the length of the season: the time after which the load
	// repeats (required).
	Period time.Duration
	// Slots is the number of slots the period is cut into
	// (default 48: half-hours of a day), at
	// most 65536.
	Slots int
	// Gamma is the weight of the latest period in a slot's profile, in
	// (0, 1] (default 0.5). 1 remembers the
	// last period only.
	Gamma float64
	// Lead is how far ahead the pool is sized for the profile's next rise
	// (default 0: one ScaleInterval, the time until the next evaluation).
	// Lengthen it for tasks whose first run after a rise is slow, such as
	// workers that warm a cache.
	Lead time.Duration

	profile   []float64 // mean arrival rate per slot; NaN until measured
	slot      int       // the slot being measured; -1 before the first interval
	sum       float64   // tasks that arrived during the slot's measurement
	seconds   float64   // time measured in the slot
	deviation float64   // smoothed arrival rate minus the profile's
	deviated  bool      // deviation has been measured
}

func (p SeasonalPolicy) withDefaults() SeasonalPolicy {
	p.PredictivePolicy = p.PredictivePolicy.withDefaults()
	if p.Slots == 0 {
		p.Slots = defaultSeasonSlots
	}
	if p.Gamma == 0 {
		p.Gamma = defaultSeasonGamma
	}
	return p
}

func (p SeasonalPolicy) check() string {
	if reason := p.PredictivePolicy.check(); reason != "" {
		return reason
	}
	switch {
	case p.Period <= 0:
		return "Period is required and must be positive"
	case p.Slots < 1 || p.Slots > maxSeasonSlots:
		return fmt.Sprintf("Slots must be within [1, %d]", maxSeasonSlots)
	case p.Period/time.Duration(p.Slots) < config.MinScaleInterval:
		return fmt.Sprintf("a slot (Period/Slots = %v) must last at least %v", p.Period/time.Duration(p.Slots), config.MinScaleInterval)
	case !(p.Gamma > 0 && p.Gamma <= 1):
		return "Gamma must be within (0, 1]"
	case p.Lead < 0:
		return "Lead cannot be negative"
	}
	return ""
}

// reset forgets the forecast and the profile.
func (p *SeasonalPolicy) reset() {
	p.PredictivePolicy.reset()
	p.profile = nil
	p.slot, p.sum, p.seconds = -1, 0, 0
	p.deviation, p.deviated = 0, false
}

// slotOf returns the slot of q's profile that contains t. q has its
// defaults and passed check.
func (q *SeasonalPolicy) slotOf(t time.Time) int {
	phase := t.UnixNano() % int64(q.Period)
	if phase < 0 {
		phase += int64(q.Period)
	}
	return int(phase / (int64(q.Period) / int64(q.Slots)) % int64(q.Slots))
}

// Scale implements ScalePolicy. It updates the forecast and the profile:
// call it once per interval.
func (p *SeasonalPolicy) Scale(s ScaleSignals) (int, string) {
	q := p.withDefaults()
	// Holt's forecast, as PredictivePolicy keeps it (with q's defaults).
	p.update(s.ArrivalRate(), q.Alpha, q.Beta)
	rate := p.forecast()
	if q.check() != "" {
		// Only a policy passed to ScaleWith escapes the Seasonal option's
		// check: without a valid season, it is the predictive policy.
		return q.size(s, rate)
	}
	if len(p.profile) != q.Slots {
		// A SeasonalPolicy built without the Seasonal option starts here.
		p.profile = make([]float64, q.Slots)
		for i := range p.profile {
			p.profile[i] = math.NaN()
		}
		p.slot = -1
	}

	// The interval's arrivals count for the slot its middle fell in: an
	// interval that straddles two slots is not split, and the error is at
	// most an interval's worth of a slot.
	if s.Interval > 0 {
		mid := q.slotOf(s.At.Add(-s.Interval / 2))
		if old := p.profile[mid]; !math.IsNaN(old) {
			// How far this period runs from the profile, smoothed as
			// Holt's level is: a day 20% busier than usual, or a burst
			// that does not come, corrects the profile's forecast within
			// a few intervals.
			if dev := s.ArrivalRate() - old; p.deviated {
				p.deviation = q.Alpha*dev + (1-q.Alpha)*p.deviation
			} else {
				p.deviation, p.deviated = dev, true
			}
		}
		if mid != p.slot {
			p.fold(q.Gamma)
			p.slot = mid
		}
		p.sum += float64(s.Arrivals)
		p.seconds += s.Interval.Seconds()
	}

	// The profile's forecast for the current slot and every slot that
	// starts within the lead, (At, At+lead]: the pool must serve the
	// busiest of them until the next evaluation.
	lead := q.Lead
	if lead == 0 {
		lead = s.Interval
	}
	width := q.Period / time.Duration(q.Slots)
	at := s.At
	for i := 0; i <= q.Slots && !at.After(s.At.Add(lead)); i++ {
		if seen := p.profile[q.slotOf(at)]; !math.IsNaN(seen) {
			rate = max(rate, seen+p.deviation)
		}
		at = at.Add(width - time.Duration(at.UnixNano()%int64(width))) // the next slot's start
	}
	return q.size(s, rate)
}

// fold ends the measurement of the current slot: its mean rate enters the
// profile, with weight gamma once the slot has a history.
func (p *SeasonalPolicy) fold(gamma float64) {
	if p.slot >= 0 && p.seconds > 0 {
		mean := p.sum / p.seconds
		if old := p.profile[p.slot]; math.IsNaN(old) {
			p.profile[p.slot] = mean
		} else {
			p.profile[p.slot] = gamma*mean + (1-gamma)*old
		}
	}
	p.sum, p.seconds = 0, 0
}

// Seasonal makes the pool scale by p, a [SeasonalPolicy]: Little's law on
// the larger of Holt's forecast and the rise that the profile of past
// periods expects. Zero fields of p take their defaults; Period is
// required. Each pool gets its own copy of p, with an empty profile, so
// one Option may configure many pools.
func Seasonal(p SeasonalPolicy) Option {
	return config.NewOption("Seasonal(...)", config.Dynamic, func(s *config.Settings) string {
		q := p.withDefaults()
		if reason := q.check(); reason != "" {
			return reason
		}
		q.reset()
		s.Dynamic.Policy = &q
		return ""
	})
}
