package config

// The priority pattern has three pools that share one engine and differ in
// the order they run tasks in: by priority (PriorityPool, higher first), by
// deadline (DeadlinePool, earliest first) and by cost (CostPool, cheapest
// first). The engine orders tasks by an int64 key, lower first, computed
// once at submit from the task's rank (its priority, deadline or cost) by
// [PrioritySettings.Key]; ties run in submission order.

import (
	"math"
	"sort"
	"time"
)

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
	AgingOption, BandsOption, LateOption string
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
		if p.AgingOption != "" {
			return bad(p.AgingOption, "does not apply to the deadline pool: a waiting task's deadline only comes nearer, so earliest-deadline-first needs no aging")
		}
		if p.BandsOption != "" {
			return bad(p.BandsOption, "does not apply to the deadline pool, which has one band: deadlines are instants, not classes")
		}
		if handOff && p.LateOption != "" {
			return bad(p.LateOption, "the pool was given a handler that takes every late task; leave OnLate out")
		}
		p.HandOff = handOff
	case ByPriority, ByCost:
		if p.LateOption != "" {
			return bad(p.LateOption, "applies to the deadline pool only")
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
