package poolrt

import (
	"fmt"
	"math"
	"time"

	"github.com/poolgen/poolgen/runtime/internal/config"
)

// A QueueLevel is a queue depth, given in tasks, as a fraction of the
// queue's capacity, or both: the level is the larger of the two.
type QueueLevel struct {
	Tasks    int
	Fraction float64 // of QueueCap, in [0, 1]
}

// Level returns the level in tasks for a queue of capacity tasks.
func (l QueueLevel) Level(capacity int) int {
	return max(l.Tasks, int(math.Ceil(l.Fraction*float64(capacity))))
}

func (l QueueLevel) check(name string) string {
	if l.Tasks < 0 || !(l.Fraction >= 0 && l.Fraction <= 1) {
		return name + ": Tasks must be at least 0 and Fraction within [0, 1]"
	}
	return ""
}

// Defaults of ThresholdPolicy, stated in its documentation.
const (
	defaultUpQueueFraction = 0.05 // of the queue's capacity
	defaultUpUtilization   = 0.85
	defaultDownUtilization = 0.5
)

// ThresholdPolicy is the default [ScalePolicy]. Each interval it
//
//   - scales up when the queue holds at least UpQueue tasks, or the
//     workers were busy for at least UpUtilization of their time: by
//     StepUp workers, or doubling the pool when StepUp is 0;
//   - scales down by StepDown workers when the queue holds at most
//     DownQueue tasks and utilization was at most DownUtilization, but
//     never so far that the same work would lift utilization to
//     UpUtilization on fewer workers (that would scale up again next
//     interval);
//   - otherwise keeps the size.
//
// The gap between the up and down thresholds, and the controller's
// Cooldown before a scale-down, keep the pool from flapping. Growth is
// geometric and shrinking linear: under-provisioning costs latency at
// once, over-provisioning only idle goroutines for a while.
//
// Because it keeps no state and judges what a short interval measures as
// well as a long one, the controller also asks it between intervals when
// tasks back up with no idle worker (see Scaler.Surge), and then applies
// only scale-ups.
//
// Zero fields take their defaults, so ThresholdPolicy{} is the default
// policy. The policy keeps no state: one value may serve many pools.
type ThresholdPolicy struct {
	// UpQueue is the queue depth that triggers a scale-up (default
	// 5% of the capacity). It is raised, if need be,
	// to at least one task and above DownQueue.
	UpQueue QueueLevel
	// DownQueue is the deepest queue that allows a scale-down (default 0:
	// the queue must be empty).
	DownQueue QueueLevel
	// UpUtilization and DownUtilization are the utilization thresholds
	// for scaling up and down (defaults 0.85
	// and 0.5); DownUtilization must be below
	// UpUtilization.
	UpUtilization, DownUtilization float64
	// StepUp is the workers added per scale-up (default 0: as many as the
	// pool has, at least one). StepDown is the workers removed per
	// scale-down (default 1).
	StepUp, StepDown int
}

func (p ThresholdPolicy) withDefaults() ThresholdPolicy {
	if p.UpQueue == (QueueLevel{}) {
		p.UpQueue = QueueLevel{Fraction: defaultUpQueueFraction}
	}
	if p.UpUtilization == 0 {
		p.UpUtilization = defaultUpUtilization
	}
	if p.DownUtilization == 0 {
		p.DownUtilization = defaultDownUtilization
	}
	if p.StepDown == 0 {
		p.StepDown = 1
	}
	return p
}

func (p ThresholdPolicy) check() string {
	if reason := p.UpQueue.check("UpQueue"); reason != "" {
		return reason
	}
	if reason := p.DownQueue.check("DownQueue"); reason != "" {
		return reason
	}
	q := p.withDefaults()
	if !(q.UpUtilization > 0 && q.UpUtilization <= 1) || !(q.DownUtilization > 0 && q.DownUtilization < q.UpUtilization) {
		return fmt.Sprintf("utilization thresholds must satisfy 0 < DownUtilization (%v) < UpUtilization (%v) ≤ 1", q.DownUtilization, q.UpUtilization)
	}
	if p.StepUp < 0 || p.StepDown < 0 {
		return "steps cannot be negative"
	}
	return ""
}

// Scale implements ScalePolicy.
func (p ThresholdPolicy) Scale(s ScaleSignals) (int, string) {
	p = p.withDefaults()
	n := s.Workers
	down := p.DownQueue.Level(s.QueueCap)
	up := max(p.UpQueue.Level(s.QueueCap), down+1, 1)
	step := p.StepUp
	if step == 0 {
		step = max(n, 1)
	}
	switch {
	case s.QueueDepth >= up:
		return n + step, ReasonQueue
	case n > 0 && s.Utilization >= p.UpUtilization:
		return n + step, ReasonBusy
	case n > 0 && s.QueueDepth <= down && s.Utilization <= p.DownUtilization:
		to := max(n-p.StepDown, 0)
		for to < n && !p.fits(s.Utilization, n, to) {
			to++
		}
		if to < n {
			return to, ReasonQuiet
		}
	}
	return n, ""
}

// fits reports whether the work that kept n workers busy for utilization u
// of their time keeps to workers below the scale-up threshold.
func (p ThresholdPolicy) fits(u float64, n, to int) bool {
	if to == 0 {
		return u == 0
	}
	return u*float64(n)/float64(to) < p.UpUtilization
}

