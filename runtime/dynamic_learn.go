package poolrt

import (
	"math"
	"math/rand/v2"
	"time"

	"github.com/poolgen/poolgen/runtime/internal/config"
)

// ReasonLearned is the reason LearningPolicy gives for a change of size.
const ReasonLearned = "Little's law × the headroom learned for the load's context"

// Defaults of LearningPolicy, stated in its documentation.
const (
	defaultLearnWait    = 4
	defaultLearnIdle    = 0.25
	defaultLearnExplore = 0.1
	defaultLearnRate    = 0.1
)

// learnHeadrooms are the arms of LearningPolicy's bandit: workers per
// worker of Little's-law need. 1 runs the workers fully busy on average,
// which queues every fluctuation; 2.5 leaves 60% of them idle.
var learnHeadrooms = [...]float64{1, 1.1, 1.25, 1.4, 1.6, 1.8, 2, 2.5}

// learnDefaultArm is the headroom played in a context before any has been
// tried: 1.4, near PredictivePolicy's target utilization of 0.75.
const learnDefaultArm = 3

// LearningPolicy sizes the pool with a contextual bandit that learns how
// much headroom the load needs. Each interval it estimates the workers
// the load keeps busy by Little's law (arrival rate × mean run time,
// both moving averages, except that a rise takes the interval's rate at
// once), chooses a headroom from 1× to 2.5× that need, and adds the workers that
// clear the queue within Drain:
//
//	workers = ⌈headroom · λ · S + QueueDepth/Drain · S⌉
//
// It chooses by context — the arrival rate rising, steady or falling
// against its average, and tasks waiting or not — and learns from what
// each choice earned over the interval that followed it, the reward
//
//	busy workers − Wait · tasks waiting − Idle · idle workers
//
// per worker of need (busy workers measure throughput; tasks waiting, by
// Little's law, the waiting time accrued per second). Its estimate of a
// headroom's worth in a context is a moving average of those rewards
// (LearningRate), so it follows a load that changes character. It starts
// at 1.4 in every context and takes the best headroom it has tried,
// except for a share Explore of the intervals, in which it tries one next
// to the best: the price of finding a better one, and of noticing that
// the best has changed. An interval whose size the controller did not apply — a
// scale-down held by the Cooldown, limits changed meanwhile — teaches it
// nothing.
//
// What it learns is the trade-off Wait and Idle state: a latency-bound
// pool (Wait high) settles on more headroom, a cost-bound one (Idle high)
// on less. Until the pool has measured a run time it adds one worker per
// interval while tasks wait. Its choices are random only through a
// generator of its own with a fixed seed, so a replay of the same load
// makes the same choices.
//
// Zero fields take their defaults. The estimates are state: use the
// [Learning] option, which gives every pool its own copy; a
// *LearningPolicy passed to ScaleWith must serve one pool only.
type LearningPolicy struct {
	// Wait is the cost of one task waiting for one second, and Idle of
	// one worker idle for one second, against the reward of one worker
	// busy for one second (defaults 4 and
	// 0.25).
	Wait, Idle float64
	// Explore is the share of intervals spent trying a headroom next to
	// the best, in [0, 1) (default 0.1).
	Explore float64
	// LearningRate is the weight of the latest reward in a headroom's
	// estimate, in (0, 1] (default 0.1).
	LearningRate float64
	// Drain is the time within which the pool plans to clear the tasks
	// waiting in its queue (default 1s).
	Drain time.Duration

	learner *learner
}

// learner is LearningPolicy's state, behind a pointer so that copying the
// policy's settings does not copy a pool's estimates.
type learner struct {
	rng     *rand.Rand
	avg     float64 // moving average of the arrival rate
	run     float64 // moving average of the run time, in seconds
	primed  bool
	value   [learnContexts][len(learnHeadrooms)]float64
	tried   [learnContexts][len(learnHeadrooms)]bool
	pending bool // the previous interval chose arm in ctx, for target workers
	ctx     int
	arm     int
	target  int
	min     int
	max     int
	need    float64 // Little's-law workers at that choice
}

