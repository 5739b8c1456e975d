package templates

import (
	"sync"
	"sync/atomic"

	poolrt "github.com/poolgen/poolgen/runtime"
)

// maxBatch bounds how many tasks a worker takes from a shard under one lock
// acquisition. Taking tasks in batches is the biggest single lever on the
// per-task cost (one lock round trip for up to maxBatch tasks); the bound
// keeps a batch from hiding work that other workers could run.
const maxBatch = 32

// slot is a queued task and, for sampled tasks, its submit time.
type slot[T any] struct {
	task T
	enq  int64 // poolrt.Clock stamp; 0 when this task is not timed
}

// shard is one bounded FIFO ring of a sharded queue. Submitters spread over
// the shards at random and each worker has a home shard, so no single lock
// or cache line carries all submissions.
type shard[T any] struct {
	_      [poolrt.CacheLinePad]byte
	mu     sync.Mutex
	closed bool
	head   int // index of the oldest task in buf
	n      int // number of queued tasks
	tick   int // countdown to the next timed task
	buf    []slot[T]
	size   atomic.Int32 // n, for lock-free emptiness checks
	// heldHint is held as of the last look under mu, plus what was taken
	// since: never below held (workers only lower it), so a push that
	// fits by the hint fits for real, and the submitter reads held's
	// cache line only when the shard looks full.
	heldHint int
	meter    *poolrt.ShardMeter
	_        [poolrt.CacheLinePad]byte
	// held counts tasks workers took from this shard and have not started
	// yet. They still count against the capacity, so that QueueSize bounds
	// every accepted task not yet started, not just those in the ring.
	// Workers release each task as it starts; held has a cache line of its
	// own so that those releases do not contend with the lock.
	held atomic.Int32
}

type pushResult uint8

const (
	pushed pushResult = iota
	pushFull
	pushClosed
	pushBusy // tryPush only: the shard was locked
)

// push appends t unless the shard is full or closed.
func (s *shard[T]) push(t T, clk *poolrt.Clock, every int) pushResult {
	s.mu.Lock()
	return s.pushLocked(t, clk, every)
}

// tryPush is push, unless the shard's lock is held: then it reports
// pushBusy at once, and the submitter tries another shard rather than queue
// up behind a worker taking a batch.
func (s *shard[T]) tryPush(t T, clk *poolrt.Clock, every int) pushResult {
	if !s.mu.TryLock() {
		return pushBusy
	}
	return s.pushLocked(t, clk, every)
}

func (s *shard[T]) pushLocked(t T, clk *poolrt.Clock, every int) pushResult {
	if s.closed {
		s.mu.Unlock()
		return pushClosed
	}
	if s.n+s.heldHint >= len(s.buf) {
		// Maybe full: look at what workers have released since.
		s.heldHint = int(s.held.Load())
		if s.n+s.heldHint >= len(s.buf) {
			s.mu.Unlock()
			return pushFull
		}
	}
	i := s.head + s.n
	if i >= len(s.buf) {
		i -= len(s.buf)
	}
	s.buf[i].task = t
	if every > 0 {
		if s.tick--; s.tick <= 0 {
			s.tick = every
			s.buf[i].enq = clk.Now()
		}
	}
	s.n++
	s.size.Store(int32(s.n))
	s.meter.Submitted.Add(1) // under s.mu: single writer
	s.mu.Unlock()
	return pushed
}

// pop moves up to len(dst) of the oldest tasks into dst, taking at most
// 1/div of what is queued (rounded up), and returns how many it moved. The
// caller must release each (queue.release) as it starts it.
func (s *shard[T]) pop(dst []slot[T], div int) int {
	if s.size.Load() == 0 {
		return 0
	}
	s.mu.Lock()
	k := min(len(dst), (s.n+div-1)/div)
	if k == 0 {
		s.mu.Unlock()
		return 0
	}
	first := min(k, len(s.buf)-s.head)
	copy(dst, s.buf[s.head:s.head+first])
	clear(s.buf[s.head : s.head+first]) // drop references for the GC
	if first < k {
		copy(dst[first:k], s.buf[:k-first])
		clear(s.buf[:k-first])
	}
	s.head += k
	if s.head >= len(s.buf) {
		s.head -= len(s.buf)
	}
	s.n -= k
	s.size.Store(int32(s.n))
	s.held.Add(int32(k))
	s.heldHint += k
	s.mu.Unlock()
	return k
}

