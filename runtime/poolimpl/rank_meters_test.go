package poolimpl

import (
	poolrt "github.com/poolgen/poolgen/runtime"
	"github.com/poolgen/poolgen/runtime/internal/config"

	"cmp"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

func TestRankHeap(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, capacity := range []int{1, 2, 5, 17, 100} {
		for range 50 {
			ops := make([]byte, 400)
			for i := range ops {
				ops[i] = byte(rng.Uint32())
			}
			checkHeap(t, capacity, ops)
		}
	}
}

// TestRankHeapOrder: pushing keys in any order and popping them all gives
// them sorted, equal keys in push order, round after round on the same
// heap; pushes and pops allocate nothing.
func TestRankHeapOrder(t *testing.T) {
	const n = 1000
	var h RankHeap
	h.Init(n)
	rng := rand.New(rand.NewPCG(3, 4))
	keys := make([]int64, n)
	pushOf := make([]int, n) // slot → index of the push that got it
	for round := range 3 {
		for i := range keys {
			keys[i] = rng.Int64N(50) - 25
		}
		for i, k := range keys {
			pushOf[h.Push(k)] = i
		}
		order := make([]int, n)
		for i := range order {
			order[i] = i
		}
		slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(keys[a], keys[b]) })
		for i, want := range order {
			slot, key := h.Pop()
			if got := pushOf[slot]; got != want || key != keys[want] {
				t.Fatalf("round %d, pop %d: push %d (key %d), want push %d (key %d)", round, i, got, key, want, keys[want])
			}
		}
		if h.Len() != 0 || h.Cap() != n {
			t.Fatalf("Len, Cap = %d, %d after popping all; want 0, %d", h.Len(), h.Cap(), n)
		}
	}
	for range n / 2 {
		h.Push(rng.Int64())
	}
	if allocs := testing.AllocsPerRun(100, func() { h.Pop(); h.Push(rng.Int64()) }); allocs != 0 {
		t.Errorf("Pop and Push allocated %v times", allocs)
	}
}

func FuzzRankHeap(f *testing.F) {
	f.Add(uint8(3), []byte{0, 2, 4, 1, 1, 6, 8, 1})
	f.Add(uint8(1), []byte{254, 0, 1, 1, 254})
	f.Fuzz(func(t *testing.T, capacity uint8, ops []byte) {
		checkHeap(t, int(capacity%64)+1, ops)
	})
}

// TestRankMeter: counters merge over workers and bands, bands report their
// bounds, and the band served last gives LowestMaxWait.
func TestRankMeter(t *testing.T) {
	for _, kind := range []poolrt.RankKind{poolrt.ByPriority, poolrt.ByCost} {
		s, err := config.ResolveRank(kind, false, []poolrt.Option{poolrt.Workers(2), poolrt.Bands(0, 10)})
		if err != nil {
			t.Fatal(err)
		}
		m := NewRankMeter(&s, 2)
		for b := range 3 {
			for range b + 1 {
				m.Submitted(b)
				m.Waited(b, time.Duration(b+1)*time.Second)
			}
		}
		m.Worker(0).Done(0)
		m.Worker(1).Done(1)
		m.Worker(1).Panicked(1)
		m.Worker(0).Done(2)
		m.Returned(2)
		m.Returned(2)
		st, all := m.Snapshot()
		want := []poolrt.BandStats{
			{Lo: math.MinInt64, Hi: -1, Submitted: 1, Completed: 1},
			{Lo: 0, Hi: 9, Submitted: 2, Completed: 1, Panicked: 1},
			{Lo: 10, Hi: math.MaxInt64, Submitted: 3, Completed: 1, Returned: 2},
		}
		for b := range want {
			got := st.Bands[b]
			if got.Wait.Count != uint64(b+1) || got.Wait.Max != time.Duration(b+1)*time.Second {
				t.Errorf("%v band %d: Wait %+v", kind, b, got.Wait)
			}
			got.Wait = poolrt.Latency{}
			if got != want[b] {
				t.Errorf("%v band %d: %+v, want %+v", kind, b, got, want[b])
			}
		}
		wantLowest := time.Second // the lowest priorities
		if kind == poolrt.ByCost {
			wantLowest = 3 * time.Second // the highest costs
		}
		if st.LowestMaxWait != wantLowest || st.Kind != kind {
			t.Errorf("%v: LowestMaxWait %v, want %v", kind, st.LowestMaxWait, wantLowest)
		}
		if all.Count != 6 || all.Max != 3*time.Second {
			t.Errorf("%v: merged wait %+v", kind, all)
		}
	}

	s, _ := config.ResolveRank(poolrt.ByDeadline, false, []poolrt.Option{poolrt.Workers(2)})
	m := NewRankMeter(&s, 2)
	m.Worker(0).Missed()
	m.Worker(1).Missed()
	m.Worker(1).Dropped()
	m.Worker(0).HandedOff()
	m.Worker(0).Late(time.Millisecond)
	m.Worker(1).Late(3 * time.Millisecond)
	st, _ := m.Snapshot()
	if st.Missed != 2 || st.Dropped != 1 || st.HandedOff != 1 || st.Lateness.Count != 2 || st.Lateness.Max != 3*time.Millisecond || len(st.Bands) != 1 {
		t.Errorf("deadline stats %+v", st)
	}
}

