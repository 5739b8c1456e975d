package poolimpl

import (
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	poolrt "github.com/poolgen/poolgen/runtime"
	"github.com/poolgen/poolgen/runtime/internal/config"
)

// queueModel is the reference for a queue[int]: each shard is a FIFO of
// the values it holds. Which shard a push lands on is random, so the model
// learns it from the one shard whose size grew and then checks that
// shard's contents.
type queueModel struct {
	t        *testing.T
	q        *queue[int]
	m        *Meter
	every    int
	shards   [][]int      // queued values per shard, oldest first
	held     []int        // per shard: taken, not yet released
	batches  [][2]int     // taken batches not yet released: {shard, size}
	pushes   []uint64     // accepted pushes per shard
	timed    map[int]bool // value → its slot carries a submit time
	closed   bool
	next     int         // next value to push; values start at 1 so that 0 marks an empty slot
	accepted int         // values pushed successfully
	out      map[int]int // value → times it came out (take or drain)
}

// total returns the number of queued tasks.
func (md *queueModel) total() int {
	n := 0
	for _, s := range md.shards {
		n += len(s)
	}
	return n
}

// occupied returns the capacity in use: queued tasks plus tasks taken but
// not released.
func (md *queueModel) occupied() int {
	n := md.total()
	for _, h := range md.held {
		n += h
	}
	return n
}

func (md *queueModel) sizes() []int {
	out := make([]int, len(md.q.shards))
	for i := range md.q.shards {
		out[i] = md.q.shards[i].queued()
	}
	return out
}

// check compares the whole queue with the model: every shard's live window
// holds exactly the model's values in FIFO order, every other slot is
// zeroed (no stale references for the GC), and the counters agree.
func (md *queueModel) check(op string) {
	t := md.t
	t.Helper()
	q := md.q
	for j := range q.shards {
		s := &q.shards[j]
		want := md.shards[j]
		if s.queued() != len(want) {
			t.Fatalf("after %s: shard %d holds %d, model %d", op, j, s.queued(), len(want))
		}
		n := len(s.ring)
		head := int(s.taken.Load())
		for i := range s.ring {
			// The ticket this cell holds or will hold next: the head's
			// cell and the n-1 after it.
			off := i - head%n
			if off < 0 {
				off += n
			}
			c := uint64(head + off)
			cl := &s.ring[i]
			if off < len(want) {
				if !s.published(c) {
					t.Fatalf("after %s: shard %d ticket %d (position %d) not published: state %#x", op, j, c, off, cl.state.Load())
				}
				if cl.task != want[off] {
					t.Fatalf("after %s: shard %d position %d holds %d, model %d (FIFO order broken)", op, j, off, cl.task, want[off])
				}
				if timed := cl.state.Load()>>cellStampShift != 0; timed != md.timed[cl.task] {
					t.Fatalf("after %s: shard %d value %d timed = %v, want %v", op, j, cl.task, timed, md.timed[cl.task])
				}
			} else {
				if s.published(c) {
					t.Fatalf("after %s: shard %d free cell %d reads as holding ticket %d: state %#x", op, j, i, c, cl.state.Load())
				}
				if cl.task != 0 {
					t.Fatalf("after %s: shard %d free cell %d still holds task %d", op, j, i, cl.task)
				}
			}
		}
		if got := s.held(); got != md.held[j] {
			t.Fatalf("after %s: shard %d held = %d, model %d", op, j, got, md.held[j])
		}
		if s.queued()+s.held() > n {
			t.Fatalf("after %s: shard %d holds %d queued + %d taken > its %d slots", op, j, s.queued(), s.held(), n)
		}
		if got := md.m.Shards[j].Submitted.Load(); got != md.pushes[j] {
			t.Fatalf("after %s: shard %d Submitted = %d, want %d", op, j, got, md.pushes[j])
		}
	}
	// len counts every accepted task not yet started (queued or held);
	// empty looks at the queued ones only.
	if total, occ := md.total(), md.occupied(); q.len() != occ || q.empty() != (total == 0) {
		t.Fatalf("after %s: len() = %d, empty() = %v; model holds %d queued, %d in all", op, q.len(), q.empty(), total, occ)
	}
}

