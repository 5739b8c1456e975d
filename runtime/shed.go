package poolrt

import (
	"errors"
	"fmt"
	"time"

	"github.com/poolgen/poolgen/runtime/internal/config"
)

// ErrOverloaded is returned by Submit, TrySubmit and SubmitWait of a pool
// with [Shed] while it sheds load: its tasks wait too long to start, and
// the submission was refused at once, whatever the [OnFull] policy. The
// task was not accepted: it is counted in [Stats].Shed, not in
// Submitted. Retry later, elsewhere, or with less.
var ErrOverloaded = errors.New("poolgen: pool overloaded")

// ShedPolicy configures [Shed]. A zero field takes its default.
type ShedPolicy struct {
	// Target is the queue wait (submit to start) the pool keeps its
	// admitted tasks near while it sheds; default 5ms.
	Target time.Duration
	// Interval is how long the shortest wait must stay above Target
	// before the pool starts shedding, and how long it must go without
	// refusing anyone before it stops; default 100ms. It must exceed
	// Target.
	Interval time.Duration
}

// Shed makes the pool refuse submissions with [ErrOverloaded] when it is
// overloaded, so that the tasks it admits start promptly rather than all
// of them waiting in a standing queue. It adapts CoDel (Nichols and
// Jacobson, "Controlling Queue Delay") to admission control:
//
//   - The pool measures each timed task's queue wait, from Submit to the
//     start of its Run (a batch pool: from the flush of its batch to the
//     start of the handler), on the tasks [LatencySampling] times; so
//     Shed needs latency metrics on, and [Metrics](false) with it is a
//     [*ConfigError].
//   - Like CoDel, it tells a standing queue from a burst: it enters the
//     shedding state only when the waits have stayed above Target for a
//     whole Interval (the minimum over the interval is above Target).
//     A burst that drains within the interval is absorbed.
//   - CoDel drops at dequeue; a pool refuses at admission instead, so no
//     accepted task is ever dropped. In the shedding state the pool
//     admits a submission only while fewer tasks wait than a limit it
//     learns from the waits it sees: the queue depth that makes a wait of
//     about Target, so that the pool's throughput holds while the wait of
//     admitted tasks stays near Target. It starts from Little's law, the
//     depth when it enters the state times Target over the wait then, and
//     every Target after scales the limit by the square root of Target
//     over the mean wait seen meanwhile. (A sharded queue — fixed,
//     dynamic and work-stealing pools — counts as its fullest shard times
//     the shards: a task waits behind its own shard's tasks; and while
//     the pool sheds, each admitted task goes to the shallower of two
//     shards picked at random, which keeps the shards' waits close.)
//   - It leaves the shedding state once it has refused no one for an
//     Interval and a wait at or below Target is seen.
//
// A priority, deadline or cost pool sheds the lowest priority first: of
// its k bands ([Bands]; a deadline pool has one), numbered from the one
// served last (j = 0) to the one served first (j = k−1), band j is
// refused once the queue holds (j+1)/k of the limit, so the band served
// last is refused first and the one served first only when the queue is
// at the limit. The threshold of refusal rises with the queue as the
// overload grows.
//
// Shedding applies to Submit, TrySubmit and SubmitWait, before the
// backpressure policy: a refused submission neither blocks ([Block]) nor
// runs on the caller ([CallerRuns]); under overload, running tasks on
// the submitters would only move the overload onto them. A work-stealing
// pool's forks are never refused (they are part of an accepted task).
//
// Stats reports the refused submissions in Shed and whether the pool is
// shedding in Shedding. Target and Interval must be positive when given,
// with Target below Interval; Shed applies to every pattern.
//
// A fair pool's limit is on its whole queue, all tenants together, as
// for the fixed pool: while it sheds, a submission of any tenant is
// refused once the pool's queue holds the limit, however few of its own
// tenant's tasks are queued. Between the tasks it admits, the weights
// still share the workers, and [TenantQueueSize] still bounds how much
// of the queue one tenant can hold.
func Shed(p ShedPolicy) Option {
	text := fmt.Sprintf("Shed(ShedPolicy{Target: %v, Interval: %v})", p.Target, p.Interval)
	return config.NewOption(text, config.AllPatterns, func(s *config.Settings) string {
		target, interval := p.Target, p.Interval
		if target == 0 {
			target = config.DefaultShedTarget
		}
		if interval == 0 {
			interval = config.DefaultShedInterval
		}
		switch {
		case target < 0 || interval < 0:
			return "Target and Interval must be positive (0 takes the default)"
		case target >= interval:
			return fmt.Sprintf("the target (%v) must be below the interval (%v)", target, interval)
		}
		s.Shed = config.ShedSettings{Target: target, Interval: interval, Option: text}
		return ""
	})
}