// The bandit's contexts: the arrival rate rising, steady or falling, each
// with an empty queue or tasks waiting.
const (
	learnRising = iota
	learnSteady
	learnFalling
	learnTrends

	learnContexts = 2 * learnTrends
)

// learnRunTasks is the number of tasks whose run times weigh as much as
// the average of all earlier ones.
const learnRunTasks = 400

// learnAvgWeight is the weight of an interval's arrival rate in the
// moving average. Small, because the average only has to follow a steady
// load (a rise takes the interval's rate at once): at 0.2 the average of
// 500 tasks a second measured every 100ms varies by ±5%, where the
// interval's count varies by ±14%, and every upward blip of the target
// would hold workers for the Cooldown.
const learnAvgWeight = 0.2

// learnTrendBand is the ratio of the interval's arrival rate to its moving
// average beyond which the rate counts as rising or falling.
const learnTrendBand = 1.2

// learnTrendZ is how many standard deviations of a Poisson count the
// interval's arrivals must also depart from the average's to count as a
// rise or a fall: at 3, a steady load looks like a rise about once in
// 700 intervals, where the band alone would see one every second or so at
// 500 tasks a second and the pool would hold the workers it added for
// the Cooldown.
const learnTrendZ = 3

func (p LearningPolicy) withDefaults() LearningPolicy {
	if p.Wait == 0 {
		p.Wait = defaultLearnWait
	}
	if p.Idle == 0 {
		p.Idle = defaultLearnIdle
	}
	if p.Explore == 0 {
		p.Explore = defaultLearnExplore
	}
	if p.LearningRate == 0 {
		p.LearningRate = defaultLearnRate
	}
	if p.Drain == 0 {
		p.Drain = defaultDrain
	}
	return p
}

func (p LearningPolicy) check() string {
	switch {
	case !(p.Wait >= 0 && p.Wait <= 1e6) || !(p.Idle >= 0 && p.Idle <= 1e6):
		return "Wait and Idle must be within [0, 1e6]"
	case !(p.Explore >= 0 && p.Explore < 1):
		return "Explore must be within [0, 1)"
	case !(p.LearningRate > 0 && p.LearningRate <= 1):
		return "LearningRate must be within (0, 1]"
	case p.Drain < 0:
		return "Drain cannot be negative"
	}
	return ""
}

// reset forgets what the policy learned.
func (p *LearningPolicy) reset() {
	p.learner = &learner{rng: rand.New(rand.NewPCG(0x706f6f6c67656e, 0x6c6561726e))}
}

// Scale implements ScalePolicy. It learns from the interval that ended
// and chooses the next size: call it once per interval.
func (p *LearningPolicy) Scale(s ScaleSignals) (int, string) {
	q := p.withDefaults()
	if p.learner == nil {
		p.reset() // a LearningPolicy built without the Learning option starts here
	}
	l := p.learner
	l.learn(s, q)

	// The rate the pool plans for is the moving average, which filters
	// the noise of a short interval, except when the rate rises out of
	// it: then the interval's, which the average would follow an interval
	// late.
	rate := s.ArrivalRate()
	ctx := learnSteady
	if l.primed {
		// A change counts when it is both large and unlikely as noise:
		// arrivals at a steady rate vary like a Poisson count, whose
		// standard deviation is the square root of its mean.
		expect := l.avg * s.Interval.Seconds()
		z := (float64(s.Arrivals) - expect) / math.Sqrt(expect+1)
		switch {
		case rate > l.avg*learnTrendBand && z > learnTrendZ:
			ctx = learnRising
		case rate < l.avg/learnTrendBand && z < -learnTrendZ:
			ctx = learnFalling
		}
		l.avg += learnAvgWeight * (rate - l.avg)
	} else {
		l.avg, l.primed = rate, true
	}
	if ctx != learnRising {
		rate = l.avg
	}
	if s.QueueDepth > 0 {
		ctx += learnTrends
	}

	// The run time too is averaged, weighing each interval by the tasks
	// that finished in it: an interval's mean of a few tasks is noise.
	if s.MeanRun > 0 {
		w := 1.0
		if l.run > 0 {
			w = float64(s.Completions) / (float64(s.Completions) + learnRunTasks)
		}
		l.run += w * (s.MeanRun.Seconds() - l.run)
	}

	n := s.Workers
	run := l.run
	if run <= 0 {
		if s.QueueDepth > 0 {
			return n + 1, ReasonNoEstimate
		}
		return n, ""
	}
	need := rate * run
	arm := l.choose(ctx, q.Explore)
	workers := need * learnHeadrooms[arm]
	if q.Drain > 0 {
		workers += float64(s.QueueDepth) / q.Drain.Seconds() * run
	}
	target := ceilWorkers(workers)
	l.pending, l.ctx, l.arm, l.target, l.need = true, ctx, arm, target, need
	l.min, l.max = s.Min, s.Max
	if target == n {
		return n, ""
	}
	return target, ReasonLearned
}