func (md *queueModel) push() {
	t := md.t
	t.Helper()
	v := md.next
	md.next++
	before := md.sizes()
	r := md.q.push(v)
	switch {
	case md.closed:
		if r != pushClosed {
			t.Fatalf("push(%d) after close = %v, want pushClosed", v, r)
		}
	case md.occupied() == md.q.capacity:
		if r != pushFull {
			t.Fatalf("push(%d) with %d of %d slots in use = %v, want pushFull", v, md.occupied(), md.q.capacity, r)
		}
	default:
		if r != pushed {
			t.Fatalf("push(%d) with %d of %d slots in use = %v, want pushed", v, md.occupied(), md.q.capacity, r)
		}
	}
	after := md.sizes()
	grew := -1
	for j := range after {
		switch d := after[j] - before[j]; {
		case d == 1 && grew < 0 && r == pushed:
			grew = j
		case d != 0:
			t.Fatalf("push(%d) = %v changed shard %d from %d to %d", v, r, j, before[j], after[j])
		}
	}
	if r != pushed {
		return
	}
	if grew < 0 {
		t.Fatalf("push(%d) reported pushed but no shard grew", v)
	}
	md.shards[grew] = append(md.shards[grew], v)
	md.pushes[grew]++
	// Each shard times its first task and then one in every `every`.
	md.timed[v] = md.every > 0 && (md.pushes[grew]-1)%uint64(md.every) == 0
	md.accepted++
}

func (md *queueModel) take(home int, dst []slot[int]) {
	t := md.t
	t.Helper()
	before := md.sizes()
	k, fromGot := md.q.take(home, dst)
	if md.total() == 0 {
		if k != 0 {
			t.Fatalf("take(%d) from an empty queue returned %d", home, k)
		}
		return
	}
	if k <= 0 || k > len(dst) {
		t.Fatalf("take(%d, len %d) = %d with %d queued, want 1..%d", home, len(dst), k, md.total(), len(dst))
	}
	after := md.sizes()
	from := -1
	for j := range after {
		switch d := before[j] - after[j]; {
		case d == k && from < 0:
			from = j
		case d != 0:
			t.Fatalf("take(%d) = %d changed shard %d from %d to %d", home, k, j, before[j], after[j])
		}
	}
	if from < 0 {
		t.Fatalf("take(%d) = %d but no shard shrank by %d", home, k, k)
	}
	if fromGot != from {
		t.Fatalf("take(%d) reports shard %d, but took from shard %d", home, fromGot, from)
	}
	// The home shard first, taking 1/homeDiv of it; else a steal, taking
	// 1/stealDiv of the victim's tasks.
	div := int(md.q.homeDiv.Load())
	if len(md.shards[home]) > 0 {
		if from != home {
			t.Fatalf("take(%d) took from shard %d while the home shard holds %d", home, from, len(md.shards[home]))
		}
	} else {
		div = int(md.q.stealDiv.Load())
	}
	nb := len(md.shards[from])
	if want := min(len(dst), (nb+div-1)/div); k != want {
		t.Fatalf("take(%d, len %d) took %d of %d from shard %d (1/%d), want %d", home, len(dst), k, nb, from, div, want)
	}
	for i := range k {
		v := dst[i].task
		if v != md.shards[from][i] {
			t.Fatalf("take(%d): item %d = %d, want %d (oldest first)", home, i, v, md.shards[from][i])
		}
		if (dst[i].enq != 0) != md.timed[v] {
			t.Fatalf("take(%d): value %d timed = %v, want %v", home, v, dst[i].enq != 0, md.timed[v])
		}
		md.out[v]++
	}
	md.shards[from] = md.shards[from][k:]
	md.held[from] += k
	md.batches = append(md.batches, [2]int{from, k})
}

// release releases the i-th outstanding batch (modulo their number).
func (md *queueModel) release(i int) {
	if len(md.batches) == 0 {
		return
	}
	i %= len(md.batches)
	b := md.batches[i]
	md.batches = slices.Delete(md.batches, i, i+1)
	md.q.release(b[0], b[1])
	md.held[b[0]] -= b[1]
}

