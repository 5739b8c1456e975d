package poolimpl

import (
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/poolgen/poolgen/runtime/internal/config"
)

// maxBatch bounds how many tasks a worker takes from a shard under one lock
// acquisition. Taking tasks in batches is the biggest single lever on the
// per-task cost (one lock round trip for up to maxBatch tasks); the bound
// keeps a batch from hiding work that other workers could run.
const maxBatch = 32

// slot is a task in a worker's batch and its submit time: a config.Clock
// stamp for sampled tasks, 0 for the others; and its completion handle,
// if it was submitted with SubmitWait.
type slot[T any] struct {
	task T
	enq  int64
	x    *Waiter
}

// cell is a slot of a shard's ring. Its state word publishes the task: a
// submitter writes the task and then the state, a worker reads the state
// and then the task. The state holds cellFull, the parity of the ring lap
// whose submitter wrote it, and the submit time of a sampled task
// (shifted by cellStampShift). Parity lets a worker tell this lap's task
// from the last lap's without anyone clearing the state; the submit time
// rides in the same word so that a cell costs the task plus 8 bytes.
type cell[T any] struct {
	task T
	// An atomic type, not a uint64 used through sync/atomic: 32-bit
	// platforms align only these to 8 bytes, and the task before it may
	// be 4 bytes long.
	state atomic.Uint64
}

const (
	cellParity     = 1
	cellFull       = 2
	cellWaited     = 4
	cellStampShift = 3
)

// cellState returns the state a submitter publishes for ticket c of lap
// lap, with submit time stamp (0 when not timed).
func cellState(lap uint64, stamp int64) uint64 {
	return uint64(stamp)<<cellStampShift | cellFull | lap&cellParity
}

// shard is one bounded FIFO ring of a sharded queue. Submitters spread over
// the shards at random and each worker has a home shard, so no single cache
// line carries all submissions.
//
// Submitters take no lock. Counts of tasks ever pushed, taken and started
// serve as tickets: a submitter claims the next ticket by compare-and-swap
// on the tail (the shard meter's Submitted count), fills the ticket's cell
// and publishes it through the cell's state; workers take runs of
// published cells under a lock of their own. A cell is refilled only once
// as many tasks have started as the ring holds behind it, so QueueSize
// counts tasks taken but not yet started.
//
// Workers look for tasks in the cells themselves, never at the tail, so a
// submission moves no cache line to a worker but the cell's, which the
// worker needs anyway: the tail's line stays with the submitters (with one
// submitter, in its core's cache).
//
// A submitter stopped between its claim and its publication leaves a
// hole: workers see the queue end there until it publishes, and it wakes
// a worker after publishing, as every submitter does. close waits for
// holes to fill, so that once intake has stopped no task appears later.
type shard[T any] struct {
	_    [CacheLinePad]byte
	ring []cell[T]
	// waited holds the completion handles of the tasks in the ring's
	// cells that have one (cellWaited), by cell: beside the ring rather
	// than in its cells, so that a task without one, the common case,
	// costs no cell space and no store. Written by the cell's submitter
	// before it publishes, read by the worker that takes the cell.
	waited []*Waiter
	// tail counts the tickets ever claimed: the ring's tail, and the shard
	// meter's Submitted count.
	tail  *Intake
	meter *ShardMeter
	_     [CacheLinePad]byte
	// startedHint is started as of a submitter's last look: never above
	// it (started only grows), so a claim that fits by the hint fits for
	// real, and submitters read started's line only when the shard looks
	// full.
	startedHint atomic.Uint64
	_           [CacheLinePad]byte
	// The workers' end: taken counts the tasks ever taken, the ring's
	// head as a ticket, written under out.
	out   sync.Mutex
	taken atomic.Uint64
	_     [CacheLinePad]byte
	// started counts taken tasks that started, or that ShutdownNow handed
	// back: tail-started bounds every accepted task not yet started. Workers
	// add to it as each task starts, on a line of its own so that the adds
	// contend with neither end.
	started atomic.Uint64
}

// sampler picks the submissions whose queue wait is timed: one in every
// `every` of a shard's tickets, starting with its first.
type sampler struct {
	// mask filters out most tickets without a division: every-1 when
	// every is a power of two, all ones when nothing is timed, else 0.
	mask  uint64
	every uint64 // 0: none
	clock *config.Clock
}