// BenchmarkRankHeap: a push and a pop on a heap of the given depth, keys
// random over few levels (many ties, as with small priority ranges) or
// over many.
func BenchmarkRankHeap(b *testing.B) {
	for _, depth := range []int{1 << 10, 1 << 16} {
		for _, levels := range []int64{16, 1 << 30} {
			b.Run(fmt.Sprintf("depth=%d/levels=%d", depth, levels), func(b *testing.B) {
				var h RankHeap
				h.Init(depth + 1)
				rng := rand.New(rand.NewPCG(9, 10))
				keys := make([]int64, 4096)
				for i := range keys {
					keys[i] = rng.Int64N(levels)
				}
				for i := range depth {
					h.Push(keys[i&4095])
				}
				b.ReportAllocs()
				b.ResetTimer()
				for i := range b.N {
					h.Push(keys[i&4095])
					h.Pop()
				}
			})
		}
	}
}

// heapModel is the reference RankHeap is checked against: a slice kept
// in (key, seq) order.
type heapModel struct {
	items []rankItem
	seq   uint64
}

func (m *heapModel) push(key int64, slot int) {
	m.items = append(m.items, rankItem{key: key, seq: m.seq, slot: int32(slot)})
	m.seq++
	slices.SortFunc(m.items, func(a, b rankItem) int {
		return cmp.Or(cmp.Compare(a.key, b.key), cmp.Compare(a.seq, b.seq))
	})
}

func (m *heapModel) pop() rankItem {
	x := m.items[0]
	m.items = m.items[1:]
	return x
}

// checkHeap drives a RankHeap and the model with the same operations (ops
// bytes: push with a key from the byte, or pop) and compares every pop.
func checkHeap(t *testing.T, capacity int, ops []byte) {
	t.Helper()
	var h RankHeap
	h.Init(capacity)
	var m heapModel
	used := make([]bool, capacity)
	for i, op := range ops {
		if op&1 == 0 && h.Len() < capacity || h.Len() == 0 {
			key := int64(op>>1) % 7 // few keys: many ties, to check FIFO among equals
			if op>>1 == 127 {
				key = math.MinInt64
			}
			slot := h.Push(key)
			if slot < 0 || slot >= capacity || used[slot] {
				t.Fatalf("op %d: Push gave slot %d (capacity %d, in use: %t)", i, slot, capacity, slot >= 0 && slot < capacity && used[slot])
			}
			used[slot] = true
			m.push(key, slot)
		} else {
			slot, key := h.Pop()
			want := m.pop()
			if slot != int(want.slot) || key != want.key {
				t.Fatalf("op %d: Pop() = slot %d key %d, want slot %d key %d", i, slot, key, want.slot, want.key)
			}
			used[slot] = false
		}
		if h.Len() != len(m.items) {
			t.Fatalf("op %d: Len() = %d, want %d", i, h.Len(), len(m.items))
		}
		if h.Len() > 0 && h.Peek() != m.items[0].key {
			t.Fatalf("op %d: Peek() = %d, want %d", i, h.Peek(), m.items[0].key)
		}
	}
}
