package poolimpl

import (
	"math"
	"sync/atomic"
	"time"

	poolrt "github.com/poolgen/poolgen/runtime"
	"github.com/poolgen/poolgen/runtime/internal/config"
)

// Shedder is a pool's load shedding controller (poolrt.Shed documents
// the behavior): CoDel's test for a standing queue, on the queue waits of
// timed tasks, driving admission control by a depth limit learned from
// the same waits.
//
// Pools call Refuse on every submission, before queueing, and Observe
// with the queue wait of every timed task as it starts. While the pool
// is not shedding, Refuse is one atomic load and Observe stores nothing
// unless the wait is above the target, so a healthy pool pays next to
// nothing for it; a pool without shedding has a nil *Shedder and pays
// one predictable branch per submission.
//
// The state is a few atomics updated without a lock. One worker per
// period claims the limit's update (a compare-and-swap on next); a wait
// another worker adds while it takes the period's sums may count in the
// next period, or its sum in one and its count in the other. That is
// noise in a mean the next period corrects, not a broken invariant:
// Refuse only ever compares the queue's depth with some recent limit.
type Shedder struct {
	target, interval int64 // nanoseconds
	life             *Lifecycle
	clock            *config.Clock
	// depth returns the number of accepted tasks waiting to start (a
	// batch pool: the flushed batches waiting for a worker), in the unit
	// the limit counts.
	depth func() int
	// bands is the number of priority bands, pos the place of each in
	// service order, 0 for the band served last (nil: one band).
	bands    int64
	pos      []int64
	maxLimit int64

	_ [CacheLinePad]byte
	// on: the pool is in the shedding state. Read by every submission.
	on    atomic.Bool
	limit atomic.Int64 // the admission limit on depth while on
	_     [CacheLinePad]byte
	// refused is the clock stamp of the last refusal (coarsely: see
	// Refuse), shed the number of refusals.
	refused atomic.Int64
	shed    atomic.Uint64
	_       [CacheLinePad]byte
	// sum and count add up the waits seen in the shedding state since
	// the last adjustment of the limit, due at stamp next.
	sum, count, next atomic.Int64
	_                [CacheLinePad]byte
	// above is the stamp of the first of a run of waits above target
	// (0: the last wait seen was at or below it), last that of the run's
	// latest.
	above, last atomic.Int64
}

// newShedder returns the controller of a pool configured by set, with
// lifecycle life, timing with clock and reading its queue's depth with
// depth, or nil when set has no shedding. limit bounds the depth limit
// (the queue's capacity, in depth's unit).
func newShedder(set *config.Settings, life *Lifecycle, clock *config.Clock, limit int, depth func() int) *Shedder {
	if set.Shed.Target <= 0 {
		return nil
	}
	s := &Shedder{
		target:   int64(set.Shed.Target),
		interval: int64(set.Shed.Interval),
		life:     life,
		clock:    clock,
		depth:    depth,
		bands:    1,
		maxLimit: int64(max(limit, 1)),
	}
	if p := &set.Priority; set.Pattern == config.Priority && p.Kind != poolrt.ByDeadline && len(p.Bounds) > 0 {
		n := len(p.Bounds) + 1
		s.bands, s.pos = int64(n), make([]int64, n)
		for b := range s.pos {
			if p.Lowest() == 0 {
				s.pos[b] = int64(b)
			} else {
				s.pos[b] = int64(n - 1 - b) // costs: the highest band is served last
			}
		}
		s.maxLimit = max(s.maxLimit, s.bands)
	}
	return s
}

// Refuse reports whether a submission of band b (0 for pools without
// bands) must be refused with poolrt.ErrOverloaded now, and counts it
// if so.
func (s *Shedder) Refuse(b int) bool {
	if !s.on.Load() {
		return false
	}
	return s.refuseSlow(b)
}

func (s *Shedder) refuseSlow(b int) bool {
	if s.life.State() != Open {
		return false // the submission fails with poolrt.ErrClosed
	}
	j := int64(0)
	if s.pos != nil {
		j = s.pos[b]
	}
	// Band j is refused from (j+1)/bands of the limit, rounded up: the
	// band served last first, the one served first at the limit.
	if threshold := (s.limit.Load()*(j+1) + s.bands - 1) / s.bands; int64(s.depth()) < threshold {
		return false
	}
	s.shed.Add(1)
	// The stamp only decides when the state may end, an interval later:
	// refresh it a few times an interval, not on every refusal, which
	// would move its cache line between the submitters each time.
	if now := s.clock.Now(); now-s.refused.Load() > s.interval/16 {
		s.refused.Store(now)
	}
	return true
}