func newSampler(clock *config.Clock, every int) sampler {
	s := sampler{clock: clock, every: uint64(every)}
	switch {
	case every == 0:
		s.mask = ^uint64(0)
	case every&(every-1) == 0:
		s.mask = uint64(every - 1)
	}
	return s
}

// stamp returns the submit time to record for ticket c: 0 unless sampled.
func (s *sampler) stamp(c uint64) int64 {
	if c&s.mask != 0 {
		return 0
	}
	return s.stampSlow(c)
}

func (s *sampler) stampSlow(c uint64) int64 {
	if s.every == 0 || c%s.every != 0 {
		return 0
	}
	return s.clock.Now()
}

type pushResult uint8

const (
	pushed pushResult = iota
	pushFull
	pushClosed
	pushBusy // push with try: another submitter claimed the ticket first
)

// push appends t, with its completion handle x (nil for none), unless the
// shard is full or closed. With try set, it gives up (pushBusy) when
// another submitter claims the ticket it was after, and the caller tries
// another shard rather than contend. A soft bound below the ring's size
// (0: none) counts the shard full once it holds that many tasks (see
// pacer).
func (s *shard[T]) push(t T, x *Waiter, smp *sampler, try bool, soft uint64) pushResult {
	n := uint64(len(s.ring))
	limit := n
	if soft > 0 && soft < n {
		limit = soft
	}
	var c uint64
	for {
		c = s.tail.Raw()
		if c&IntakeClosed != 0 {
			return pushClosed
		}
		// Signed: c may be stale and behind the hint.
		if hint := s.startedHint.Load(); int64(c-hint) >= int64(limit) {
			// Maybe full: look at what workers have started since.
			st := s.started.Load()
			if st != hint {
				s.startedHint.Store(st)
			}
			if int64(c-st) >= int64(limit) {
				if s.tail.Raw() == c { // c was the tail when started was st
					return pushFull
				}
				continue
			}
		}
		if s.tail.CompareAndSwap(c, c+1) {
			break
		}
		if try {
			return pushBusy
		}
	}
	// Ticket c is ours. The claim fit, so fewer than n accepted tasks had
	// not started: ticket c-n was taken, and copied out of the cell before
	// taken passed it. No worker reads the task until the state says the
	// cell holds ticket c.
	lap, i := c/n, c%n
	cl := &s.ring[i]
	cl.task = t
	st := cellState(lap, smp.stamp(c))
	if x != nil {
		s.waited[i] = x
		st |= cellWaited
	}
	cl.state.Store(st)
	return pushed
}

// published reports whether ticket c's task is in its cell. The caller
// must know that ticket c-n was taken (c ≥ taken as read before), so that
// the cell holds ticket c-n, c or later.
func (s *shard[T]) published(c uint64) bool {
	n := uint64(len(s.ring))
	if n == 0 {
		return false
	}
	st := s.ring[c%n].state.Load()
	return st&(cellFull|cellParity) == cellFull|(c/n)&cellParity
}

// pop moves up to len(dst) of the oldest tasks into dst, taking at most
// 1/div of what is queued (rounded up), and returns how many it moved. The
// caller must release each (queue.release) as it starts it. With try set,
// it gives up at once if another worker is taking from the shard.
func (s *shard[T]) pop(dst []slot[T], div int, try bool) int {
	n := uint64(len(s.ring))
	if len(dst) == 0 || s.empty() {
		return 0
	}
	// Workers take under a lock: a cell's task must be copied out and
	// cleared before taken passes it, since a submitter refills any cell
	// behind taken as soon as enough tasks have started (those of other
	// batches count too). The lock costs a worker per batch, not a
	// submitter per task.
	if try {
		if !s.out.TryLock() {
			return 0
		}
	} else {
		s.out.Lock()
	}
	h := s.taken.Load()
	// Count the published cells from the head.
	lap, i := h/n, h%n
	k := 0
	for k < len(dst) {
		st := s.ring[i].state.Load()
		if st&(cellFull|cellParity) != cellFull|lap&cellParity {
			break
		}
		k++
		if i++; i == n {
			i, lap = 0, lap+1
		}
	}
	if k > 0 {
		found := k
		k = (found + div - 1) / div
		if found == len(dst) && k < found {
			// There may be more than found. (Workers read the tail only
			// then: its line is the submitters'.)
			queued := int(s.tail.Load() - h)
			k = min(found, (queued+div-1)/div)
		}
		s.copyOut(dst[:k], h)
		s.taken.Store(h + uint64(k))
	}
	s.out.Unlock()
	return k
}