// close stops intake. After it returns no push succeeds, so the queued set
// only shrinks.
func (s *shard[T]) close() {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
}

// drain removes and appends every queued task to out.
func (s *shard[T]) drain(out []T) []T {
	s.mu.Lock()
	for ; s.n > 0; s.n-- {
		out = append(out, s.buf[s.head].task)
		s.buf[s.head] = slot[T]{}
		if s.head++; s.head == len(s.buf) {
			s.head = 0
		}
	}
	s.size.Store(0)
	s.mu.Unlock()
	return out
}

// queue is a bounded multi-producer, multi-consumer queue made of shards.
// Order is FIFO within a shard; across shards it is only roughly FIFO.
type queue[T any] struct {
	shards   []shard[T]
	capacity int
	// A worker takes 1/homeDiv of its home shard's tasks and 1/stealDiv of
	// a victim's, so that a batch never hides from idle workers tasks they
	// could run: half when each shard has one worker, less when workers
	// share shards, everything when there is a single worker.
	homeDiv  atomic.Int32
	stealDiv atomic.Int32
	clock    *poolrt.Clock
	every    int // latency sampling period, 0 = off
}

// init sizes the queue: capacity slots split as evenly as possible over
// nshards shards, for nworkers workers.
func (q *queue[T]) init(capacity, nshards, nworkers int, m *poolrt.Meter) {
	q.shards = make([]shard[T], nshards)
	q.capacity = capacity
	q.setWorkers(nworkers)
	q.clock = &m.Clock
	q.every = m.SampleEvery
	for i := range q.shards {
		s := &q.shards[i]
		n := capacity / nshards
		if i < capacity%nshards {
			n++
		}
		s.buf = make([]slot[T], n)
		s.tick = 1 // time the first task of each shard
		s.meter = &m.Shards[i]
	}
}

// setWorkers adapts the batch sizes to nworkers workers.
func (q *queue[T]) setWorkers(nworkers int) {
	nshards := len(q.shards)
	share := max(1, (nworkers+nshards-1)/nshards) // workers per shard
	home := share + 1
	if nworkers <= 1 {
		home = 1
	}
	q.homeDiv.Store(int32(home))
	q.stealDiv.Store(int32(max(2, share)))
}

// push puts t on a random shard, or on any shard with room if that one is
// full. It returns pushFull only when every shard is full.
func (q *queue[T]) push(t T) pushResult {
	n := len(q.shards)
	i := 0
	if n > 1 {
		i = poolrt.RandN(n)
	}
	if n == 1 {
		return q.shards[0].push(t, q.clock, q.every)
	}
	// First pass: skip shards whose lock is held.
	for j := range n {
		k := i + j
		if k >= n {
			k -= n
		}
		if r := q.shards[k].tryPush(t, q.clock, q.every); r == pushed || r == pushClosed {
			return r
		}
	}
	// Second pass: wait for locks; fails only if every shard is full.
	for j := range n {
		k := i + j
		if k >= n {
			k -= n
		}
		if r := q.shards[k].push(t, q.clock, q.every); r != pushFull {
			return r
		}
	}
	return pushFull
}

// take fills dst from the home shard, or else steals from another shard,
// starting at a random one. It returns how many tasks it took and from
// which shard, to be released once they have all started.
func (q *queue[T]) take(home int, dst []slot[T]) (k, from int) {
	if k := q.shards[home].pop(dst, int(q.homeDiv.Load())); k > 0 {
		return k, home
	}
	n := len(q.shards)
	if n == 1 {
		return 0, home
	}
	start := poolrt.RandN(n)
	for j := range n {
		v := start + j
		if v >= n {
			v -= n
		}
		if v == home {
			continue
		}
		if k := q.shards[v].pop(dst, int(q.stealDiv.Load())); k > 0 {
			return k, v
		}
	}
	return 0, home
}

// release returns the capacity of k tasks taken from shard from that have
// started.
func (q *queue[T]) release(from, k int) {
	q.shards[from].held.Add(-int32(k))
}

// len returns the number of accepted tasks not yet started: queued, or
// taken by a worker that has not started them.
func (q *queue[T]) len() int {
	n := 0
	for i := range q.shards {
		n += int(q.shards[i].size.Load()) + int(q.shards[i].held.Load())
	}
	return max(n, 0)
}

// empty reports whether no task is queued.
func (q *queue[T]) empty() bool {
	for i := range q.shards {
		if q.shards[i].size.Load() != 0 {
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
