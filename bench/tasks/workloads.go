package tasks

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/poolgen/poolgen/runtime/poolimpl"
)

// The task types of workloads 3 to 8 (README.md's table). Like Tiny and
// Spin1us they are annotated as a user would annotate them.

//go:generate go run github.com/poolgen/poolgen/cmd/poolgen -type=Sleep,Payload32,Node,Timed,Item -output=workloads_pool.go

// Sleep is an I/O-like task: it blocks for D on a timer (time.Sleep), then
// counts its run.
//
//poolgen:pools fixed,dynamic
type Sleep struct {
	C *Counter
	D time.Duration
}

// Run sleeps for D and counts the task.
func (t Sleep) Run(ctx context.Context) error {
	time.Sleep(t.D)
	t.C.n.Add(1)
	return nil
}

// MemCounter counts the runs of Payload32 tasks and holds the gate they
// wait at: every Payload32 blocks in Run until the gate opens, so that a
// pool's workers are all busy and every further task waits in the pool.
type MemCounter struct {
	Counter
	sum  atomic.Uint64 // sum of the Seq of every run: exactly-once check
	gate chan struct{}
}

// NewMemCounter returns a counter whose gate is shut.
func NewMemCounter() *MemCounter { return &MemCounter{gate: make(chan struct{})} }

// Open opens the gate: every waiting and future Payload32 runs.
func (m *MemCounter) Open() { close(m.gate) }

// Sum returns the sum of the Seq of every task that ran.
func (m *MemCounter) Sum() uint64 { return m.sum.Load() }

// Payload32 is the task of the memory workload: 32 bytes in all (a
// pointer, a sequence number and 16 bytes of payload), so that the bytes
// a pool spends per queued task can be read against the task's own size.
//
//poolgen:pools fixed
type Payload32 struct {
	M    *MemCounter
	Seq  uint64
	A, B uint64
}

// Run waits for M's gate, then counts the task.
func (t Payload32) Run(ctx context.Context) error {
	<-t.M.gate
	t.M.sum.Add(t.Seq + t.A + t.B)
	t.M.n.Add(1)
	return nil
}

// Tree is one fork-join tree: its shape, what its leaves cost, how a node
// hands its children to the pool under test (Fork), and the counters of
// its nodes.
//
// A node stands for a subtree of Size nodes numbered in preorder from Lo.
// A node of Size 1 is a leaf and spins; any other node forks its children:
// the first covers (Size-1) - (Size-1)/Skew nodes and the second, if not
// empty, the other (Size-1)/Skew. Skew 2 gives a balanced binary tree
// (complete when Size is 2^k-1); Skew 8 a lopsided one, deep on the left.
// With Tail set, leaf costs are heavy-tailed: 1 leaf in 100 costs 100
// units, 9 in 100 cost 10, the rest 1 (by a hash of the leaf's number, so
// every run does the same work); a unit is LeafRounds spin rounds.
type Tree struct {
	C          Counter
	sum        atomic.Uint64 // sum of the Lo of every node run
	want       atomic.Int64  // node runs that complete the tree
	done       chan struct{} // receives when the tree is complete
	Fork       func(ctx context.Context, n Node)
	Skew       uint32
	LeafRounds int
	Tail       bool
}

// Root returns the root of a tree of size nodes, and arms Done for it.
func (t *Tree) Root(size uint32) Node {
	if t.done == nil {
		t.done = make(chan struct{}, 1)
	}
	t.want.Store(int64(size))
	return Node{T: t, Lo: 0, Size: size}
}

// Done receives once the node whose run completes the tree (the one that
// brings the count to the size given to Root) has run: waiting on it
// costs no CPU, which a polling waiter would take from the workers.
func (t *Tree) Done() <-chan struct{} { return t.done }

// Check reports whether every node of a tree of size nodes ran exactly
// once, as far as the counters can tell: as many runs as nodes, and the
// sum of their numbers is 0+1+...+(size-1).
func (t *Tree) Check(size uint32) bool {
	n := uint64(size)
	return t.C.Load() == int64(size) && t.sum.Load() == n*(n-1)/2
}

// Reset zeroes the counters for another run.
func (t *Tree) Reset() {
	t.C.n.Store(0)
	t.sum.Store(0)
}

// Node is a fork-join task: one node of a Tree.
//
//poolgen:pools fixed,stealing
type Node struct {
	T        *Tree
	Lo, Size uint32
}

// Run spins if the node is a leaf, or forks its children through T.Fork,
// then counts the node.
func (n Node) Run(ctx context.Context) error {
	t := n.T
	if n.Size <= 1 {
		rounds := t.LeafRounds
		if t.Tail {
			switch h := mix(n.Lo) % 100; {
			case h == 0:
				rounds *= 100
			case h < 10:
				rounds *= 10
			}
		}
		if spin(rounds) == 0 { // never true: keeps the result live
			t.C.n.Add(1 << 40)
		}
	} else {
		rest := n.Size - 1
		right := rest / t.Skew
		left := rest - right
		t.Fork(ctx, Node{T: t, Lo: n.Lo + 1, Size: left})
		if right > 0 {
			t.Fork(ctx, Node{T: t, Lo: n.Lo + 1 + left, Size: right})
		}
	}
	t.sum.Add(uint64(n.Lo))
	if t.C.n.Add(1) == t.want.Load() {
		select {
		case t.done <- struct{}{}:
		default:
		}
	}
	return nil
}