// copyOut moves the tasks of tickets h, h+1, ... into dst and drops the
// ring's references to them for the GC. Their cells keep their state: its
// parity tells the next lap's workers it is stale.
func (s *shard[T]) copyOut(dst []slot[T], h uint64) {
	n := uint64(len(s.ring))
	i := h % n
	var zero T
	for j := range dst {
		cl := &s.ring[i]
		st := cl.state.Load()
		dst[j] = slot[T]{task: cl.task, enq: int64(st >> cellStampShift)}
		if st&cellWaited != 0 {
			dst[j].x, s.waited[i] = s.waited[i], nil
		}
		cl.task = zero
		if i++; i == n {
			i = 0
		}
	}
}

// empty reports whether no task is ready to take: the head's cell holds
// none.
func (s *shard[T]) empty() bool {
	for {
		h := s.taken.Load()
		if s.published(h) {
			return false
		}
		// The cell may have been taken (and refilled) since we read h.
		if s.taken.Load() == h {
			return true
		}
	}
}

// held returns the number of tasks taken and not yet started.
func (s *shard[T]) held() int {
	st := s.started.Load()
	return int(s.taken.Load() - st)
}

// close stops intake. After it returns no push succeeds and every accepted
// task is published, so the queued set only shrinks.
func (s *shard[T]) close() {
	end := s.tail.Close()
	// Wait for submitters that claimed a ticket before the mark.
	for c := s.taken.Load(); c < end; {
		if s.published(c) {
			c++
			continue
		}
		if h := s.taken.Load(); h > c {
			c = h // taken already, hence published
			continue
		}
		runtime.Gosched()
	}
}

// drain removes and appends every published task to out: after close,
// every queued task. They never start: their cells count as started, and
// their submitters, if they wait, hear that they were handed back.
func (s *shard[T]) drain(out []T) []T {
	s.out.Lock()
	h := s.taken.Load()
	c := h
	n := uint64(len(s.ring))
	var zero T
	for s.published(c) {
		cl := &s.ring[c%n]
		out = append(out, cl.task)
		cl.task = zero
		if cl.state.Load()&cellWaited != 0 {
			s.waited[c%n].finishReturned()
			s.waited[c%n] = nil
		}
		c++
	}
	s.taken.Store(c)
	s.started.Add(c - h)
	s.out.Unlock()
	return out
}

// queue is a bounded multi-producer, multi-consumer queue made of shards.
// Order is FIFO within a shard; across shards it is only roughly FIFO.
type queue[T any] struct {
	shards   []shard[T]
	capacity int
	// A worker takes 1/homeDiv of its home shard's tasks and 1/stealDiv of
	// a victim's (takeShares).
	homeDiv  atomic.Int32
	stealDiv atomic.Int32
	sampler  sampler
	set      *config.Settings
	// shed is the pool's load shedding controller, nil when off: while
	// it sheds, a submission goes to the shallower of two shards (see
	// shallower).
	shed *Shedder
}

// init sizes the queue as set says: set.QueueSize slots split as evenly
// as possible over set.Shards shards, for nworkers workers.
func (q *queue[T]) init(set *config.Settings, nworkers int, m *Meter) {
	nshards, capacity := set.Shards, set.QueueSize
	q.set = set
	q.shards = make([]shard[T], nshards)
	q.capacity = capacity
	q.setWorkers(nworkers)
	q.sampler = newSampler(&m.Clock, m.SampleEvery)
	for i := range q.shards {
		s := &q.shards[i]
		n := capacity / nshards
		if i < capacity%nshards {
			n++
		}
		s.ring = make([]cell[T], n)
		s.waited = make([]*Waiter, n)
		s.meter = &m.Shards[i]
		s.tail = &s.meter.Submitted
	}
}

// setWorkers adapts the batch sizes to nworkers workers.
func (q *queue[T]) setWorkers(nworkers int) {
	home, steal := takeShares(q.set, nworkers)
	q.homeDiv.Store(int32(home))
	q.stealDiv.Store(int32(steal))
}

// push puts t on a random shard, or on any shard with room if that one is
// full. It returns pushFull only when every shard is full.
func (q *queue[T]) push(t T) pushResult { return q.pushSoft(t, nil, 0) }

// pushWaited is push for a task with completion handle x (nil for none).
func (q *queue[T]) pushWaited(t T, x *Waiter) pushResult { return q.pushSoft(t, x, 0) }

