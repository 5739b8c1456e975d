package poolrt

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"
)

// The priority pattern has three pools that share one engine and differ in
// the order they run tasks in: by priority (PriorityPool, higher first), by
// deadline (DeadlinePool, earliest first) and by cost (CostPool, cheapest
// first). The engine orders tasks by an int64 key, lower first, computed
// once at submit from the task's rank (its priority, deadline or cost) by
// [PrioritySettings.Key]; ties run in submission order.

// RankKind says what a priority-pattern pool orders its tasks by.
type RankKind uint8

// The orders of the priority pattern.
const (
	// ByPriority runs the task with the highest Priority() first.
	ByPriority RankKind = iota
	// ByDeadline runs the task with the earliest Deadline() first.
	ByDeadline
	// ByCost runs the task with the lowest Cost() first.
	ByCost
)

func (k RankKind) String() string {
	switch k {
	case ByPriority:
		return "priority"
	case ByDeadline:
		return "deadline"
	case ByCost:
		return "cost"
	}
	return fmt.Sprintf("RankKind(%d)", uint8(k))
}

// LatePolicy is what a deadline pool does with a task whose deadline has
// passed when a worker takes it from the queue.
type LatePolicy uint8

const (
	// RunLate runs a late task anyway and counts it in
	// [PriorityStats].Missed. It is the default.
	RunLate LatePolicy = iota
	// DropLate does not run a late task: it counts it as completed and
	// failed (and in [PriorityStats].Dropped) and passes a
	// [*DeadlineError] to the [OnError] handler.
	DropLate
)

func (p LatePolicy) String() string {
	switch p {
	case RunLate:
		return "RunLate"
	case DropLate:
		return "DropLate"
	}
	return fmt.Sprintf("LatePolicy(%d)", uint8(p))
}

// MaxBands bounds the number of statistics bands ([Bands]): each band
// keeps a latency histogram (about 2.4 KB) and a pair of counters per
// worker.
const MaxBands = 64

// NoDeadline is the key of a task whose Deadline() is the zero time.Time:
// it has no deadline, runs after every task that has one, and is never
// late.
const NoDeadline = math.MaxInt64

// PrioritySettings configures a priority-pattern pool.
type PrioritySettings struct {
	// Kind is the pool's order, set by [ResolveRank].
	Kind RankKind
	// Aging is the wait that raises a queued task's effective priority by
	// one level (lowers its effective cost by one unit); 0 turns aging
	// off. See [Aging].
	Aging time.Duration
	// Bounds split ranks into statistics bands (see [Bands]); strictly
	// increasing, empty for a single band.
	Bounds []int64
	// Late is the deadline pool's policy for late tasks, unless a handler
	// takes them (HandOff).
	Late LatePolicy
	// HandOff: a deadline pool hands late tasks to its handler.
	HandOff bool

	// The options that set the fields above, as written, for errors.
	agingOpt, bandsOpt, lateOpt string
}

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
	return Option{text, Priority, func(s *Settings) string {
		if every <= 0 {
			return "the aging period must be positive"
		}
		s.Priority.Aging, s.Priority.agingOpt = every, text
		return ""
	}}
}

// Bands splits ranks into bands for [PriorityStats]: bounds b1 < b2 < ...
// < bk make k+1 bands (−∞, b1−1], [b1, b2−1], ..., [bk, +∞), each with its
// own counters and queue-wait histogram. Ranks are priorities for
// PriorityPool and costs for CostPool; a deadline pool has one band. Without
// Bands a pool has one band. At most MaxBands−1 bounds.
func Bands(bounds ...int64) Option {
	parts := make([]string, len(bounds))
	for i, b := range bounds {
		parts[i] = fmt.Sprint(b)
	}
	text := "Bands(" + strings.Join(parts, ", ") + ")"
	bounds = append([]int64(nil), bounds...) // the caller may reuse its slice
	return Option{text, Priority, func(s *Settings) string {
		if len(bounds) >= MaxBands {
			return fmt.Sprintf("at most %d bounds (%d bands)", MaxBands-1, MaxBands)
		}
		for i := 1; i < len(bounds); i++ {
			if bounds[i] <= bounds[i-1] {
				return "bounds must be strictly increasing"
			}
		}
		s.Priority.Bounds, s.Priority.bandsOpt = bounds, text
		return ""
	}}
}

// OnLate sets what a deadline pool does with a task whose deadline has
// passed when a worker takes it: [RunLate] (the default) or [DropLate]. A
// handler given to the pool's constructor takes late tasks instead.
func OnLate(p LatePolicy) Option {
	text := "OnLate(" + p.String() + ")"
	return Option{text, Priority, func(s *Settings) string {
		if p > DropLate {
			return "use RunLate or DropLate"
		}
		s.Priority.Late, s.Priority.lateOpt = p, text
		return ""
	}}
}

// resolvePriority applies the priority pool's defaults and checks its settings
// once every option is applied.
func (s *Settings) resolvePriority(procs int) error { return nil }