// Defaults of PredictivePolicy, stated in its documentation.
const (
	defaultTargetUtilization = 0.75
	defaultAlpha             = 0.5
	defaultBeta              = 0.3
	defaultSlack             = 0.2
	defaultDrain             = time.Second
)

// PredictivePolicy sizes the pool ahead of its load. Each interval it
// updates a forecast of the arrival rate λ by Holt's linear trend method
// (double exponential smoothing: a level smoothed by Alpha, a trend
// smoothed by Beta, forecast one interval ahead), and applies Little's
// law: serving λ tasks per second that run S seconds each keeps λ·S
// workers busy on average, so the pool needs
//
//	workers = ⌈(λ + QueueDepth/Drain) · S / TargetUtilization⌉
//
// where S is the mean run time the pool measured (ScaleSignals.MeanRun)
// and the QueueDepth/Drain term clears a backlog within Drain. It scales
// up to that at once; it scales down only when the pool exceeds the need
// by more than Slack (a fraction), to ⌈need·(1+Slack)⌉, so that noise in
// the measured rate does not flap the size. Until the pool has measured a
// run time it adds one worker per interval while tasks wait.
//
// Zero fields take their defaults. The forecast is state: use the
// [Predictive] option, which gives every pool its own copy; a
// *PredictivePolicy passed to ScaleWith must serve one pool only.
type PredictivePolicy struct {
	// TargetUtilization is the fraction of their time the workers should
	// be busy, in (0, 1] (default 0.75). The rest is
	// headroom for bursts above the forecast.
	TargetUtilization float64
	// Alpha smooths the level of the arrival rate and Beta its trend, in
	// (0, 1] (defaults 0.5 and 0.3). Higher values follow
	// changes faster and noise more.
	Alpha, Beta float64
	// Slack is how far above the need the pool may stay before it scales
	// down (default 0.2: 20%).
	Slack float64
	// Drain is the time within which the pool plans to clear the tasks
	// waiting in its queue (default 1s).
	Drain time.Duration

	level, trend float64
	primed       bool
}

func (p PredictivePolicy) withDefaults() PredictivePolicy {
	if p.TargetUtilization == 0 {
		p.TargetUtilization = defaultTargetUtilization
	}
	if p.Alpha == 0 {
		p.Alpha = defaultAlpha
	}
	if p.Beta == 0 {
		p.Beta = defaultBeta
	}
	if p.Slack == 0 {
		p.Slack = defaultSlack
	}
	if p.Drain == 0 {
		p.Drain = defaultDrain
	}
	return p
}

func (p PredictivePolicy) check() string {
	in := func(v float64) bool { return v > 0 && v <= 1 }
	switch {
	case !in(p.TargetUtilization):
		return "TargetUtilization must be within (0, 1]"
	case !in(p.Alpha) || !in(p.Beta):
		return "Alpha and Beta must be within (0, 1]"
	case !(p.Slack >= 0 && p.Slack <= 10):
		return "Slack must be within [0, 10]"
	case p.Drain < 0:
		return "Drain cannot be negative"
	}
	return ""
}

// reset forgets the forecast.
func (p *PredictivePolicy) reset() { p.level, p.trend, p.primed = 0, 0, false }

// forecast returns the forecast arrival rate (tasks per second) for the
// next interval, as of the latest call of Scale.
func (p *PredictivePolicy) forecast() float64 { return max(0, p.level+p.trend) }

// Scale implements ScalePolicy. It updates the forecast: call it once per
// interval.
func (p *PredictivePolicy) Scale(s ScaleSignals) (int, string) {
	q := p.withDefaults()
	p.update(s.ArrivalRate(), q.Alpha, q.Beta)
	return q.size(s, p.forecast())
}

// update adds an interval's arrival rate to Holt's forecast, smoothing
// the level by alpha and the trend by beta.
func (p *PredictivePolicy) update(rate, alpha, beta float64) {
	if !p.primed {
		p.level, p.trend, p.primed = rate, 0, true
		return
	}
	prev := p.level
	p.level = alpha*rate + (1-alpha)*(p.level+p.trend)
	p.trend = beta*(p.level-prev) + (1-beta)*p.trend
}

// size applies Little's law to a forecast arrival rate (tasks per second):
// the size Scale returns. q has its defaults.
func (q PredictivePolicy) size(s ScaleSignals, rate float64) (int, string) {
	n := s.Workers
	run := s.MeanRun.Seconds()
	if run <= 0 {
		if s.QueueDepth > 0 {
			return n + 1, ReasonNoEstimate
		}
		return n, ""
	}
	need := rate * run
	if q.Drain > 0 {
		need += float64(s.QueueDepth) / q.Drain.Seconds() * run
	}
	need /= q.TargetUtilization
	if up := ceilWorkers(need); up > n {
		return up, ReasonForecast
	}
	if down := ceilWorkers(need * (1 + q.Slack)); down < n {
		return down, ReasonForecast
	}
	return n, ""
}

// ceilWorkers rounds x up to a whole number of workers, ignoring a millionth of a
// worker of floating-point error.
func ceilWorkers(x float64) int {
	if x > float64(config.MaxWorkers) {
		return config.MaxWorkers
	}
	return int(math.Ceil(x - 1e-6))
}
