package bench

import (
	"context"
	"testing"
	"time"

	"github.com/poolgen/poolgen/bench/tasks"
)

// BenchmarkForkJoin: workload 4, fork-join. One op is one whole tree of
// tasks (tasks.Tree): the benchmark submits the root, every inner node
// forks its children into the same pool from inside its Run, and the op
// ends when every node has run. Two shapes, the same number of nodes:
//
//	balanced     a complete binary tree; every leaf spins ~1 µs
//	skewed-tail  each node's second child gets 1/8 of its subtree (deep
//	             on the left), and leaf costs are heavy-tailed (1% cost
//	             100 µs, 9% 10 µs, the rest 1 µs)
//
// A fork must not block: in a pool whose workers all fork, a fork that
// waits for a free worker deadlocks the pool. So each contestant forks the
// way its API allows without blocking (see each adapter's fork): poolgen's
// fixed pool and the channel pool TrySubmit and run the subtask inline
// when the queue is full (what poolrt.OnFull(CallerRuns) does); ants runs
// in its Nonblocking mode and runs inline on ErrPoolOverload; errgroup
// uses TryGo; pond, workerpool and gopool have unbounded queues, so their
// ordinary submit never blocks; go-waitgroup starts a goroutine. conc has
// no non-blocking submit and is skipped. inline is the tree run
// recursively on one goroutine: the sequential time. The benchmark
// goroutine waits for a tree on a channel (tasks.Tree.Done), taking no CPU
// from the workers. ns/op is per tree;
// ns/node divides it by the nodes. The work-stealing pool (Fork) joins
// through forkExtra.
func BenchmarkForkJoin(b *testing.B) {
	shapes := []struct {
		name string
		skew uint32
		tail bool
	}{
		{"balanced", 2, false},
		{"skewed-tail", 8, true},
	}
	cs := append(forkExtra[:len(forkExtra):len(forkExtra)],
		lineup(generatedNode, []contestant[tasks.Node]{{name: "inline", start: startInline[tasks.Node]}})...)
	for _, shape := range shapes {
		b.Run("tree="+shape.name, func(b *testing.B) {
			for _, c := range cs {
				b.Run("impl="+c.name, func(b *testing.B) {
					if c.noFork != "" {
						b.Skip(c.noFork)
					}
					tree := &tasks.Tree{Skew: shape.skew, Tail: shape.tail, LeafRounds: tasks.SpinRounds()}
					forkJoin(b, c, tree, size().forkSize)
				})
			}
		})
	}
}

// forkExtra holds contestants of the fork-join workload that live in
// files of their own (the work-stealing, priority and dynamic pools). they come first.
var forkExtra []contestant[tasks.Node]

func forkJoin(b *testing.B, c contestant[tasks.Node], tree *tasks.Tree, nodes uint32) {
	b.ReportAllocs()
	p, err := c.start(config{workers: gomaxprocs(), nested: true})
	if err != nil {
		b.Fatalf("%s: start: %v", c.name, err)
	}
	f, ok := p.(forker[tasks.Node])
	if !ok {
		_ = p.close()
		b.Fatalf("%s: the adapter has no fork", c.name)
	}
	tree.Fork = f.fork
	ctx := context.Background()
	timeout := time.NewTimer(time.Minute)
	defer timeout.Stop()
	b.ResetTimer()
	for i := range b.N {
		timeout.Reset(time.Minute)
		if err := f.submit(ctx, tree.Root(nodes)); err != nil {
			b.Fatalf("%s: submit: %v", c.name, err)
		}
		select {
		case <-tree.Done():
		case <-timeout.C:
			b.Fatalf("%s: tree %d: %d of %d nodes ran in a minute", c.name, i, tree.C.Load(), nodes)
		}
		b.StopTimer()
		if !tree.Check(nodes) {
			b.Fatalf("%s: tree %d: %d node runs, want every one of %d nodes exactly once", c.name, i, tree.C.Load(), nodes)
		}
		tree.Reset()
		b.StartTimer()
	}
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(nodes), "ns/node")
	if err := p.close(); err != nil {
		b.Fatalf("%s: close: %v", c.name, err)
	}
	if tree.C.Load() != 0 {
		b.Fatalf("%s: %d node runs after the last tree", c.name, tree.C.Load())
	}
}
