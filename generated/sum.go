package generated

import (
	"context"
	"sync/atomic"
)

//go:generate go run github.com/poolgen/poolgen/cmd/poolgen -type=SumRange

// SumRange is an example fork-join task for the work-stealing pool: it
// adds up the integers in [Lo, Hi). A range longer than Leaf is split in
// halves that Run forks onto the pool with Fork: they land on the running
// worker's own deque, and idle workers steal them.
//
//poolgen:pools stealing
type SumRange struct {
	Lo, Hi int
	Leaf   int
	Out    *SumNode
	Pool   *SumRangeStealingPool
}

// SumNode joins two halves without blocking a worker: a continuation
// counter. The half that finishes second carries the total up; the root
// sends the grand total on Done.
type SumNode struct {
	pending atomic.Int32
	total   atomic.Int64
	parent  *SumNode
	done    chan int64
}

// NewSumRoot returns the root node of a sum, whose total arrives on the
// returned channel.
func NewSumRoot() (*SumNode, <-chan int64) {
	n := &SumNode{done: make(chan int64, 1)}
	n.pending.Store(1)
	return n, n.done
}

func (n *SumNode) add(v int64) {
	for {
		n.total.Add(v)
		if n.pending.Add(-1) != 0 {
			return // the other half finishes later and carries on
		}
		if n.parent == nil {
			n.done <- n.total.Load()
			return
		}
		v, n = n.total.Load(), n.parent
	}
}

// Run sums a short range directly and forks the halves of a long one.
func (s SumRange) Run(ctx context.Context) error {
	if s.Hi-s.Lo <= max(s.Leaf, 1) {
		var sum int64
		for i := s.Lo; i < s.Hi; i++ {
			sum += int64(i)
		}
		s.Out.add(sum)
		return nil
	}
	n := &SumNode{parent: s.Out}
	n.pending.Store(2)
	mid := (s.Lo + s.Hi) / 2
	// Never wait for the halves here: a worker blocked on a join is a
	// worker lost, and with all of them blocked the pool deadlocks.
	if err := s.Pool.Fork(ctx, SumRange{Lo: s.Lo, Hi: mid, Leaf: s.Leaf, Out: n, Pool: s.Pool}); err != nil {
		return err
	}
	return s.Pool.Fork(ctx, SumRange{Lo: mid, Hi: s.Hi, Leaf: s.Leaf, Out: n, Pool: s.Pool})
}
