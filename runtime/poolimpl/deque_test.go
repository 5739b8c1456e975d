package poolimpl

import (
	"math"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
)

// item is the deque tests' task: two words that must always agree, so a
// torn copy (two writers, or a read of a half-written slot) shows, and a
// pointer, so a slot left uncleared (a stale reference) shows.
type item struct {
	v, check uint64
	p        *uint64
}

func mkItem(v uint64) item { return item{v: v, check: ^v, p: new(uint64)} }

func (it item) ok() bool { return it.check == ^it.v && it.p != nil }

func newDeque(size int) *deque[item] {
	d := new(deque[item])
	d.init(size)
	return d
}

// pushAll pushes items lo..hi-1 under the gate.
func pushAll(t *testing.T, d *deque[item], lo, hi uint64) {
	t.Helper()
	if !d.acquire() {
		t.Fatal("gate not free")
	}
	defer d.release()
	for v := lo; v < hi; v++ {
		it := mkItem(v)
		if !d.push(&it, nil, uint32(v), int64(v)) {
			t.Fatalf("push(%d) refused with %d queued of %d", v, d.size(), len(d.slots))
		}
	}
}

// checkClear fails unless every slot outside [tail, head) is free and
// holds the zero task: no consumer left a full flag (which would stop the
// producer for good) or a reference for the garbage collector behind.
// meta and enq are plain numbers and may keep their old values.
func checkClear(t *testing.T, d *deque[item]) {
	t.Helper()
	head, tail := unpackDeque(d.headTail.Load())
	for i := range d.slots {
		pos := uint32(i)
		// Is slot i the slot of a queued position?
		if n := head - tail; n > 0 && (pos-tail)&d.mask < n {
			continue
		}
		if s := &d.slots[i]; s.full != 0 || s.task != (item{}) {
			t.Fatalf("free slot %d not cleared: %+v", i, *s)
		}
	}
}

func TestDequeLIFOAndFull(t *testing.T) {
	d := newDeque(8)
	var got item
	if _, _, ok := d.pop(&got, nil); ok {
		t.Fatal("pop from an empty deque succeeded")
	}
	pushAll(t, d, 1, 9)
	if !d.acquire() {
		t.Fatal("gate not free")
	}
	it := mkItem(99)
	if d.push(&it, nil, 0, 0) {
		t.Fatal("push onto a full deque succeeded")
	}
	d.release()
	for want := uint64(8); want >= 1; want-- {
		meta, enq, ok := d.pop(&got, nil)
		if !ok || got.v != want || !got.ok() || meta != uint32(want) || enq != int64(want) {
			t.Fatalf("pop = %+v meta %d enq %d ok %t, want %d", got, meta, enq, ok, want)
		}
		checkClear(t, d)
	}
	if !d.empty() || d.size() != 0 {
		t.Fatalf("size %d after popping everything", d.size())
	}
}

func TestDequePopTailFIFO(t *testing.T) {
	d := newDeque(4)
	for round := range 5 { // wraps the ring several times
		base := uint64(round * 10)
		pushAll(t, d, base, base+4)
		var got item
		for want := base; want < base+4; want++ {
			if _, _, ok := d.popTail(&got, nil); !ok || got.v != want {
				t.Fatalf("round %d: popTail = %d (ok %t), want %d", round, got.v, ok, want)
			}
		}
		checkClear(t, d)
	}
}

// TestDequeStealHalf: a thief takes the oldest half, rounded up; the
// newest of them is handed over to run, the rest land in the thief's
// deque in order, marked stolen; the victim keeps the newer half.
func TestDequeStealHalf(t *testing.T) {
	for _, n := range []uint64{1, 2, 3, 7, 8} {
		victim, thief := newDeque(8), newDeque(8)
		pushAll(t, victim, 1, n+1)
		if !thief.acquire() {
			t.Fatal("gate not free")
		}
		var cur item
		k, meta, enq := victim.steal(thief, thief.room(4)+1, &cur, nil)
		thief.release()
		want := int(n - n/2)
		if k != want {
			t.Fatalf("n=%d: stole %d, want %d", n, k, want)
		}
		if cur.v != uint64(k) || meta != uint32(k)|metaStolen || enq != int64(k) {
			t.Fatalf("n=%d: ran %d meta %#x enq %d, want %d", n, cur.v, meta, enq, k)
		}
		if thief.size() != k-1 || victim.size() != int(n)-k {
			t.Fatalf("n=%d: thief holds %d, victim %d", n, thief.size(), victim.size())
		}
		for v := uint64(k - 1); v >= 1; v-- { // newest first
			var got item
			meta, _, ok := thief.pop(&got, nil)
			if !ok || got.v != v || !got.ok() || meta != uint32(v)|metaStolen {
				t.Fatalf("n=%d: thief popped %+v meta %#x, want %d", n, got, meta, v)
			}
		}
		for v := n; v > uint64(k); v-- {
			var got item
			if _, _, ok := victim.pop(&got, nil); !ok || got.v != v {
				t.Fatalf("n=%d: victim popped %d, want %d", n, got.v, v)
			}
		}
		checkClear(t, victim)
		checkClear(t, thief)
	}
}