// Observe takes the queue wait of a timed task that starts at clock stamp
// now.
func (s *Shedder) Observe(wait time.Duration, now int64) {
	w := int64(wait)
	if !s.on.Load() {
		if w <= s.target {
			if s.above.Load() != 0 {
				s.above.Store(0)
			}
			return
		}
		s.observeAbove(w, now)
		return
	}
	s.adjust(w, now)
}

// observeAbove takes a wait above target outside the shedding state:
// CoDel's test. The state begins once the waits have stayed above target
// for an interval, with no wait at or below it in between; a gap of an
// interval or more with no wait seen starts the run afresh, since what
// happened in it is unknown.
func (s *Shedder) observeAbove(w, now int64) {
	a := s.above.Load()
	if a == 0 || now-s.last.Load() >= s.interval {
		s.above.Store(now)
		s.last.Store(now)
		return
	}
	s.last.Store(now)
	if now-a < s.interval {
		return
	}
	// Little's law: the depth now took about w to drain, so the depth
	// that drains in about the target is depth·target/w.
	s.limit.Store(s.clamp(int64(s.depth()) * s.target / w))
	s.sum.Store(0)
	s.count.Store(0)
	s.next.Store(now + s.target)
	s.refused.Store(now)
	s.above.Store(0)
	s.on.Store(true)
}

// adjust takes a wait w in the shedding state. It ends the state if the
// pool refused no one for an interval and w is at or below target.
// Otherwise it adds w to the period's waits and, once a period of target
// has passed, scales the limit by √(target/mean wait), bounded to
// [1/√2, √2]: once per period rather than per wait, so that the gain
// does not depend on the sampling rate, and by the square root, since
// the waits seen now are of tasks admitted about a wait ago, under an
// older limit: a full correction each period would overshoot.
func (s *Shedder) adjust(w, now int64) {
	if w <= s.target && now-s.refused.Load() >= s.interval {
		s.on.Store(false)
		return
	}
	s.sum.Add(w)
	s.count.Add(1)
	next := s.next.Load()
	if now < next || !s.next.CompareAndSwap(next, now+s.target) {
		return
	}
	sum, count := s.sum.Swap(0), s.count.Swap(0)
	if count == 0 {
		return // another worker's wait was counted in the last period
	}
	r := min(max(float64(s.target)*float64(count)/float64(max(sum, 1)), 0.5), 2)
	f := float64(s.limit.Load()) * math.Sqrt(r)
	n := int64(f)
	if r > 1 && float64(n) < f {
		n++ // round growth up, so that a small limit can grow
	}
	s.limit.Store(s.clamp(n))
}

func (s *Shedder) clamp(n int64) int64 { return min(max(n, s.bands), s.maxLimit) }

// shedder makes the controller of a pool configured by set (nil when
// off), as newShedder does, and has the meter report it in Stats.
func (m *Meter) shedder(set *config.Settings, life *Lifecycle, limit int, depth func() int) *Shedder {
	m.shed = newShedder(set, life, &m.Clock, limit, depth)
	return m.shed
}

// snapshot adds the controller's figures to st.
func (s *Shedder) snapshot(st *poolrt.Stats) {
	st.Shed = s.shed.Load()
	st.Shedding = s.on.Load() && s.clock.Now()-s.refused.Load() < s.interval
}

// spread is the depth of the queue as load shedding counts it: the
// fullest shard's times the number of shards. A task waits behind its
// own shard's tasks, and submissions spread at random drift apart
// between shards: limiting the fullest bounds every task's wait, where
// a limit on the total lets one shard hold most of it (at twice the
// capacity of 8 workers on 2 shards, in virtual time, the P99 wait was
// twice as far above the mean).
func (q *queue[T]) spread() int {
	most := 0
	for i := range q.shards {
		most = max(most, q.shards[i].waiting())
	}
	return most * len(q.shards)
}

// waiting returns the number of tasks pushed on s and not yet started.
func (s *shard[T]) waiting() int {
	st := s.started.Load()
	return int(s.tail.Load() - st)
}
