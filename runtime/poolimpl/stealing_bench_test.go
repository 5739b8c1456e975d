package poolimpl

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"

	poolrt "github.com/poolgen/poolgen/runtime"
)

// The work-stealing benchmarks compare StealingPool with the FixedPool and
// with plain goroutines on workloads whose tasks create tasks. Every
// contestant runs GOMAXPROCS workers (run with -cpu 1,2,4,8,16 for a
// scaling curve); pools are started before the timer and shut down after
// it, and one op is one whole workload, from its first submission until
// its last task has finished. Tasks never wait for their subtasks: a pool
// task that blocked on a join would hold its worker while the subtasks
// queue behind it, and with as many blocked tasks as workers the pool
// deadlocks. They join with continuation counters instead (see fibEnv).
// The FixedPool's subtasks go through Submit, whose queue is sized to
// hold a whole workload, so that Submit from a task never blocks (which
// could deadlock too). Goroutines join with a WaitGroup, as Go code
// naturally does.
//
//	go test -run '^$' -bench 'Stealing' -benchmem -count=10 ./runtime/poolimpl | tee new.txt
//	go run golang.org/x/perf/cmd/benchstat@latest -col /impl new.txt

// fibBench: fib(27) with sequential leaves at fib(10) and below (~0.4 µs
// of work each): 4180 internal tasks and 4181 leaves per op, so per-task
// overhead shows.
const fibBenchN, fibBenchCutoff = 27, 10

func BenchmarkStealingFib(b *testing.B) {
	want := fibSeq(fibBenchN)
	b.Run("impl=stealing", func(b *testing.B) {
		p := newStealing[fibTask](b)
		e := newFibEnv(fibBenchN, fibBenchCutoff, false)
		e.spawn = p.Fork
		benchFib(b, e, want, func(t fibTask) error { return p.Submit(context.Background(), t) })
	})
	b.Run("impl=fixed", func(b *testing.B) {
		e := newFibEnv(fibBenchN, fibBenchCutoff, false)
		p, err := NewFixedPool[fibTask](poolrt.QueueSize(2 * len(e.nodes)))
		if err != nil {
			b.Fatal(err)
		}
		defer p.ShutdownNow()
		e.spawn = p.Submit
		benchFib(b, e, want, func(t fibTask) error { return p.Submit(context.Background(), t) })
	})
	b.Run("impl=goroutines", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if got := fibGo(fibBenchN, fibBenchCutoff); got != want {
				b.Fatalf("fib = %d, want %d", got, want)
			}
		}
	})
	b.Run("impl=sequential", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if got := fibSeq(fibBenchN); got != want {
				b.Fatalf("fib = %d, want %d", got, want)
			}
		}
	})
}

func benchFib(b *testing.B, e *fibEnv, want int64, submit func(fibTask) error) {
	b.ReportAllocs()
	for b.Loop() {
		if err := submit(e.start(fibBenchN)); err != nil {
			b.Fatal(err)
		}
		<-e.done
		if got := e.result.Load(); got != want {
			b.Fatalf("fib = %d, want %d", got, want)
		}
	}
}

// fibGo is fork-join with goroutines: one goroutine per fork, the other
// half computed on the spot, joined with a WaitGroup.
func fibGo(n int32, cutoff int) int64 {
	if int(n) <= cutoff {
		return fibSeq(n)
	}
	var wg sync.WaitGroup
	var a int64
	wg.Go(func() { a = fibGo(n-1, cutoff) })
	c := fibGo(n-2, cutoff)
	wg.Wait()
	return a + c
}

// The unbalanced workload, per op: ubHuge huge tasks, each standing for
// ubSmall small tasks (~1 µs of work each), submitted first, then ubTiny
// tiny tasks (~50 ns) submitted one by one from outside. A huge task
// splits its range of small tasks in halves, forking both (a parallel
// loop, written as fork-join code is), down to ubGrain small tasks, which
// it forks one by one. A pool that cannot spread the huge tasks' work
// leaves workers idle; one whose per-task cost is high drowns in the tiny
// tasks. Every contestant runs the same task code.
const (
	ubHuge, ubSmall, ubTiny = 4, 1000, 4000
	ubGrain                 = 8
	ubSmallRounds           = 500
	ubTinyRounds            = 20
)

