package poolimpl

import (
	"runtime"
	"sync/atomic"
)

// A deque is a worker's bounded, lock-free double-ended queue of tasks,
// held by value, in the style of the standard library's sync/poolqueue.go.
//
// Producers push at the head; they are serialized by a gate (below), so
// at most one pushes at a time. The worker that owns the deque pops at the
// head (newest first: a forked subtask runs while its data is still in
// cache). Thieves take the oldest half at the tail. Every consumer claims
// positions with one compare-and-swap on headTail, which packs both ends,
// so a pop and a steal can never claim the same position, and a thief
// claims a whole batch in one operation.
//
// # Memory ordering
//
// A slot's task is read and written with plain memory operations; the
// atomics around them order every access (the race detector checks this):
//
//   - Publication. A producer writes the slot, then moves head with a
//     compare-and-swap (or an add) on headTail. A consumer claims the
//     position with a compare-and-swap on headTail that observed the new
//     head, so the producer's writes happen before the consumer's reads.
//   - Reclamation. Claiming a position does not end the consumer's use of
//     the slot: it still copies the task out. The slot's full flag says so.
//     The consumer copies the task, clears the slot (no stale pointers for
//     the garbage collector) and only then stores 0 in full. A producer
//     reads full atomically before it writes a slot and treats a full slot
//     as a full deque. So the consumer's reads happen before the next
//     producer's writes: the owner never overwrites a slot a thief is still
//     copying from, however slowly the thief runs.
//   - Exclusive claims. Positions [tail, head) are the queued tasks. A pop
//     moves head down by one, a steal moves tail up by k; each is a
//     compare-and-swap of the whole word, so of two racing claims one
//     fails and retries on the new word. A producer writes only slots at
//     or above position head, which no consumer can claim until the
//     producer publishes them.
//
// Positions are 32-bit counters that wrap; head-tail is computed modulo
// 2^32 and never exceeds the capacity (at most MaxDequeSize, far below
// 2^31), so wrapping is harmless. A compare-and-swap could in principle
// succeed on a word that has gone all the way round (ABA), but only after
// 2^32 operations between a thief's load and its compare-and-swap.
//
// # The producer gate
//
// The deque has a single producer end, but Fork may be called with a
// worker's context from any goroutine the task started, at any time. The
// gate, a word next to headTail, makes that safe: a producer takes it with
// one compare-and-swap and releases it with a store, and a producer that
// finds it taken does not wait (Fork then uses the shared queue).
// Producers publish with a compare-and-swap rather than an add because the
// owner pops without the gate: a push that loses a race with a pop retries
// at the new head. The owner's own batch moves (from the shared queue or a
// victim) hold the gate too, and publish with an add: the owner cannot pop
// while it is moving a batch. ShutdownNow and the end of a Shutdown close
// the gate for good, so that no push lands in a deque nobody will drain.
type deque[T any] struct {
	_ [CacheLinePad]byte
	// headTail: head in the high 32 bits, tail in the low 32 bits. The
	// word and the gate share a cache line: the owner writes both on
	// every push, and thieves read headTail on every steal attempt.
	headTail atomic.Uint64
	gate     atomic.Uint32
	// tick counts down to the next fork whose submit time is recorded
	// (latency sampling); written only by the gate's holder.
	tick int
	// slots and mask never change after init and every party reads them
	// on every operation: a line of their own, away from the writes to
	// headTail and gate.
	_     [CacheLinePad]byte
	slots []dequeSlot[T]
	mask  uint32
	_     [CacheLinePad]byte // and away from what follows the deque
}

// dequeSlot is one position's storage: the task by value, plus 24 bytes.
// x is the completion handle of a submitted task (SubmitWait) that a
// worker moved from the injector into its deque; nil for forks, and
// cleared by take, so that push never writes it.
// full is accessed with sync/atomic by consumers (store 0) and producers
// (load); producers set it with a plain store, which is ordered after the
// consumer's store they observed and before the publishing
// compare-and-swap.
type dequeSlot[T any] struct {
	full uint32
	meta uint32 // see taskMeta
	enq  int64  // config.Clock stamp of the submit, or 0: not timed
	x    *Waiter
	task T
}

