package templates_test

import (
	"context"
	"fmt"
	"sync/atomic"

	poolrt "github.com/poolgen/poolgen/runtime"
	"github.com/poolgen/poolgen/templates"
)

// SumRange adds up the integers in [Lo, Hi) into Out. A range longer than
// 1000 is split in two halves that it forks onto the stealing pool.
type SumRange struct {
	Lo, Hi int
	Out    *SumNode
	Pool   *templates.StealingPool[SumRange]
}

// SumNode joins the two halves of a range without waiting: a
// continuation counter. The half that finishes second passes the node's
// total on to its parent; the root sends the grand total on Done.
type SumNode struct {
	Pending atomic.Int32 // halves not finished yet
	Total   atomic.Int64
	Parent  *SumNode
	Done    chan int64 // the root's
}

// Add adds v, a half's total, and carries the node's total up once both
// halves are in.
func (n *SumNode) Add(v int64) {
	for {
		n.Total.Add(v)
		if n.Pending.Add(-1) != 0 {
			return // the other half finishes later and carries on
		}
		if n.Parent == nil {
			n.Done <- n.Total.Load()
			return
		}
		v, n = n.Total.Load(), n.Parent
	}
}

func (s SumRange) Run(ctx context.Context) error {
	if s.Hi-s.Lo <= 1000 {
		var sum int64
		for i := s.Lo; i < s.Hi; i++ {
			sum += int64(i)
		}
		s.Out.Add(sum)
		return nil
	}
	n := &SumNode{Parent: s.Out}
	n.Pending.Store(2)
	mid := (s.Lo + s.Hi) / 2
	// Fork with the ctx Run was given: the halves go onto this worker's
	// deque, where idle workers steal them. Never wait for them here.
	if err := s.Pool.Fork(ctx, SumRange{Lo: s.Lo, Hi: mid, Out: n, Pool: s.Pool}); err != nil {
		return err
	}
	return s.Pool.Fork(ctx, SumRange{Lo: mid, Hi: s.Hi, Out: n, Pool: s.Pool})
}

func ExampleStealingPool() {
	p, err := templates.NewStealingPool[SumRange](poolrt.Workers(4))
	if err != nil {
		panic(err)
	}
	// The root node has a single "half": the whole range.
	root := &SumNode{Done: make(chan int64, 1)}
	root.Pending.Store(1)
	if err := p.Submit(context.Background(), SumRange{Lo: 0, Hi: 1_000_000, Out: root, Pool: p}); err != nil {
		panic(err)
	}
	fmt.Println("sum:", <-root.Done)

	if err := p.Shutdown(context.Background()); err != nil {
		panic(err)
	}
	st := p.Stats()
	fmt.Println("tasks:", st.Completed, "forked:", st.Stealing.Forked+st.Stealing.ForkedToInjector)
	fmt.Println("started by workers:", st.Stealing.Local+st.Stealing.Injector+st.Stealing.Stolen)
	// Output:
	// sum: 499999500000
	// tasks: 2047 forked: 2046
	// started by workers: 2047
}