// TestDequeStealBound: a steal takes no more than the thief has room for.
func TestDequeStealBound(t *testing.T) {
	victim, thief := newDeque(16), newDeque(4)
	pushAll(t, victim, 1, 17)
	pushAll(t, thief, 100, 102) // two of four slots used
	if !thief.acquire() {
		t.Fatal("gate not free")
	}
	room := thief.room(8)
	if room != 2 {
		t.Fatalf("room = %d, want 2", room)
	}
	var cur item
	k, _, _ := victim.steal(thief, room+1, &cur, nil)
	thief.release()
	if k != 3 || victim.size() != 13 || thief.size() != 4 {
		t.Fatalf("stole %d; victim holds %d, thief %d; want 3, 13, 4", k, victim.size(), thief.size())
	}
}

// TestDequeSlotStillHeld: a slot whose consumer has claimed it but not
// finished copying (full still set) is not overwritten: push reports the
// deque full, and room stops there, until the consumer lets go.
func TestDequeSlotStillHeld(t *testing.T) {
	d := newDeque(4)
	pushAll(t, d, 1, 5)
	var got item
	d.popTail(&got, nil) // position 0 is free again...
	s := &d.slots[0]
	atomic.StoreUint32(&s.full, 1) // ...but pretend a thief is still copying it
	if !d.acquire() {
		t.Fatal("gate not free")
	}
	if r := d.room(4); r != 0 {
		t.Fatalf("room = %d with the head slot still held", r)
	}
	it := mkItem(5)
	if d.push(&it, nil, 0, 0) {
		t.Fatal("push overwrote a slot a consumer still holds")
	}
	atomic.StoreUint32(&s.full, 0) // the thief is done
	if r := d.room(4); r != 1 {
		t.Fatalf("room = %d, want 1", r)
	}
	if !d.push(&it, nil, 0, 0) {
		t.Fatal("push refused after the consumer let go")
	}
	d.release()
}

// TestDequeWrap runs pushes, pops and steals across the 32-bit wrap of
// the positions.
func TestDequeWrap(t *testing.T) {
	victim, thief := newDeque(8), newDeque(8)
	start := uint32(math.MaxUint32 - 5)
	victim.headTail.Store(packDeque(start, start))
	thief.headTail.Store(packDeque(start+3, start+3))
	next := uint64(1)
	var model []uint64
	for round := range 20 {
		for range 5 {
			pushAll(t, victim, next, next+1)
			model = append(model, next)
			next++
		}
		if !thief.acquire() {
			t.Fatal("gate not free")
		}
		var cur item
		k, _, _ := victim.steal(thief, thief.room(4)+1, &cur, nil)
		thief.release()
		if cur.v != model[k-1] {
			t.Fatalf("round %d: stole up to %d, want %d", round, cur.v, model[k-1])
		}
		for i := k - 2; i >= 0; i-- {
			var got item
			if _, _, ok := thief.pop(&got, nil); !ok || got.v != model[i] {
				t.Fatalf("round %d: thief popped %d, want %d", round, got.v, model[i])
			}
		}
		model = model[k:]
		var got item
		if _, _, ok := victim.pop(&got, nil); !ok || got.v != model[len(model)-1] {
			t.Fatalf("round %d: victim popped %d, want %d", round, got.v, model[len(model)-1])
		}
		model = model[:len(model)-1]
		if victim.size() != len(model) {
			t.Fatalf("round %d: size %d, model %d", round, victim.size(), len(model))
		}
	}
	checkClear(t, victim)
	checkClear(t, thief)
}