// Gate states.
const (
	gateOpen   = 0
	gateHeld   = 1
	gateClosed = 2
)

// taskMeta travels with a task through deques. Bits 0-29 hold the shared
// queue shard the task was taken from, plus one (0: the task was forked);
// the task still counts against that shard's capacity until it starts.
// metaStolen marks a task a worker stole from another worker's deque.
const (
	metaShard  = 1<<30 - 1
	metaStolen = 1 << 31
)

const dequeBits = 32

func unpackDeque(ht uint64) (head, tail uint32) {
	return uint32(ht >> dequeBits), uint32(ht)
}

func packDeque(head, tail uint32) uint64 {
	return uint64(head)<<dequeBits | uint64(tail)
}

// init allocates size slots; size is a power of two.
func (d *deque[T]) init(size int) {
	d.slots = make([]dequeSlot[T], size)
	d.mask = uint32(size - 1)
	d.tick = 1
}

// size returns the number of queued tasks; a hint while others run.
func (d *deque[T]) size() int {
	head, tail := unpackDeque(d.headTail.Load())
	return int(head - tail)
}

// empty reports whether no task is queued; a hint while others run.
func (d *deque[T]) empty() bool {
	head, tail := unpackDeque(d.headTail.Load())
	return head == tail
}

// acquire takes the producer gate if it is open. It never waits.
func (d *deque[T]) acquire() bool { return d.gate.CompareAndSwap(gateOpen, gateHeld) }

// release opens the gate the caller holds.
func (d *deque[T]) release() { d.gate.Store(gateOpen) }

// hold takes the producer gate, waiting for a producer that holds it to
// let go (a push takes nanoseconds, so it yields rather than parks). It
// reports false if the gate is closed.
func (d *deque[T]) hold() bool {
	for {
		if d.acquire() {
			return true
		}
		if d.gate.Load() == gateClosed {
			return false
		}
		runtime.Gosched()
	}
}

// close closes the gate for good; the caller holds it (or it is closed).
func (d *deque[T]) close() { d.gate.Store(gateClosed) }

// push adds a task at the head. The caller holds the gate; the owner may
// be popping concurrently. It reports false when the deque is full, or
// when the slot at the head is still being copied out by a consumer.
func (d *deque[T]) push(t *T, x *Waiter, meta uint32, enq int64) bool {
	for {
		ptrs := d.headTail.Load()
		head, tail := unpackDeque(ptrs)
		if head-tail > d.mask {
			return false // full
		}
		s := &d.slots[head&d.mask]
		if atomic.LoadUint32(&s.full) != 0 {
			return false // a consumer still copies the previous task out
		}
		s.task, s.x, s.meta, s.enq, s.full = *t, x, meta, enq, 1
		if d.headTail.CompareAndSwap(ptrs, packDeque(head+1, tail)) {
			return true
		}
		// A consumer moved an end. The slot was never published: take it
		// back (nobody else can have seen it) and retry on the new word.
		var zero T
		s.task, s.x, s.full = zero, nil, 0
	}
}

// pop takes the newest task into *dst, and its completion handle into
// *x unless x is nil. Only the deque's owner calls it.
func (d *deque[T]) pop(dst *T, x **Waiter) (meta uint32, enq int64, ok bool) {
	for {
		ptrs := d.headTail.Load()
		head, tail := unpackDeque(ptrs)
		if head == tail {
			return 0, 0, false
		}
		head--
		if d.headTail.CompareAndSwap(ptrs, packDeque(head, tail)) {
			s := &d.slots[head&d.mask]
			return s.take(dst, x)
		}
	}
}