// mix is a cheap integer hash (from splitmix32).
func mix(x uint32) uint32 {
	x ^= x >> 16
	x *= 0x7feb352d
	x ^= x >> 15
	x *= 0x846ca68b
	x ^= x >> 16
	return x
}

// Recorder records when Timed tasks start, relative to their scheduled
// arrival and to their submission, per class, and checks that each task
// ran exactly once. Its clock is the monotonic time since the Recorder was
// made.
type Recorder struct {
	epoch time.Time
	// Wait[c] is start − scheduled arrival of class c's tasks; Sub[c] is
	// start − submission.
	Wait [NumClasses]poolimpl.Histogram
	Sub  [NumClasses]poolimpl.Histogram
	runs []atomic.Uint32 // by task ID
	// wait and sub hold each tracked task's two latencies exactly, by
	// task ID (Exact): the histograms' buckets are up to an eighth of a
	// power of two wide, as coarse as the ratios the tail bars compare.
	wait, sub []int64
	C         Counter
}

// NumClasses is the number of task classes a Recorder tells apart.
const NumClasses = 2

// NewRecorder returns a recorder that checks the runs of tasks with IDs
// below n (n may be 0: then only C counts).
func NewRecorder(n int) *Recorder {
	return &Recorder{epoch: time.Now(), runs: make([]atomic.Uint32, n), wait: make([]int64, n), sub: make([]int64, n)}
}

// Now returns the recorder's clock: nanoseconds since it was made.
func (r *Recorder) Now() int64 { return int64(time.Since(r.epoch)) }

// Missing returns the number of task IDs below n that did not run exactly
// once, and the first of them (-1 if none).
func (r *Recorder) Missing(n int) (bad, first int) {
	first = -1
	for i := range n {
		if r.runs[i].Load() != 1 {
			if first < 0 {
				first = i
			}
			bad++
		}
	}
	return bad, first
}

// Exact returns the latencies (start − scheduled arrival, start −
// submission) of the tasks with IDs below n, in ID order. Call it once
// they have all run (C counts them): each task's latencies are written
// before its count.
func (r *Recorder) Exact(n int) (wait, sub []time.Duration) {
	wait, sub = make([]time.Duration, n), make([]time.Duration, n)
	for i := range n {
		wait[i], sub[i] = time.Duration(r.wait[i]), time.Duration(r.sub[i])
	}
	return wait, sub
}

// Timed is the task of the latency and priority workloads: it records its
// start against its scheduled arrival (Sched) and its submission (Sub) on
// R, spins for N rounds, and counts its run. Class indexes R's histograms;
// Prio is its priority in a priority pool (higher first).
//
//poolgen:pools fixed,dynamic,priority,stealing
type Timed struct {
	R     *Recorder
	Sched int64 // scheduled arrival, on R's clock
	Sub   int64 // submission, on R's clock
	ID    uint32
	Class uint8
	Prio  int64
	N     int
}

// Priority returns Prio: the generic PriorityPool reads a task's priority
// through this method.
func (t Timed) Priority() int64 { return t.Prio }

// Run records the start, spins and counts the task.
func (t Timed) Run(ctx context.Context) error {
	r := t.R
	now := r.Now()
	r.Wait[t.Class].Record(time.Duration(now - t.Sched))
	r.Sub[t.Class].Record(time.Duration(now - t.Sub))
	if int(t.ID) < len(r.runs) { // else not tracked (capacity probes)
		r.wait[t.ID], r.sub[t.ID] = now-t.Sched, now-t.Sub
		r.runs[t.ID].Add(1)
	}
	if t.N > 0 && spin(t.N) == 0 { // never true
		r.C.n.Add(1 << 40)
	}
	r.C.n.Add(1)
	return nil
}

// Item is one item of the batch workload. It has no Run: batch pools hand
// whole batches to HandleItems, and the peers (which do not batch) get
// items grouped by the submitter. Every item has the same key.
//
//poolgen:pools batch
//poolgen:batch HandleItems
type Item struct {
	C *ItemCounter
	V uint64
}

// BatchKey puts every item in one group.
func (Item) BatchKey() struct{} { return struct{}{} }

// ItemCounter counts the items HandleItems processed and the calls it
// got.
type ItemCounter struct {
	Counter
	calls atomic.Int64
	sum   atomic.Uint64
}

// Calls returns the number of HandleItems calls so far.
func (c *ItemCounter) Calls() int64 { return c.calls.Load() }

// Sum returns the sum of the V of every item processed.
func (c *ItemCounter) Sum() uint64 { return c.sum.Load() }

// HandleItems processes one batch of items: a few nanoseconds of
// arithmetic per item, then one count for the whole batch. The slice is
// not kept.
func HandleItems(ctx context.Context, batch []Item) error {
	if len(batch) == 0 {
		return nil
	}
	var s uint64
	for _, it := range batch {
		s += it.V
	}
	c := batch[0].C
	c.sum.Add(s)
	c.calls.Add(1)
	c.n.Add(int64(len(batch)))
	return nil
}