// pushSoft is pushWaited counting each shard full once it holds soft
// tasks (0: its size).
func (q *queue[T]) pushSoft(t T, x *Waiter, soft uint64) pushResult {
	n := len(q.shards)
	if n == 1 {
		return q.shards[0].push(t, x, &q.sampler, false, soft)
	}
	i := RandN(n)
	if q.shed != nil && q.shed.on.Load() {
		i = q.shallower(i)
	}
	if r := q.shards[i].push(t, x, &q.sampler, true, soft); r == pushed || r == pushClosed {
		return r
	}
	return q.pushOthers(t, x, i, soft)
}

// shallower returns, of shard i and another picked at random, the one
// with fewer tasks waiting: the power of two choices. While the pool
// sheds, its admitted tasks' waits are held near a target, and a task
// waits behind its own shard's tasks; shards filled at random drift
// apart, which spreads the waits around their mean, and two choices
// keep the shards' depths close together at the cost of two loads.
func (q *queue[T]) shallower(i int) int {
	j := RandN(len(q.shards) - 1)
	if j >= i {
		j++
	}
	if q.shards[j].waiting() < q.shards[i].waiting() {
		return j
	}
	return i
}

// pushOthers is pushSoft when shard i was full or contended.
func (q *queue[T]) pushOthers(t T, x *Waiter, i int, soft uint64) pushResult {
	n := len(q.shards)
	// First pass: the other shards, moving on from one where another
	// submitter got in first.
	for j := 1; j < n; j++ {
		k := i + j
		if k >= n {
			k -= n
		}
		if r := q.shards[k].push(t, x, &q.sampler, true, soft); r == pushed || r == pushClosed {
			return r
		}
	}
	// Second pass: fails only if every shard is full.
	for j := range n {
		k := i + j
		if k >= n {
			k -= n
		}
		if r := q.shards[k].push(t, x, &q.sampler, false, soft); r != pushFull {
			return r
		}
	}
	return pushFull
}

// take fills dst from the home shard, or else steals from another shard,
// starting at a random one. It returns how many tasks it took and from
// which shard, to be released once they have all started.
func (q *queue[T]) take(home int, dst []slot[T]) (k, from int) {
	return q.takeFrom(home, dst, true)
}

// takeFrom is take; with skip set, it passes over a victim that another
// worker is taking from, else it waits for that worker to finish.
func (q *queue[T]) takeFrom(home int, dst []slot[T], skip bool) (k, from int) {
	if k := q.shards[home].pop(dst, int(q.homeDiv.Load()), false); k > 0 {
		return k, home
	}
	n := len(q.shards)
	if n == 1 {
		return 0, home
	}
	start := RandN(n)
	for j := range n {
		v := start + j
		if v >= n {
			v -= n
		}
		if v == home {
			continue
		}
		// A victim another worker is taking from is skipped, as a rule:
		// it is being served.
		if k := q.shards[v].pop(dst, int(q.stealDiv.Load()), skip); k > 0 {
			return k, v
		}
	}
	return 0, home
}

// release returns the capacity of k tasks taken from shard from that have
// started.
func (q *queue[T]) release(from, k int) {
	q.shards[from].started.Add(uint64(k))
}

// len returns the number of accepted tasks not yet started: queued, or
// taken by a worker that has not started them.
func (q *queue[T]) len() int {
	n := 0
	for i := range q.shards {
		s := &q.shards[i]
		st := s.started.Load() // before pushed, as in queued
		n += int(s.tail.Load() - st)
	}
	return n
}

// depth returns len and the number of tasks ever started (or handed
// back), together.
func (q *queue[T]) depth() (n int64, started uint64) {
	for i := range q.shards {
		s := &q.shards[i]
		st := s.started.Load() // before pushed, as in len
		n += int64(s.tail.Load() - st)
		started += st
	}
	return n, started
}

// holding reports whether workers hold tasks they took and have not
// started.
func (q *queue[T]) holding() bool {
	for i := range q.shards {
		if q.shards[i].held() > 0 {
			return true
		}
	}
	return false
}

// empty reports whether no task is queued.
func (q *queue[T]) empty() bool {
	for i := range q.shards {
		if !q.shards[i].empty() {
			return false
		}
	}
	return true
}

// close stops intake on every shard.
func (q *queue[T]) close() {
	for i := range q.shards {
		q.shards[i].close()
	}
}

// drain removes every queued task and appends it to out.
func (q *queue[T]) drain(out []T) []T {
	for i := range q.shards {
		out = q.shards[i].drain(out)
	}
	return out
}