// take copies the slot's task into *dst (and its completion handle into
// *x unless x is nil) and frees the slot: the last thing a consumer does
// with it.
func (s *dequeSlot[T]) take(dst *T, x **Waiter) (meta uint32, enq int64, ok bool) {
	var zero T
	*dst, meta, enq = s.task, s.meta, s.enq
	if s.x != nil {
		if x != nil {
			*x = s.x
		}
		s.x = nil
	}
	s.task = zero
	atomic.StoreUint32(&s.full, 0)
	return meta, enq, true
}

// room returns how many tasks, up to max, the owner can add at the head
// now: free positions whose slots no consumer still holds. The caller
// holds the gate and is the owner, so the count can only grow until it
// adds them (thieves only take).
func (d *deque[T]) room(max int) int {
	head, tail := unpackDeque(d.headTail.Load())
	n := min(max, int(d.mask+1-(head-tail)))
	for i := range n {
		if atomic.LoadUint32(&d.slots[(head+uint32(i))&d.mask].full) != 0 {
			return i
		}
	}
	return n
}

// put writes a task i positions above the head, unpublished; the caller
// holds the gate, is the owner and checked room. publish makes the tasks
// put so far visible.
func (d *deque[T]) put(i int, t *T, x *Waiter, meta uint32, enq int64) {
	head, _ := unpackDeque(d.headTail.Load())
	s := &d.slots[(head+uint32(i))&d.mask]
	s.task, s.x, s.meta, s.enq, s.full = *t, x, meta, enq, 1
}

// publish moves the head up by n over tasks written with put. An add, not
// a compare-and-swap: only the owner moves the head up or down, and it is
// busy here; thieves move the tail, which the add leaves alone.
func (d *deque[T]) publish(n int) {
	d.headTail.Add(uint64(n) << dequeBits)
}

// steal moves about half of d's tasks, oldest first and at most max
// (≥ 1), to the owner's deque dst. The newest task it took goes into
// *cur instead of dst, to be run at once; the others go into dst, whose
// gate the caller holds, and which has room for them (dst.room). With
// max 1, dst is left alone. The newest task's completion handle goes into
// *curX (which the caller has cleared). It returns how many tasks it
// took, 0 if d was empty.
func (d *deque[T]) steal(dst *deque[T], max int, cur *T, curX **Waiter) (n int, meta uint32, enq int64) {
	for {
		ptrs := d.headTail.Load()
		head, tail := unpackDeque(ptrs)
		queued := head - tail
		if queued == 0 {
			return 0, 0, 0
		}
		n = min(int(queued-queued/2), max)
		if !d.headTail.CompareAndSwap(ptrs, packDeque(head, tail+uint32(n))) {
			continue
		}
		for i := range n - 1 {
			s := &d.slots[(tail+uint32(i))&d.mask]
			dst.put(i, &s.task, s.x, s.meta|metaStolen, s.enq)
			var zero T
			s.task, s.x = zero, nil
			atomic.StoreUint32(&s.full, 0)
		}
		meta, enq, _ = d.slots[(tail+uint32(n-1))&d.mask].take(cur, curX)
		if n > 1 {
			dst.publish(n - 1)
		}
		return n, meta | metaStolen, enq
	}
}

// popTail takes the oldest task into *dst (and its completion handle into
// *x unless x is nil), as a thief would, but for the caller: ShutdownNow,
// which hands tasks back oldest first, and tests.
func (d *deque[T]) popTail(dst *T, x **Waiter) (meta uint32, enq int64, ok bool) {
	for {
		ptrs := d.headTail.Load()
		head, tail := unpackDeque(ptrs)
		if head == tail {
			return 0, 0, false
		}
		if d.headTail.CompareAndSwap(ptrs, packDeque(head, tail+1)) {
			return d.slots[tail&d.mask].take(dst, x)
		}
	}
}
