package poolrt

import (
	"fmt"
	"time"

	"github.com/poolgen/poolgen/runtime/internal/config"
)

// WorkerLimits bounds a dynamic pool's workers: it starts with min and
// scales between min and max (default 1 and GOMAXPROCS,
// like the fixed pool's size: more workers than processors only help
// tasks that block). min may be 0: the pool then retires every worker when
// it is quiet, and a submission starts one at once. max is also the
// ceiling for SetLimits, since worker slots are allocated up to it, and
// the default QueueSize grows with it. For tasks that block (I/O) rather
// than compute, set max above GOMAXPROCS.
func WorkerLimits(min, max int) Option {
	return config.NewOption(fmt.Sprintf("WorkerLimits(%d, %d)", min, max), config.Dynamic, func(s *config.Settings) string {
		if reason := config.CheckLimits(min, max, config.MaxWorkers); reason != "" {
			return reason
		}
		s.Dynamic.Min, s.Dynamic.Max = min, max
		s.Given |= config.GivenLimits
		return ""
	})
}

// ScaleInterval sets how often the controller measures the pool and may
// resize it (default 100ms, at least 1ms). It
// bounds how fast the pool reacts to a change of load, except that under
// the threshold policy a backlog with no idle worker makes it evaluate
// early, every SurgeGap(d), to grow; idle expiry is checked at the
// interval's pace.
func ScaleInterval(d time.Duration) Option {
	return config.NewOption(fmt.Sprintf("ScaleInterval(%v)", d), config.Dynamic, func(s *config.Settings) string {
		if d < config.MinScaleInterval {
			return fmt.Sprintf("an interval of at least %v", config.MinScaleInterval)
		}
		s.Dynamic.Interval = d
		return ""
	})
}

// Cooldown sets the least time between a change of the pool's size and a
// scale-down after it (default 10 × ScaleInterval).
// It keeps the pool from shedding workers it has just added, or shrinking
// step after step on a short lull. Scale-ups are never held back: a
// growing backlog costs latency at once, an extra idle worker costs only a
// parked goroutine.
func Cooldown(d time.Duration) Option {
	return config.NewOption(fmt.Sprintf("Cooldown(%v)", d), config.Dynamic, func(s *config.Settings) string {
		if d < 0 {
			return "a cooldown cannot be negative"
		}
		s.Dynamic.Cooldown = d
		s.Given |= config.GivenCooldown
		return ""
	})
}

// IdleTimeout retires workers that have been idle for d, down to the
// minimum, whatever the policy says (default 0: off). A worker counts as
// idle from the later of the moment it parked and the pool's last change
// of size, so that each step down needs a full d of idleness after the
// previous one. It is checked every ScaleInterval and respects the
// Cooldown.
func IdleTimeout(d time.Duration) Option {
	return config.NewOption(fmt.Sprintf("IdleTimeout(%v)", d), config.Dynamic, func(s *config.Settings) string {
		if d < 0 {
			return "an idle timeout cannot be negative (0 turns idle expiry off)"
		}
		s.Dynamic.IdleTimeout = d
		return ""
	})
}

// Thresholds makes the pool scale by p, a [ThresholdPolicy] (the default
// policy, with its default thresholds). Zero fields of p take their
// defaults.
func Thresholds(p ThresholdPolicy) Option {
	return config.NewOption("Thresholds(...)", config.Dynamic, func(s *config.Settings) string {
		if reason := p.check(); reason != "" {
			return reason
		}
		s.Dynamic.Policy = p
		return ""
	})
}

// Predictive makes the pool scale by p, a [PredictivePolicy]: it forecasts
// the arrival rate and sizes the pool by Little's law. Zero fields of p
// take their defaults. Each pool gets its own copy of p, so one Option may
// configure many pools.
func Predictive(p PredictivePolicy) Option {
	return config.NewOption("Predictive(...)", config.Dynamic, func(s *config.Settings) string {
		q := p.withDefaults()
		if reason := q.check(); reason != "" {
			return reason
		}
		q.reset()
		s.Dynamic.Policy = &q
		return ""
	})
}

// ScaleWith makes the pool scale by a policy of the caller's (see
// [ScalePolicy]). p is called from the pool's controller goroutine only;
// if it keeps state, give each pool its own.
func ScaleWith(p ScalePolicy) Option {
	return config.NewOption("ScaleWith(...)", config.Dynamic, func(s *config.Settings) string {
		if p == nil {
			return "the policy is nil"
		}
		s.Dynamic.Policy = p
		return ""
	})
}

