package config

import (
	"fmt"
	"math"
	"time"
)

// Defaults of the dynamic pool.
const (
	// DefaultMinWorkers is the default least number of workers: one, so
	// that the first task after a quiet spell starts at once, for the cost
	// of one parked goroutine. WorkerLimits(0, n) scales down to none.
	DefaultMinWorkers = 1
	// DefaultScaleInterval is how often the controller measures the pool
	// and decides its size: often enough to meet a surge within a tenth of
	// a second, rarely enough that a measurement averages many tasks.
	DefaultScaleInterval = 100 * time.Millisecond
	// DefaultCooldownIntervals sets the default cooldown to this many
	// scale intervals.
	DefaultCooldownIntervals = 10
	// MinScaleInterval is the shortest ScaleInterval: below it the
	// controller costs CPU and measures noise.
	MinScaleInterval = time.Millisecond
	// ScaleHistory is how many of the latest scaling events
	// ScalingStats.Events keeps.
	ScaleHistory = 64
)

// DynamicSettings configures a dynamic pool. [Resolve] fills it from the
// options WorkerLimits, ScaleInterval, Cooldown, IdleTimeout and the
// policy options (Thresholds, Predictive, ScaleWith).
type DynamicSettings struct {
	// Min and Max bound the number of workers. The pool starts with Min.
	// Settings.Workers is set to Max: the pool's worker slots, which
	// SetLimits cannot exceed later.
	Min, Max int
	// Interval is the time between two evaluations of the controller.
	Interval time.Duration
	// Cooldown is the least time between a change of the pool's size and a
	// scale-down that follows it. Scale-ups are never held back.
	Cooldown time.Duration
	// IdleTimeout retires workers idle (parked) that long, down to Min; 0
	// turns idle expiry off.
	IdleTimeout time.Duration
	// Policy decides the size: a poolrt.ScalePolicy, held as any because
	// package poolrt imports this one; nil means a poolrt.ThresholdPolicy
	// with its defaults.
	Policy any
}

// LimitsError returns a *ConfigError for worker limits min and max that
// cannot work for a pool of ceiling worker slots (SetLimits), or nil.
func (s *Settings) LimitsError(min, max, ceiling int) error {
	if reason := CheckLimits(min, max, ceiling); reason != "" {
		return &ConfigError{Option: fmt.Sprintf("SetLimits(%d, %d)", min, max), Reason: reason}
	}
	return nil
}

// CheckLimits says what is wrong with worker limits min and max for a pool
// of at most ceiling workers, or returns "".
func CheckLimits(min, max, ceiling int) string {
	switch {
	case min < 0:
		return "the minimum cannot be negative (0 lets the pool scale down to no worker)"
	case max < 1:
		return "a pool needs a maximum of at least 1 worker"
	case min > max:
		return fmt.Sprintf("the minimum %d is above the maximum %d", min, max)
	case max > ceiling:
		return fmt.Sprintf("at most %d workers", ceiling)
	}
	return ""
}

// resolveDynamic applies the dynamic pool's defaults and checks its settings
// once every option is applied. It sets s.Workers to the maximum: the
// engine allocates that many worker slots, and the queue's shards and
// default size follow from it.
func (s *Settings) resolveDynamic(procs int) error {
	d := &s.Dynamic
	if s.Given&GivenLimits == 0 {
		d.Min, d.Max = DefaultMinWorkers, max(procs, DefaultMinWorkers)
	}
	if d.Interval == 0 {
		d.Interval = DefaultScaleInterval
	}
	if s.Given&GivenCooldown == 0 {
		d.Cooldown = DefaultCooldownIntervals * min(d.Interval, math.MaxInt64/DefaultCooldownIntervals)
	}
	s.Workers = d.Max
	return nil
}