// ResolveRank resolves opts for a priority-pattern pool ordered by kind:
// [Resolve] for the priority pattern, then the checks that depend on the
// order (no aging or bands for deadlines, no late policy for the others).
// handOff says the deadline pool was given a handler for late tasks.
func ResolveRank(kind RankKind, handOff bool, opts []Option) (Settings, error) {
	s, err := Resolve(Priority, opts)
	if err != nil {
		return Settings{}, err
	}
	p := &s.Priority
	p.Kind = kind
	bad := func(opt, reason string) (Settings, error) {
		return Settings{}, &ConfigError{Option: opt, Reason: reason}
	}
	switch kind {
	case ByDeadline:
		if p.agingOpt != "" {
			return bad(p.agingOpt, "does not apply to the deadline pool: a waiting task's deadline only comes nearer, so earliest-deadline-first needs no aging")
		}
		if p.bandsOpt != "" {
			return bad(p.bandsOpt, "does not apply to the deadline pool, which has one band: deadlines are instants, not classes")
		}
		if handOff && p.lateOpt != "" {
			return bad(p.lateOpt, "the pool was given a handler that takes every late task; leave OnLate out")
		}
		p.HandOff = handOff
	case ByPriority, ByCost:
		if p.lateOpt != "" {
			return bad(p.lateOpt, "applies to the deadline pool only")
		}
	default:
		return bad(kind.String(), "unknown order")
	}
	return s, nil
}

// Key returns the heap key of a task of rank r (its priority, deadline key
// or cost) accepted at clock stamp enq: lower keys run first.
//
//   - ByPriority: −r, or with aging r·every subtracted from enq, so that
//     of two tasks the one with the higher p + (now−enq)/every has the
//     lower key at every moment now.
//   - ByCost: r, or with aging r·every + enq.
//   - ByDeadline: r, already on the pool clock's scale ([Clock.DeadlineKey]).
//
// Arithmetic saturates at the int64 range: extreme ranks share the extreme
// key and run among themselves in submission order.
func (p *PrioritySettings) Key(r, enq int64) int64 {
	switch p.Kind {
	case ByPriority:
		if p.Aging == 0 {
			return satNeg(r)
		}
		return satAdd(enq, satNeg(satMul(r, int64(p.Aging))))
	case ByCost:
		if p.Aging == 0 {
			return r
		}
		return satAdd(enq, satMul(r, int64(p.Aging)))
	}
	return r
}

// Stamped reports whether keys depend on the submit time (aging), so that
// every task needs a clock stamp at submit.
func (p *PrioritySettings) Stamped() bool { return p.Aging > 0 }

// Band returns the statistics band of rank r: how many bounds are ≤ r.
// O(log bands).
func (p *PrioritySettings) Band(r int64) int {
	b := p.Bounds
	if len(b) == 0 || p.Kind == ByDeadline {
		return 0
	}
	return sort.Search(len(b), func(i int) bool { return b[i] > r })
}

// Lowest returns the band served last: the lowest priorities, the highest
// costs.
func (p *PrioritySettings) Lowest() int {
	if p.Kind == ByCost {
		return len(p.Bounds)
	}
	return 0
}

func satNeg(a int64) int64 {
	if a == math.MinInt64 {
		return math.MaxInt64
	}
	return -a
}

func satAdd(a, b int64) int64 {
	s := a + b
	switch {
	case a > 0 && b > 0 && s < 0:
		return math.MaxInt64
	case a < 0 && b < 0 && s >= 0:
		return math.MinInt64
	}
	return s
}

// satMul returns a·b saturated, for b > 0.
func satMul(a, b int64) int64 {
	switch {
	case a > math.MaxInt64/b:
		return math.MaxInt64
	case a < math.MinInt64/b:
		return math.MinInt64
	}
	return a * b
}

// DeadlineKey converts a deadline to the clock's scale: nanoseconds since
// the clock's epoch, saturated (time.Time.Sub saturates), so that it
// compares with [Clock.Now] stamps. The zero time.Time means no deadline:
// [NoDeadline].
func (c *Clock) DeadlineKey(d time.Time) int64 {
	if d.IsZero() {
		return NoDeadline
	}
	return min(int64(d.Sub(c.epoch)), NoDeadline-1)
}

// PastDeadline returns how long ago deadline key k passed; zero or less
// when it has not (or the task has no deadline).
func (c *Clock) PastDeadline(k int64) time.Duration {
	if k == NoDeadline {
		return 0
	}
	return time.Duration(satAdd(c.Now()-1, satNeg(k)))
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
	// Run returned (or that a deadline pool dropped or handed off),
	// Panicked those whose Run panicked, Returned those ShutdownNow handed
	// back. Once the pool has stopped, Submitted = Completed + Panicked +
	// Returned.
	Submitted, Completed, Panicked, Returned uint64
	// Wait is the queue wait of sampled tasks of the band.
	Wait Latency
}