// ScalePolicy decides a dynamic pool's size. The pool's controller calls
// Scale once every ScaleInterval, from one goroutine, with what it
// measured over the interval; Scale returns the number of workers it wants
// and a short reason, recorded with the change (an empty reason becomes
// ReasonPolicy). Returning s.Workers keeps the size.
//
// Scale is called every interval, cooldown or not, so that a policy with
// state sees every measurement. The controller clamps the target to
// [s.Min, s.Max], never scales to zero while tasks wait, holds scale-downs
// back for the Cooldown, and applies IdleTimeout on top, so a policy need
// not. Scale should return quickly: the next evaluation waits for it, and
// Shutdown waits for the controller. It may read the pool's Stats; it must
// not shut the pool down, which would wait for Scale itself. A panic in
// Scale (or a runtime.Goexit) is contained: counted in Stats.HookPanics and
// logged, and the pool keeps its size for that interval.
type ScalePolicy interface {
	Scale(s ScaleSignals) (target int, reason string)
}

// ScaleSignals is what a dynamic pool's controller measured over its last
// interval: the input of a [ScalePolicy], and the evidence kept with every
// [ScaleEvent].
type ScaleSignals struct {
	At       time.Time     // when the measurement was taken
	Interval time.Duration // time since the previous measurement
	// Workers is the pool's size: the workers it runs, or is scaling to
	// (workers above the size retire once they run out of work).
	Workers  int
	Min, Max int // the current limits
	Busy     int // workers busy (not parked) at At

	QueueDepth int // accepted tasks not yet started, at At
	QueueCap   int

	Arrivals    uint64 // tasks accepted during the interval
	Completions uint64 // tasks finished during the interval (failed and panicked included)
	// Utilization is the fraction of the workers' time during the
	// interval that they were busy — running tasks, or looking for more
	// before they park (a few microseconds) — rather than parked: busy
	// worker-time over live worker-time, 0 when no worker lived. It is
	// measured exactly, whatever the Metrics option, and counts tasks
	// still running at At.
	Utilization float64
	// MeanRun is the mean run time of the tasks timed during the interval
	// (see LatencySampling), or with latency metrics off the workers' busy
	// time per task finished; when no task was timed or finished, the last
	// value measured (0 until there is one).
	MeanRun time.Duration
	// IdleExpired counts the workers (below Workers) idle for at least
	// IdleTimeout since they parked or since the last change of size,
	// whichever is later; 0 when IdleTimeout is off.
	IdleExpired int
	// SinceChange is the time since the pool's size last changed.
	SinceChange time.Duration
}

// ArrivalRate returns the tasks accepted per second over the interval.
func (s ScaleSignals) ArrivalRate() float64 { return perSecond(s.Arrivals, s.Interval) }

// CompletionRate returns the tasks finished per second over the interval.
func (s ScaleSignals) CompletionRate() float64 { return perSecond(s.Completions, s.Interval) }

func perSecond(n uint64, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}

// Reasons the pool and its built-in policies give for a change of size.
const (
	ReasonQueue       = "queue depth at or above the scale-up level"
	ReasonBusy        = "utilization at or above the scale-up threshold"
	ReasonQuiet       = "queue and utilization at or below the scale-down thresholds"
	ReasonIdleTimeout = "workers idle for IdleTimeout"
	ReasonForecast    = "Little's law: forecast arrival rate × mean run time / target utilization"
	ReasonNoEstimate  = "tasks wait and no run time is known yet"
	ReasonArrival     = "a task arrived at a pool without workers"
	ReasonLimits      = "SetLimits"
	ReasonPolicy      = "policy" // a ScalePolicy gave no reason
)

// ScaleEvent records one change of a dynamic pool's size.
type ScaleEvent struct {
	At       time.Time
	From, To int
	Reason   string
	// Signals is what the decision was based on. Changes made outside the
	// controller (ReasonArrival, ReasonLimits) carry only the gauges: At,
	// Workers, Min, Max, QueueDepth, QueueCap and SinceChange.
	Signals ScaleSignals
}

// ScalingStats is the dynamic-specific part of a pool's Stats: the
// current size and limits, counters that let one judge the policy, the
// latest measurement and the latest changes.
type ScalingStats struct {
	Size     int // workers the pool runs or is scaling to (Stats.Workers lags it while workers retire)
	Min, Max int // current limits
	Peak     int // the largest size so far

	Ups, Downs  uint64 // changes of size, by direction
	Evaluations uint64 // controller evaluations: one per ScaleInterval, plus Surges
	// Surges counts early evaluations, asked for by tasks backing up while
	// every worker was busy (they may only grow the pool).
	Surges uint64
	// Capped counts evaluations whose policy wanted more than Max: the
	// pool is too small for its load at its limit.
	Capped uint64
	// Held counts scale-downs the Cooldown postponed.
	Held uint64
	// AtMax and AtMin are the time spent at the maximum and at the
	// minimum size.
	AtMax, AtMin time.Duration

	// Last is the controller's latest measurement (zero before the first
	// ScaleInterval has passed).
	Last ScaleSignals
	// Events are the latest changes of size, oldest first: at most
	// 64 of them.
	Events []ScaleEvent
}
