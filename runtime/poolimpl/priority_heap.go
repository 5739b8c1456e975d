package poolimpl

// RankHeap is the ordering of a priority pool's queue: a min-heap of keys
// with a sequence number that keeps tasks of equal key in submission order
// (FIFO), each naming the slot of a slot array where the pool keeps the
// task itself.
//
// The heap never touches tasks, so it is not generic: it is compiled once
// for every task type, and sifting moves 24-byte items whatever the size
// of the task. It is 4-ary: half as deep as a binary heap, and the four
// children of a node are adjacent in memory, which suits the pop-heavy
// use (every task is pushed once and popped once) on deep queues.
//
// Push and Pop are O(log n) and allocate nothing: the items and the free
// slot list are allocated for the heap's capacity up front. A RankHeap is
// not safe for concurrent use; the pool guards it with its lock.
type RankHeap struct {
	items []rankItem
	free  []int32 // unused slots, a stack
	seq   uint64  // the next sequence number
}

type rankItem struct {
	key  int64
	seq  uint64
	slot int32
}

// rankArity is the heap's fan-out.
const rankArity = 4

func (a *rankItem) less(b *rankItem) bool {
	return a.key < b.key || a.key == b.key && a.seq < b.seq
}

// Init empties the heap and sizes it for capacity items in slots
// 0..capacity-1.
func (h *RankHeap) Init(capacity int) {
	h.items = make([]rankItem, 0, capacity)
	h.free = make([]int32, capacity)
	for i := range h.free {
		h.free[i] = int32(capacity - 1 - i) // slot 0 is used first
	}
	h.seq = 0
}

// Len returns the number of items.
func (h *RankHeap) Len() int { return len(h.items) }

// Cap returns the capacity.
func (h *RankHeap) Cap() int { return cap(h.items) }

// Push adds an item of the given key and returns the slot it was given,
// where the caller stores its task. The heap must not be full.
func (h *RankHeap) Push(key int64) int {
	slot := h.free[len(h.free)-1]
	h.free = h.free[:len(h.free)-1]
	x := rankItem{key: key, seq: h.seq, slot: slot}
	h.seq++
	h.items = append(h.items, x) // within capacity: no allocation
	// Sift up, moving parents into the hole rather than swapping.
	it := h.items
	i := len(it) - 1
	for i > 0 {
		p := (i - 1) / rankArity
		if !x.less(&it[p]) {
			break
		}
		it[i] = it[p]
		i = p
	}
	it[i] = x
	return int(slot)
}

// Peek returns the key of the item Pop would return. The heap must not be
// empty.
func (h *RankHeap) Peek() int64 { return h.items[0].key }

// Pop removes the item of lowest key (the earliest pushed among equal
// keys) and returns its slot and key. The slot is free again at once: the
// caller must take its task out before the next Push. The heap must not
// be empty.
func (h *RankHeap) Pop() (slot int, key int64) {
	it := h.items
	top := it[0]
	n := len(it) - 1
	x := it[n]
	it = it[:n]
	h.items = it
	if n > 0 {
		// Floyd's variant: move the hole at the root down to a leaf along
		// the smallest children, then sift the last item up from there.
		// The last item belongs near the bottom (it is a leaf, and the
		// latest of its key), so this saves comparing it at every level
		// on the way down: three comparisons per level instead of four.
		i := 0
		for {
			c := i*rankArity + 1
			if c >= n {
				break
			}
			m := c
			if c+rankArity <= n {
				// A full node: a tournament of the four children.
				a, b := c, c+2
				if it[c+1].less(&it[c]) {
					a = c + 1
				}
				if it[c+3].less(&it[c+2]) {
					b = c + 3
				}
				m = a
				if it[b].less(&it[a]) {
					m = b
				}
			} else {
				for j := c + 1; j < n; j++ {
					if it[j].less(&it[m]) {
						m = j
					}
				}
			}
			it[i] = it[m]
			i = m
		}
		for i > 0 {
			p := (i - 1) / rankArity
			if !x.less(&it[p]) {
				break
			}
			it[i] = it[p]
			i = p
		}
		it[i] = x
	}
	h.free = append(h.free, top.slot)
	return int(top.slot), top.key
}