func (md *queueModel) drain() {
	t := md.t
	t.Helper()
	got := md.q.drain(nil)
	var want []int
	for j := range md.shards {
		want = append(want, md.shards[j]...)
		md.shards[j] = nil
	}
	if !slices.Equal(got, want) {
		t.Fatalf("drain() = %v, want %v (shard by shard, oldest first)", got, want)
	}
	for _, v := range got {
		md.out[v]++
	}
}

var takeLens = [...]int{1, 2, 3, 4, 7, 16, maxBatch, maxBatch + 1}

// FuzzQueue drives a queue[int] with a fuzzer-chosen sequence of push,
// take (from a chosen home shard into a buffer of a chosen length), drain
// release (of a taken batch), and close, and checks it against queueModel
// after every operation: FIFO order within each shard, take's batch sizes
// and source, no loss, no duplication, capacity exactly as configured
// (queued plus taken-but-unreleased tasks never exceed it, and push is
// refused exactly when they fill it), pushClosed after close, latency
// sampling of every `every`-th push per shard, len/empty.
//
// ops is read two bytes at a time (operation, argument).
func FuzzQueue(f *testing.F) {
	f.Add(uint8(8), uint8(1), uint8(1), uint8(1), []byte{0, 0, 0, 0, 4, 0, 0, 0})
	f.Add(uint8(5), uint8(1), uint8(3), uint8(2), []byte{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 1 << 5, 0, 0, 0, 0, 0, 0, 4, 7 << 5, 4, 0})
	f.Add(uint8(16), uint8(4), uint8(4), uint8(3), []byte{
		0, 0, 1, 0, 2, 0, 3, 0, 0, 0, 1, 0, 2, 0, 3, 0, 0, 0, 1, 0, 2, 0, 3, 0,
		4, 0, 4, 1, 5, 2, 4, 3, 4, 0xe0, 5, 0xe1, 6, 0, 0, 0, 7, 0, 0, 0, 4, 0, 6, 0})
	f.Add(uint8(3), uint8(7), uint8(15), uint8(0), []byte{0, 0, 0, 0, 0, 0, 0, 0, 4, 5, 4, 2, 4, 6, 4, 6, 7, 1, 0, 0})
	f.Add(uint8(63), uint8(2), uint8(9), uint8(4), slices.Repeat([]byte{0, 0, 1, 0, 2, 0, 4, 0x41}, 30))
	f.Add(uint8(0), uint8(0), uint8(0), uint8(0), []byte{7, 0, 0, 0, 4, 0, 6, 0})
	f.Add(uint8(9), uint8(3), uint8(5), uint8(1), slices.Repeat([]byte{0, 0, 1, 0, 2, 0, 4, 0x21, 0, 0, 4, 0x42, 3, 1, 0, 0, 5, 0x63, 3, 0, 6, 0xff}, 12))
	f.Fuzz(func(t *testing.T, capB, shardsB, workersB, sampleB uint8, ops []byte) {
		capacity := int(capB%64) + 1
		nshards := int(shardsB%8) + 1 // may exceed capacity: some shards then have no slots
		nworkers := int(workersB%16) + 1
		every := int(sampleB % 5) // 0: latency metrics off
		set, err := config.Resolve(config.Fixed, []poolrt.Option{
			poolrt.Metrics(every > 0), poolrt.LatencySampling(max(every, 1)),
		})
		if err != nil {
			t.Fatal(err)
		}
		m := NewMeter(&set, nworkers, nshards)
		var q queue[int]
		set.QueueSize, set.Shards = capacity, nshards
		q.init(&set, nworkers, m)

		// Capacity exactly as configured, split as evenly as possible.
		sum, lo, hi := 0, capacity, 0
		for i := range q.shards {
			n := len(q.shards[i].ring)
			sum += n
			lo, hi = min(lo, n), max(hi, n)
		}
		if len(q.shards) != nshards || q.capacity != capacity || sum != capacity || hi-lo > 1 {
			t.Fatalf("init(%d, %d shards): %d shards of %d..%d slots, %d in all, capacity %d",
				capacity, nshards, len(q.shards), lo, hi, sum, q.capacity)
		}
		// A worker takes 1/homeDiv of its home shard: all of it when it is
		// the only worker, half when each shard has one worker, less when
		// workers share shards; a thief takes 1/stealDiv, at most half.
		share := (nworkers + nshards - 1) / nshards
		wantHome, wantSteal := share+1, max(2, share)
		if nworkers == 1 {
			wantHome = 1
		}
		if int(q.homeDiv.Load()) != wantHome || int(q.stealDiv.Load()) != wantSteal {
			t.Fatalf("%d workers, %d shards: homeDiv, stealDiv = %d, %d; want %d, %d",
				nworkers, nshards, q.homeDiv.Load(), q.stealDiv.Load(), wantHome, wantSteal)
		}

		md := &queueModel{
			t: t, q: &q, m: m, every: m.SampleEvery,
			shards: make([][]int, nshards), held: make([]int, nshards), pushes: make([]uint64, nshards),
			timed: map[int]bool{}, next: 1, out: map[int]int{},
		}
		md.check("init")
		dst := make([]slot[int], maxBatch+1)
		for len(ops) > 0 {
			op, arg := ops[0], byte(0)
			if len(ops) > 1 {
				arg = ops[1]
			}
			ops = ops[min(2, len(ops)):]
			switch op % 8 {
			case 0, 1, 2:
				md.push()
				md.check("push")
			case 3:
				md.release(int(arg))
				md.check("release")
			case 4, 5:
				home := int(arg&31) % nshards
				clear(dst)
				md.take(home, dst[:takeLens[arg>>5]])
				md.check("take")
			case 6:
				if arg < 64 {
					md.drain()
					md.check("drain")
				} else {
					md.release(int(arg))
					md.check("release")
				}
			case 7:
				if arg < 64 {
					q.close()
					md.closed = true
					md.check("close")
				} else {
					md.push()
					md.check("push")
				}
			}
		}

		// Nothing lost, nothing duplicated.
		md.drain()
		md.check("final drain")
		for len(md.batches) > 0 {
			md.release(0)
		}
		md.check("final release")
		if len(md.out) != md.accepted {
			t.Fatalf("%d distinct values came out, %d were accepted", len(md.out), md.accepted)
		}
		for v, n := range md.out {
			if n != 1 {
				t.Fatalf("value %d came out %d times", v, n)
			}
		}
		q.close()
		if r := q.push(-1); r != pushClosed {
			t.Fatalf("push after close = %v, want pushClosed", r)
		}
		if !q.empty() || q.len() != 0 {
			t.Fatal("push after close changed the queue")
		}
	})
}

