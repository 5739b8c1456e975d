package poolimpl

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// TestDelayHeapOrder: the heap yields items by due time, equal due times
// in arrival order, whatever the order they came in.
func TestDelayHeapOrder(t *testing.T) {
	var h delayHeap[int]
	base := time.Now()
	const n = 500
	for k, i := range rand.Perm(n) {
		h.push(delayItem[int]{task: i, due: base.Add(time.Duration(i/2) * time.Millisecond), seq: uint64(k)})
	}
	var got []delayItem[int]
	for len(h) > 0 {
		got = append(got, h.pop())
	}
	assert.Len(t, got, n)
	assert.True(t, slices.IsSortedFunc(got, func(a, b delayItem[int]) int {
		if c := a.due.Compare(b.due); c != 0 {
			return c
		}
		return int(a.seq) - int(b.seq)
	}), "by due time, then arrival")
}