func TestDequeGate(t *testing.T) {
	d := newDeque(2)
	if !d.acquire() || d.acquire() {
		t.Fatal("acquire: want the gate once")
	}
	released := make(chan bool)
	go func() { released <- d.hold() }()
	d.release() // hold gets it
	if !<-released {
		t.Fatal("hold failed on an open gate")
	}
	if d.acquire() {
		t.Fatal("acquire succeeded while hold has the gate")
	}
	d.close()
	if d.acquire() || d.hold() {
		t.Fatal("a closed gate was taken")
	}
}

// dequeModel is FuzzDeque's reference: a victim and a thief deque as
// slices, oldest first.
type dequeModel struct {
	victim, thief []uint64
}

// FuzzDeque drives a victim deque and a thief deque through a sequence of
// operations read from the input, comparing every result and both
// deques' contents with a slice model, and checking after each step that
// no free slot keeps a task or a full flag.
func FuzzDeque(f *testing.F) {
	f.Add([]byte{0, 0, 0, 1, 2, 3, 3, 4, 5})
	f.Add(slices.Repeat([]byte{0, 0, 0, 0, 3, 1}, 20))
	f.Add([]byte{6, 0, 0, 0, 0, 0, 0, 0, 0, 3, 3, 2, 2, 4, 4, 1, 1})
	f.Fuzz(func(t *testing.T, ops []byte) {
		if len(ops) == 0 {
			return
		}
		sizes := []int{1, 2, 4, 8}
		victim := newDeque(sizes[ops[0]%4])
		thief := newDeque(sizes[(ops[0]>>2)%4])
		if ops[0]&0x10 != 0 { // start near the wrap of the positions
			victim.headTail.Store(packDeque(math.MaxUint32-3, math.MaxUint32-3))
		}
		var md dequeModel
		next := uint64(1)
		pop := func(d *deque[item], from *[]uint64, tail bool) {
			var got item
			var ok bool
			if tail {
				_, _, ok = d.popTail(&got, nil)
			} else {
				_, _, ok = d.pop(&got, nil)
			}
			if ok != (len(*from) > 0) {
				t.Fatalf("pop (tail %t): ok %t with %d queued", tail, ok, len(*from))
			}
			if !ok {
				return
			}
			var want uint64
			if tail {
				want, *from = (*from)[0], (*from)[1:]
			} else {
				want, *from = (*from)[len(*from)-1], (*from)[:len(*from)-1]
			}
			if got.v != want || !got.ok() {
				t.Fatalf("pop (tail %t) = %+v, want %d", tail, got, want)
			}
		}
		for i, op := range ops[1:] {
			switch op % 7 {
			case 0, 1: // push onto the victim
				if !victim.acquire() {
					t.Fatal("gate not free")
				}
				it := mkItem(next)
				ok := victim.push(&it, nil, 0, 0)
				victim.release()
				if ok != (len(md.victim) < len(victim.slots)) {
					t.Fatalf("op %d: push ok %t with %d of %d queued", i, ok, len(md.victim), len(victim.slots))
				}
				if ok {
					md.victim = append(md.victim, next)
				}
				next++
			case 2:
				pop(victim, &md.victim, false)
			case 3:
				pop(victim, &md.victim, true)
			case 4: // steal into the thief
				if !thief.acquire() {
					t.Fatal("gate not free")
				}
				most := int(op/7)%4 + 1
				room := thief.room(most - 1)
				var cur item
				k, _, _ := victim.steal(thief, room+1, &cur, nil)
				thief.release()
				want := min(len(md.victim)-len(md.victim)/2, room+1)
				if k != want {
					t.Fatalf("op %d: stole %d of %d with room %d, want %d", i, k, len(md.victim), room, want)
				}
				if k > 0 {
					if cur.v != md.victim[k-1] || !cur.ok() {
						t.Fatalf("op %d: stole %+v to run, want %d", i, cur, md.victim[k-1])
					}
					md.thief = append(md.thief, md.victim[:k-1]...)
					md.victim = slices.Clone(md.victim[k:])
				}
			case 5:
				pop(thief, &md.thief, false)
			case 6:
				pop(thief, &md.thief, true)
			}
			if victim.size() != len(md.victim) || thief.size() != len(md.thief) {
				t.Fatalf("op %d: sizes %d, %d; model %d, %d", i, victim.size(), thief.size(), len(md.victim), len(md.thief))
			}
			checkClear(t, victim)
			checkClear(t, thief)
		}
		// Whatever is left comes out oldest first.
		for len(md.victim) > 0 {
			pop(victim, &md.victim, true)
		}
		for len(md.thief) > 0 {
			pop(thief, &md.thief, true)
		}
	})
}