// learn credits the previous choice with the reward of the interval that
// s measured, if the controller applied it.
func (l *learner) learn(s ScaleSignals, q LearningPolicy) {
	if !l.pending {
		return
	}
	l.pending = false
	if s.Min != l.min || s.Max != l.max || s.Workers != min(max(l.target, l.min), l.max) {
		return // not what was chosen: held, or changed by the limits
	}
	// Throughput, in workers kept busy: the run time of the tasks that
	// finished, per second. (Utilization says nearly the same, but also
	// counts the moments a worker spends looking for work, which depend on
	// how the scheduler interleaves the workers: a reward computed from it
	// would make the same load teach different things.)
	busy := 0.0
	if s.Interval > 0 {
		busy = min(float64(s.Completions)*s.MeanRun.Seconds()/s.Interval.Seconds(), float64(s.Workers))
	}
	idle := float64(s.Workers) - busy
	r := (busy - q.Wait*float64(s.QueueDepth) - q.Idle*idle) / max(l.need, 1)
	v := &l.value[l.ctx][l.arm]
	if !l.tried[l.ctx][l.arm] {
		*v, l.tried[l.ctx][l.arm] = r, true
	} else {
		*v += q.LearningRate * (r - *v)
	}
}

// choose returns the arm to play in ctx: the best it has tried there (the
// default arm before any), or with probability explore a neighbor of the
// best. Exploring next to the best, rather than anywhere, keeps the price
// of learning to a step of headroom: a random arm would now and then run
// the pool at 1× its need, and queue every fluctuation of the load.
func (l *learner) choose(ctx int, explore float64) int {
	best := learnDefaultArm
	for a, tried := range l.tried[ctx] {
		if tried && (!l.tried[ctx][best] || l.value[ctx][a] > l.value[ctx][best]) {
			best = a
		}
	}
	if explore > 0 && l.rng.Float64() < explore {
		if l.rng.IntN(2) == 0 {
			return max(best-1, 0)
		}
		return min(best+1, len(learnHeadrooms)-1)
	}
	return best
}

// headroom returns the headroom the policy would choose now in context
// ctx, without exploring: what it has learned there.
func (p *LearningPolicy) headroom(ctx int) float64 {
	if p.learner == nil {
		return math.NaN()
	}
	return learnHeadrooms[p.learner.choose(ctx, 0)]
}

// Learning makes the pool scale by p, a [LearningPolicy]: Little's law
// with a headroom that a contextual bandit learns from the pool's own
// throughput, waiting tasks and idle workers. Zero fields of p take their
// defaults. Each pool gets its own copy of p, which starts knowing
// nothing, so one Option may configure many pools.
func Learning(p LearningPolicy) Option {
	return config.NewOption("Learning(...)", config.Dynamic, func(s *config.Settings) string {
		q := p.withDefaults()
		if reason := q.check(); reason != "" {
			return reason
		}
		q.reset()
		s.Dynamic.Policy = &q
		return ""
	})
}