// TestQueueConcurrent: producers and consumers (each with a home shard)
// hammer the queue; every value comes out exactly once, and a batch (which
// comes from a single shard) holds each producer's values in the order
// they were pushed.
func TestQueueConcurrent(t *testing.T) {
	const producers, consumers, per = 4, 4, 5000
	set, err := config.Resolve(config.Fixed, nil)
	if err != nil {
		t.Fatal(err)
	}
	m := NewMeter(&set, consumers, 3)
	var q queue[int]
	set.QueueSize, set.Shards = 50, 3
	q.init(&set, consumers, m)

	var wg sync.WaitGroup
	for p := range producers {
		wg.Go(func() {
			for i := range per {
				for {
					r := q.push(p*per + i)
					if r == pushed {
						break
					}
					if r != pushFull {
						t.Errorf("push = %v while open", r)
						return
					}
					runtime.Gosched()
				}
			}
		})
	}
	var got atomic.Int64
	seen := make([][]int, consumers)
	for c := range consumers {
		wg.Go(func() {
			buf := make([]slot[int], maxBatch)
			for got.Load() < producers*per {
				k, from := q.take(c%len(q.shards), buf)
				if k == 0 {
					runtime.Gosched()
					continue
				}
				last := [producers]int{-1, -1, -1, -1}
				for _, s := range buf[:k] {
					p := s.task / per
					if s.task <= last[p] {
						t.Errorf("batch holds producer %d's %d after %d: FIFO broken", p, s.task, last[p])
					}
					last[p] = s.task
					seen[c] = append(seen[c], s.task)
				}
				q.release(from, k) // the batch has "started"
				got.Add(int64(k))
			}
		})
	}
	wg.Wait()
	var all []int
	for _, s := range seen {
		all = append(all, s...)
	}
	slices.Sort(all)
	if len(all) != producers*per {
		t.Fatalf("%d values came out, want %d", len(all), producers*per)
	}
	for i, v := range all {
		if v != i {
			t.Fatalf("value %d missing or duplicated (position %d holds %d)", i, i, v)
		}
	}
	var submitted uint64
	for i := range m.Shards {
		submitted += m.Shards[i].Submitted.Load()
	}
	if submitted != producers*per || !q.empty() || q.len() != 0 {
		t.Fatalf("Submitted = %d, empty = %v, len = %d; want %d, true, 0", submitted, q.empty(), q.len(), producers*per)
	}

	// Close while pushers run: every push after close returns pushClosed.
	var closed atomic.Bool
	for range 4 {
		wg.Go(func() {
			for i := 0; ; i++ {
				wasClosed := closed.Load()
				r := q.push(i)
				if wasClosed && r != pushClosed {
					t.Errorf("push after close = %v", r)
					return
				}
				if r == pushClosed {
					return
				}
				if r == pushFull {
					q.drain(nil)
				}
			}
		})
	}
	runtime.Gosched()
	q.close()
	closed.Store(true)
	wg.Wait()
}