// TestDequeStress runs an owner that pushes and pops, a second producer
// that pushes through the gate from another goroutine (as a task's
// goroutine forking with its worker's context does), and thieves that
// steal into their own deques and run what they stole, all at once. Every
// value must come out exactly once and untorn. Run it with -race: any
// unordered access to a slot is reported.
func TestDequeStress(t *testing.T) {
	const thieves = 3
	perProducer := uint64(200_000)
	if testing.Short() || stealRace {
		perProducer = 20_000
	}
	for _, size := range []int{2, 16, 256} {
		victim := newDeque(size)
		seen := make([]atomic.Int32, 2*perProducer+1)
		record := func(it item) {
			if !it.ok() {
				t.Errorf("torn task %+v", it)
				return
			}
			seen[it.v].Add(1)
		}
		var wg sync.WaitGroup
		var done atomic.Bool
		// A producer that is not the owner: v = perProducer+1 ...
		wg.Go(func() {
			for v := perProducer + 1; v <= 2*perProducer; {
				if !victim.acquire() {
					runtime.Gosched()
					continue
				}
				it := mkItem(v)
				ok := victim.push(&it, nil, 0, 0)
				victim.release()
				if ok {
					v++
				} else {
					runtime.Gosched()
				}
			}
		})
		for range thieves {
			wg.Go(func() {
				own := newDeque(size)
				var cur item
				for {
					stop := done.Load()
					if !own.acquire() {
						t.Error("thief's own gate taken")
						return
					}
					k, _, _ := victim.steal(own, own.room(size/2)+1, &cur, nil)
					own.release()
					if k > 0 {
						record(cur)
						for {
							var it item
							if _, _, ok := own.pop(&it, nil); !ok {
								break
							}
							record(it)
						}
					} else if stop {
						return
					} else {
						runtime.Gosched() // two cores, five goroutines: let the producers on
					}
				}
			})
		}
		// The owner: v = 1 ..., popping one in three.
		var r uint32 = 1
		for v := uint64(1); v <= perProducer; {
			r ^= r << 13
			r ^= r >> 17
			r ^= r << 5
			if r%3 == 0 {
				var it item
				if _, _, ok := victim.pop(&it, nil); ok {
					record(it)
				}
				continue
			}
			if !victim.acquire() {
				runtime.Gosched() // the other producer has the gate
				continue
			}
			it := mkItem(v)
			ok := victim.push(&it, nil, 0, 0)
			victim.release()
			if ok {
				v++
			}
		}
		// Wait for the other producer, then drain what is left.
		for {
			var it item
			if _, _, ok := victim.pop(&it, nil); ok {
				record(it)
				continue
			}
			if seenAll(seen) {
				break
			}
			runtime.Gosched()
		}
		done.Store(true)
		wg.Wait()
		for v := 1; v < len(seen); v++ {
			if n := seen[v].Load(); n != 1 {
				t.Fatalf("size %d: value %d came out %d times", size, v, n)
			}
		}
		checkClear(t, victim)
	}
}

// seenAll reports whether every value but 0 has come out.
func seenAll(seen []atomic.Int32) bool {
	for v := 1; v < len(seen); v++ {
		if seen[v].Load() == 0 {
			return false
		}
	}
	return true
}

// TestDequeMetaPacking keeps the meta bits apart: any shard index a queue
// can have fits below metaStolen.
func TestDequeMetaPacking(t *testing.T) {
	if metaShard&metaStolen != 0 || metaShard < 1<<20 {
		t.Fatalf("meta bits overlap or too few shard bits: %#x %#x", uint64(metaShard), uint64(metaStolen))
	}
	if h, tl := unpackDeque(packDeque(7, 3)); h != 7 || tl != 3 {
		t.Fatalf("unpack(pack(7, 3)) = %d, %d", h, tl)
	}
}
