package poolrt

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/poolgen/poolgen/runtime/internal/config"
)

// RankKind says what a priority-pattern pool orders its tasks by (see
// [PriorityStats].Kind).
type RankKind = config.RankKind

// The orders of the priority pattern.
const (
	// ByPriority runs the task with the highest Priority() first.
	ByPriority = config.ByPriority
	// ByDeadline runs the task with the earliest Deadline() first.
	ByDeadline = config.ByDeadline
	// ByCost runs the task with the lowest Cost() first.
	ByCost = config.ByCost
)

// LatePolicy is what a deadline pool does with a task whose deadline has
// passed when a worker takes it from the queue.
type LatePolicy = config.LatePolicy

const (
	// RunLate runs a late task anyway and counts it in
	// [PriorityStats].Missed. It is the default.
	RunLate = config.RunLate
	// DropLate does not run a late task: it counts it as completed and
	// failed (and in [PriorityStats].Dropped) and passes a
	// [*DeadlineError] to the [OnError] handler.
	DropLate = config.DropLate
)

// Aging makes a queued task's effective priority rise by one level for
// every period every it waits: a task of priority p submitted at time s
// competes at time now as p + (now−s)/every. It applies to PriorityPool
// and, as a falling effective cost, to CostPool; deadlines need no aging
// (a waiting task's deadline only comes nearer).
//
// Because every queued task ages at the same rate, the order between two
// of them never changes while they wait; only newcomers see older tasks
// as more important. The pool therefore keeps one static heap keyed by
// prio·every − s (saturating at the int64 range), with no rescans.
//
// The bound it buys, measured from the call to Submit: a task of priority
// Pmin waits at most (Pmax−Pmin)·every, plus the time the workers need to
// run the tasks ahead of it at that moment (queued, at most QueueSize−1,
// or blocked in Submit on a full queue with a better effective priority)
// and those already running. A task blocked on a full queue ages from the
// call too, and blocked submitters are admitted best effective priority
// first, so after (Pmax−Pmin)·every no newly submitted task can overtake
// it. The same holds for CostPool with costs in place of priorities.
func Aging(every time.Duration) Option {
	text := fmt.Sprintf("Aging(%v)", every)
	return config.NewOption(text, config.Priority, func(s *config.Settings) string {
		if every <= 0 {
			return "the aging period must be positive"
		}
		s.Priority.Aging, s.Priority.AgingOption = every, text
		return ""
	})
}

// Bands splits ranks into bands for [PriorityStats]: bounds b1 < b2 < ...
// < bk make k+1 bands (−∞, b1−1], [b1, b2−1], ..., [bk, +∞), each with its
// own counters and queue-wait histogram. Ranks are priorities for
// PriorityPool and costs for CostPool; a deadline pool has one band. Without
// Bands a pool has one band. At most 63 bounds (64 bands).
func Bands(bounds ...int64) Option {
	parts := make([]string, len(bounds))
	for i, b := range bounds {
		parts[i] = fmt.Sprint(b)
	}
	text := "Bands(" + strings.Join(parts, ", ") + ")"
	bounds = append([]int64(nil), bounds...) // the caller may reuse its slice
	return config.NewOption(text, config.Priority, func(s *config.Settings) string {
		if len(bounds) >= config.MaxBands {
			return fmt.Sprintf("at most %d bounds (%d bands)", config.MaxBands-1, config.MaxBands)
		}
		for i := 1; i < len(bounds); i++ {
			if bounds[i] <= bounds[i-1] {
				return "bounds must be strictly increasing"
			}
		}
		s.Priority.Bounds, s.Priority.BandsOption = bounds, text
		return ""
	})
}

// OnLate sets what a deadline pool does with a task whose deadline has
// passed when a worker takes it: [RunLate] (the default) or [DropLate]. A
// handler given to the pool's constructor takes late tasks instead.
func OnLate(p LatePolicy) Option {
	text := "OnLate(" + p.String() + ")"
	return config.NewOption(text, config.Priority, func(s *config.Settings) string {
		if p > DropLate {
			return "use RunLate or DropLate"
		}
		s.Priority.Late, s.Priority.LateOption = p, text
		return ""
	})
}

// ErrDeadlineExceeded is wrapped by the [*DeadlineError] a deadline pool
// reports for a late task it dropped under [DropLate].
var ErrDeadlineExceeded = errors.New("poolgen: task deadline exceeded before it started")

// DeadlineError describes a task a deadline pool did not run because its
// deadline had passed when a worker took it ([DropLate]). It is passed to
// the [OnError] handler and unwraps to [ErrDeadlineExceeded].
type DeadlineError struct {
	// Task is the task that was dropped (boxed: this is the slow path).
	Task any
	// Deadline is the task's deadline.
	Deadline time.Time
	// Late is how long past the deadline it was when a worker took it.
	Late time.Duration
}

func (e *DeadlineError) Error() string {
	return fmt.Sprintf("poolgen: task dropped: its deadline %s had passed %v before it could start",
		e.Deadline.Format(time.RFC3339Nano), e.Late)
}

// Unwrap returns [ErrDeadlineExceeded].
func (e *DeadlineError) Unwrap() error { return ErrDeadlineExceeded }

// PriorityStats is the priority-specific part of a pool's Stats.
type PriorityStats struct {
	// Kind is the pool's order.
	Kind RankKind
	// Aging is the aging period (0: off).
	Aging time.Duration
	// Bands holds per-band figures, by rank ascending (for PriorityPool
	// the lowest priorities first, for CostPool the cheapest first).
	// Tasks run by callers under CallerRuns never queue and are not in
	// any band.
	Bands []BandStats
	// LowestMaxWait is the longest queue wait of a sampled task of the
	// band served last (the lowest priorities, the highest costs; for a
	// deadline pool, any task): the starvation gauge that aging bounds.
	// Exact with LatencySampling(1).
	LowestMaxWait time.Duration

	// Deadline pools: tasks whose deadline had passed when a worker took
	// them, by what happened to them: run anyway (RunLate), dropped
	// (DropLate) or given to the pool's handler.
	Missed, Dropped, HandedOff uint64
	// Lateness is how long past their deadline late tasks were when taken
	// (every late task, not a sample).
	Lateness Latency
}

// BandStats is one band of a priority pool's ranks.
type BandStats struct {
	// Lo and Hi are the band's lowest and highest rank.
	Lo, Hi int64
	// Submitted counts tasks queued in the band; Completed those whose
	// Run returned (or that a deadline pool dropped or handed off, or a
	// Breaker failed fast),
	// Panicked those whose Run panicked, Returned those ShutdownNow handed
	// back. Once the pool has stopped, Submitted = Completed + Panicked +
	// Returned.
	Submitted, Completed, Panicked, Returned uint64
	// Wait is the queue wait of sampled tasks of the band.
	Wait Latency
}
