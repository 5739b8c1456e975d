package templates_test

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"

	poolrt "github.com/poolgen/poolgen/runtime"
	"github.com/poolgen/poolgen/templates"
)

// The priority pattern's pools against the fixed pool, whose batched,
// sharded queue is the floor: what a strict order costs. Run with
// -benchmem; every benchmark must report 0 allocs/op.

type rankBenchPool interface {
	Submit(ctx context.Context, t rankJob) error
	Shutdown(ctx context.Context) error
}

var rankBenchPools = []struct {
	name string
	new  func(opts ...poolrt.Option) (rankBenchPool, error)
}{
	{"Fixed", func(opts ...poolrt.Option) (rankBenchPool, error) { return templates.NewFixedPool[rankJob](opts...) }},
	{"Priority", func(opts ...poolrt.Option) (rankBenchPool, error) { return templates.NewPriorityPool[rankJob](opts...) }},
	{"PriorityAging", func(opts ...poolrt.Option) (rankBenchPool, error) {
		return templates.NewPriorityPool[rankJob](append(opts, poolrt.Aging(time.Millisecond))...)
	}},
	{"Deadline", func(opts ...poolrt.Option) (rankBenchPool, error) {
		return templates.NewDeadlinePool[rankJob](nil, opts...)
	}},
	{"Cost", func(opts ...poolrt.Option) (rankBenchPool, error) { return templates.NewCostPool[rankJob](opts...) }},
}

// rankBenchJobs returns n tasks of random rank (random priority, deadline in
// the next hour, cost), the same every run.
func rankBenchJobs(n int, levels int64) []rankJob {
	rng := rand.New(rand.NewPCG(7, 8))
	now := time.Now()
	jobs := make([]rankJob, n)
	for i := range jobs {
		r := rng.Int64N(levels)
		jobs[i] = rankJob{prio: r, cost: r, due: now.Add(time.Hour + time.Duration(r)*time.Millisecond)}
	}
	return jobs
}

// BenchmarkRankTiny: one submitter, two workers, a task that does nothing:
// the per-task cost of Submit, the hand-off and the run, with random ranks
// (16 levels) on a shallow queue.
func BenchmarkRankTiny(b *testing.B) {
	jobs := rankBenchJobs(4096, 16)
	for _, bp := range rankBenchPools {
		b.Run(bp.name, func(b *testing.B) {
			p, err := bp.new(poolrt.Workers(2))
			if err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				if err := p.Submit(ctx, jobs[i&(len(jobs)-1)]); err != nil {
					b.Fatal(err)
				}
			}
			if err := p.Shutdown(ctx); err != nil { // every task has run
				b.Fatal(err)
			}
		})
	}
}

// BenchmarkRankDeep: the heap at depth. In rounds, depth tasks of random
// rank (1<<20 levels, so hardly any ties) are queued behind two blocked
// workers, then drained: every push and pop works on a heap of thousands
// of tasks, mostly out of cache. Each round has a pool of its own, made
// with the timer stopped.
func BenchmarkRankDeep(b *testing.B) {
	const depth = 1 << 15
	jobs := rankBenchJobs(depth, 1<<20)
	for _, bp := range rankBenchPools[1:] { // the fixed pool has no heap
		b.Run(bp.name, func(b *testing.B) {
			ctx := context.Background()
			started := make(chan struct{}, 2)
			var hold chan struct{}
			blocker := rankJob{prio: 1 << 40, cost: -1, fn: func(context.Context) error {
				h := hold // read before saying it started: the next round writes hold after that
				started <- struct{}{}
				<-h
				return nil
			}}
			b.ReportAllocs()
			b.ResetTimer()
			for done := 0; done < b.N; {
				n := min(depth, b.N-done)
				b.StopTimer()
				p, err := bp.new(poolrt.Workers(2), poolrt.QueueSize(depth))
				if err != nil {
					b.Fatal(err)
				}
				hold = make(chan struct{})
				for range 2 {
					if err := p.Submit(ctx, blocker); err != nil {
						b.Fatal(err)
					}
					<-started
				}
				b.StartTimer()
				for _, j := range jobs[:n] {
					if err := p.Submit(ctx, j); err != nil {
						b.Fatal(err)
					}
				}
				close(hold)
				if err := p.Shutdown(ctx); err != nil { // drains the heap
					b.Fatal(err)
				}
				done += n
			}
		})
	}
}
