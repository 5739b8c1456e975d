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
//
// The ring has two ends, each with its own lock and cache lines: submitters
// append under in, workers take batches under out. A worker never waits for
// a submitter's lock nor a submitter for a worker's (with one lock, workers
// spent a fifth of their time spinning on a submitter's); the ends share
// only the counters that say how far each has come.
type shard[T any] struct {
	_ [poolrt.CacheLinePad]byte
	// The submitters' end.
	in     sync.Mutex
	closed bool
	tail   int // index in inBuf of the next push
	tick   int // countdown to the next timed task
	// startedHint is started as of the last look under in: never above
	// it (started only grows), so a push that fits by the hint fits for
	// real, and submitters read started's cache line only when the shard
	// looks full.
	startedHint uint64
	inBuf       []slot[T]
	// pushed counts the tasks ever accepted, the ring's tail as a ticket.
	// It is the shard meter's Submitted counter (one count, not two),
	// written under in only.
	pushed *poolrt.Counter
	_      [poolrt.CacheLinePad]byte
	// The workers' end.
	out    sync.Mutex
	head   int // index in outBuf of the oldest queued task
	outBuf []slot[T]
	// taken counts the tasks ever taken, the ring's head as a ticket;
	// written under out, read by anyone: pushed-taken tasks are queued.
	taken atomic.Uint64
	meter *poolrt.ShardMeter // &meter.Submitted is pushed
	_     [poolrt.CacheLinePad]byte
	// started counts taken tasks that started, or that ShutdownNow handed
	// back. A task taken but not started still holds its slot: pushed-
	// started bounds every accepted task not yet started, so QueueSize is
	// exact; and since started ≤ taken, a push never reuses a slot whose
	// task a worker has not copied out. Workers add to it as each task
	// starts, on a line of its own so that the adds contend with neither
	// end.
	started atomic.Uint64
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
	s.in.Lock()
	return s.pushLocked(t, clk, every)
}

// tryPush is push, unless another submitter holds the shard: then it
// reports pushBusy at once, and the submitter tries another shard rather
// than queue up behind it.
func (s *shard[T]) tryPush(t T, clk *poolrt.Clock, every int) pushResult {
	if !s.in.TryLock() {
		return pushBusy
	}
	return s.pushLocked(t, clk, every)
}

func (s *shard[T]) pushLocked(t T, clk *poolrt.Clock, every int) pushResult {
	if s.closed {
		s.in.Unlock()
		return pushClosed
	}
	n := s.pushed.Load()
	if n-s.startedHint >= uint64(len(s.inBuf)) {
		// Maybe full: look at what workers have started since.
		s.startedHint = s.started.Load()
		if n-s.startedHint >= uint64(len(s.inBuf)) {
			s.in.Unlock()
			return pushFull
		}
	}
	i := s.tail
	s.inBuf[i].task = t
	if every > 0 {
		if s.tick--; s.tick <= 0 {
			s.tick = every
			s.inBuf[i].enq = clk.Now()
		}
	}
	if s.tail++; s.tail == len(s.inBuf) {
		s.tail = 0
	}
	// Publishes the slot: workers read pushed before they read slots.
	s.pushed.Add(1)
	s.in.Unlock()
	return pushed
}

// pop moves up to len(dst) of the oldest tasks into dst, taking at most
// 1/div of what is queued (rounded up), and returns how many it moved. The
// caller must release each (queue.release) as it starts it. With try set,
// it gives up at once if another worker is taking from the shard.
func (s *shard[T]) pop(dst []slot[T], div int, try bool) int {
	pushed := &s.meter.Submitted
	if s.taken.Load() == pushed.Load() {
		return 0
	}
	if try {
		if !s.out.TryLock() {
			return 0
		}
	} else {
		s.out.Lock()
	}
	h := s.taken.Load()
	k := min(len(dst), (int(pushed.Load()-h)+div-1)/div)
	if k == 0 {
		s.out.Unlock()
		return 0
	}
	first := min(k, len(s.outBuf)-s.head)
	copy(dst, s.outBuf[s.head:s.head+first])
	clear(s.outBuf[s.head : s.head+first]) // drop references for the GC
	if first < k {
		copy(dst[first:k], s.outBuf[:k-first])
		clear(s.outBuf[:k-first])
	}
	s.head += k
	if s.head >= len(s.outBuf) {
		s.head -= len(s.outBuf)
	}
	s.taken.Store(h + uint64(k))
	s.out.Unlock()
	return k
}

// queued returns the number of tasks in the ring. (Each count is read
// before the one that runs ahead of it, so that the difference cannot go
// negative.)
func (s *shard[T]) queued() int {
	h := s.taken.Load()
	return int(s.meter.Submitted.Load() - h)
}

// held returns the number of tasks taken and not yet started.
func (s *shard[T]) held() int {
	st := s.started.Load()
	return int(s.taken.Load() - st)
}

// close stops intake. After it returns no push succeeds, so the queued set
// only shrinks.
func (s *shard[T]) close() {
	s.in.Lock()
	s.closed = true
	s.in.Unlock()
}

// drain removes and appends every queued task to out. They never start:
// their slots count as started. Call it only after close.
func (s *shard[T]) drain(out []T) []T {
	s.out.Lock()
	h := s.taken.Load()
	n := int(s.meter.Submitted.Load() - h)
	for range n {
		out = append(out, s.outBuf[s.head].task)
		s.outBuf[s.head] = slot[T]{}
		if s.head++; s.head == len(s.outBuf) {
			s.head = 0
		}
	}
	s.taken.Store(h + uint64(n))
	s.started.Add(uint64(n))
	s.out.Unlock()
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
		buf := make([]slot[T], n)
		s.inBuf, s.outBuf = buf, buf
		s.tick = 1 // time the first task of each shard
		s.meter = &m.Shards[i]
		s.pushed = &s.meter.Submitted
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
	if k := q.shards[home].pop(dst, int(q.homeDiv.Load()), false); k > 0 {
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
		// A victim another worker is taking from is skipped: it is being
		// served.
		if k := q.shards[v].pop(dst, int(q.stealDiv.Load()), true); k > 0 {
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
		n += int(s.meter.Submitted.Load() - st)
	}
	return n
}

// empty reports whether no task is queued.
func (q *queue[T]) empty() bool {
	for i := range q.shards {
		if q.shards[i].queued() != 0 {
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