// TestQueueHole: a submitter stopped between claiming its ticket and
// publishing the task leaves a hole. Workers see the shard end there (the
// tasks behind it wait), close waits for the hole to fill, and then
// nothing is lost.
func TestQueueHole(t *testing.T) {
	set, err := config.Resolve(config.Fixed, []poolrt.Option{poolrt.Metrics(false)})
	if err != nil {
		t.Fatal(err)
	}
	m := NewMeter(&set, 1, 1)
	var q queue[int]
	set.QueueSize, set.Shards = 4, 1
	q.init(&set, 1, m)
	s := &q.shards[0]

	// Fill and empty the ring once, so that the hole's cell holds a stale
	// task of the last lap.
	dst := make([]slot[int], 4)
	for v := range 4 {
		if r := q.push(v + 1); r != pushed {
			t.Fatalf("push = %v", r)
		}
	}
	if k, _ := q.take(0, dst); k != 4 {
		t.Fatalf("took %d, want 4", k)
	}
	q.release(0, 4)

	// Claim ticket 4 as a submitter would, without publishing it; the
	// next submitter gets ticket 5.
	hole := s.tail.Raw()
	if !s.tail.CompareAndSwap(hole, hole+1) {
		t.Fatal("claim failed")
	}
	if r := q.push(6); r != pushed {
		t.Fatalf("push behind the hole = %v", r)
	}
	if !q.empty() || q.len() != 2 {
		t.Fatalf("with a hole at the head: empty = %v, len = %d; want true, 2", q.empty(), q.len())
	}
	if k, _ := q.take(0, dst); k != 0 {
		t.Fatalf("took %d past the hole", k)
	}

	closed := make(chan struct{})
	go func() {
		q.close()
		close(closed)
	}()
	select {
	case <-closed:
		t.Fatal("close returned while a claimed ticket was unpublished")
	case <-time.After(20 * time.Millisecond):
	}
	if r := q.push(7); r != pushClosed {
		t.Fatalf("push while closing = %v, want pushClosed", r)
	}

	// The stopped submitter resumes and publishes.
	n := uint64(len(s.ring))
	cl := &s.ring[hole%n]
	cl.task = 5
	cl.state.Store(cellState(hole/n, 0))
	<-closed
	if got := q.drain(nil); !slices.Equal(got, []int{5, 6}) {
		t.Fatalf("drain after close = %v, want [5 6]", got)
	}
	if got := m.Shards[0].Submitted.Load(); got != 6 {
		t.Fatalf("Submitted = %d, want 6", got)
	}
}

// queued returns the number of tasks in the shard's ring, holes included.
// (Each count is read before the one that runs ahead of it, so that the
// difference cannot go negative.)
func (s *shard[T]) queued() int {
	h := s.taken.Load()
	return int(s.tail.Load() - h)
}