// ubTasks is the number of tasks in one op: the tiny ones, the small ones
// and the huge ones' splitting tasks.
var ubTasks = ubTiny + ubHuge*(ubSmall+ubSplits(ubSmall))

func ubSplits(n int) int {
	if n <= ubGrain {
		return 1
	}
	return 1 + ubSplits(n/2) + ubSplits(n-n/2)
}

const (
	ubSplit uint8 = iota // a range [lo, hi) of small tasks
	ubSmallTask
	ubTinyTask
)

type ubTask struct {
	kind   uint8
	lo, hi int32
	env    *ubEnv
}

type ubEnv struct {
	spawn     func(ctx context.Context, t ubTask) error
	remaining atomic.Int64
	sink      atomic.Uint64
	done      chan struct{} // receives when remaining reaches 0
}

func (u ubTask) Run(ctx context.Context) error {
	e := u.env
	switch u.kind {
	case ubSplit:
		if u.hi-u.lo > ubGrain {
			mid := u.lo + (u.hi-u.lo)/2
			if err := e.spawn(ctx, ubTask{kind: ubSplit, lo: u.lo, hi: mid, env: e}); err != nil {
				return err
			}
			if err := e.spawn(ctx, ubTask{kind: ubSplit, lo: mid, hi: u.hi, env: e}); err != nil {
				return err
			}
		} else {
			for range u.hi - u.lo {
				if err := e.spawn(ctx, ubTask{kind: ubSmallTask, env: e}); err != nil {
					return err
				}
			}
		}
		e.finish(1)
	case ubSmallTask:
		e.finish(spinRounds(ubSmallRounds))
	case ubTinyTask:
		e.finish(spinRounds(ubTinyRounds))
	}
	return nil
}

func (e *ubEnv) finish(x uint64) {
	if x == 0 {
		e.sink.Add(1) // never: keeps the spin's result live
	}
	if e.remaining.Add(-1) == 0 {
		e.done <- struct{}{}
	}
}

// spinRounds runs n rounds of xorshift64: CPU work the compiler cannot
// remove. The result is never 0.
//
//go:noinline
func spinRounds(n int) uint64 {
	x := uint64(88172645463325252)
	for range n {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
	}
	return x
}

func newUbEnv() *ubEnv { return &ubEnv{done: make(chan struct{}, 1)} }

// runUb runs one op: the huge tasks, then the tiny ones, through submit,
// and waits for all of them.
func (e *ubEnv) runUb(b *testing.B, submit func(ubTask) error) {
	e.remaining.Store(int64(ubTasks))
	for range ubHuge {
		if err := submit(ubTask{kind: ubSplit, lo: 0, hi: ubSmall, env: e}); err != nil {
			b.Fatal(err)
		}
	}
	for range ubTiny {
		if err := submit(ubTask{kind: ubTinyTask, env: e}); err != nil {
			b.Fatal(err)
		}
	}
	<-e.done
}

func BenchmarkStealingUnbalanced(b *testing.B) {
	ctx := context.Background()
	b.Run("impl=stealing", func(b *testing.B) {
		p := newStealing[ubTask](b, poolrt.QueueSize(ubTasks))
		e := newUbEnv()
		e.spawn = p.Fork
		b.ReportAllocs()
		for b.Loop() {
			e.runUb(b, func(t ubTask) error { return p.Submit(ctx, t) })
		}
	})
	b.Run("impl=fixed", func(b *testing.B) {
		p, err := NewFixedPool[ubTask](poolrt.QueueSize(ubTasks))
		if err != nil {
			b.Fatal(err)
		}
		defer p.ShutdownNow()
		e := newUbEnv()
		e.spawn = p.Submit
		b.ReportAllocs()
		for b.Loop() {
			e.runUb(b, func(t ubTask) error { return p.Submit(ctx, t) })
		}
	})
	b.Run("impl=goroutines", func(b *testing.B) {
		e := newUbEnv()
		var wg sync.WaitGroup
		e.spawn = func(ctx context.Context, t ubTask) error {
			wg.Go(func() { t.Run(ctx) })
			return nil
		}
		b.ReportAllocs()
		for b.Loop() {
			e.runUb(b, func(t ubTask) error {
				wg.Go(func() { t.Run(ctx) })
				return nil
			})
		}
		wg.Wait()
	})
}
