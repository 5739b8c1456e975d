package bench

import (
	"context"
	"fmt"
	"runtime"
	rtmetrics "runtime/metrics"
	"sync"
	"testing"
	"time"

	"github.com/poolgen/poolgen/bench/tasks"
)

// BenchmarkMemory: workload 8, bytes per queued task. A pool of
// GOMAXPROCS workers is started, the workers are all blocked (every
// tasks.Payload32 waits at a gate in Run, so the first GOMAXPROCS tasks
// occupy them), and n more tasks of 32 bytes are queued behind them. The
// cost is (HeapAlloc + StackInuse) after GC, minus the same before the pool
// was made, divided by the tasks: it includes the pool's own structures
// (negligible at this scale) and, for preallocated queues, their whole
// capacity, which every bounded queue is given as n.
//
// Pools whose Submit blocks while the workers are busy (ants, conc,
// errgroup) have no queue: a waiting task is a goroutine blocked in
// Submit, so n goroutines each submit one task; go-waitgroup's waiting
// tasks are goroutines too. For those, n is -mem.parked (by default a
// fifth of -mem.tasks: a parked goroutine costs kilobytes). Metrics:
// B/task (heap+stack), heap-B/task, stack-B/task and goroutines/task.
func BenchmarkMemory(b *testing.B) {
	cs := append(lineup(generatedPayload32, nil), memoryExtra...)
	for _, c := range cs {
		b.Run("impl="+c.name, func(b *testing.B) {
			for range b.N {
				queuedMemory(b, c)
			}
		})
	}
}

// memoryExtra holds contestants of the memory workload that live in files
// of their own (the work-stealing, priority and dynamic pools).
var memoryExtra []contestant[tasks.Payload32]

// parks reports whether c's waiting tasks are goroutines.
func parks[T any](c contestant[T]) bool { return c.blocking || c.name == "go-waitgroup" }

// memStat is the memory the process holds that the workload counts.
type memStat struct{ heap, stack, goroutines int64 }

func readMem() memStat {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return memStat{int64(ms.HeapAlloc), int64(ms.StackInuse), int64(runtime.NumGoroutine())}
}

func queuedMemory(b *testing.B, c contestant[tasks.Payload32]) {
	s := size()
	n := s.memTasks
	if parks(c) {
		n = s.memParked
	}
	workers := gomaxprocs()
	total := n + workers
	ctx := context.Background()

	before := readMem()
	m := tasks.NewMemCounter()
	p, err := c.start(config{workers: workers, queue: total})
	if err != nil {
		b.Fatalf("%s: start: %v", c.name, err)
	}
	task := func(i int) tasks.Payload32 { return tasks.Payload32{M: m, Seq: uint64(i + 1), A: 1, B: 2} }
	errs := make(chan error, 1)
	var wg sync.WaitGroup
	if c.blocking {
		for i := range total {
			wg.Go(func() {
				if err := p.submit(ctx, task(i)); err != nil {
					select {
					case errs <- err:
					default:
					}
				}
			})
		}
	} else {
		for i := range total {
			if err := p.submit(ctx, task(i)); err != nil {
				b.Fatalf("%s: submit %d: %v", c.name, i, err)
			}
		}
	}
	if err := settle(before.goroutines, parks(c), total); err != nil {
		b.Fatalf("%s: %v", c.name, err)
	}
	after := readMem()
	runtime.KeepAlive(p)

	m.Open()
	wg.Wait()
	select {
	case err := <-errs:
		b.Fatalf("%s: submit: %v", c.name, err)
	default:
	}
	if err := waitCount(&m.Counter, int64(total), 30*time.Second); err != nil {
		b.Fatalf("%s: %v", c.name, err)
	}
	if err := p.close(); err != nil {
		b.Fatalf("%s: close: %v", c.name, err)
	}
	t := uint64(total)
	if m.Load() != int64(total) || m.Sum() != t*(t+1)/2+3*t {
		b.Fatalf("%s: %d runs (sum %d), want each of %d tasks exactly once", c.name, m.Load(), m.Sum(), total)
	}
	heap := float64(after.heap-before.heap) / float64(n)
	stack := float64(after.stack-before.stack) / float64(n)
	b.ReportMetric(heap+stack, "B/task")
	b.ReportMetric(heap, "heap-B/task")
	b.ReportMetric(stack, "stack-B/task")
	b.ReportMetric(float64(after.goroutines-before.goroutines)/float64(n), "goroutines/task")
	b.ReportMetric(float64(n), "tasks")
}

// settle waits until the tasks just submitted have come to rest: when they
// wait in goroutines (parked), until there are total more goroutines than
// base and none of the process's goroutines is runnable, twice in a row.
func settle(base int64, parked bool, total int) error {
	if !parked {
		return nil
	}
	samples := []rtmetrics.Sample{{Name: "/sched/goroutines/runnable:goroutines"}}
	deadline := time.Now().Add(2 * time.Minute)
	calm := 0
	for calm < 2 {
		if time.Now().After(deadline) {
			return fmt.Errorf("submitters did not settle: %d goroutines, want %d more than %d", runtime.NumGoroutine(), total, base)
		}
		time.Sleep(5 * time.Millisecond)
		rtmetrics.Read(samples)
		if int64(runtime.NumGoroutine()) >= base+int64(total) && samples[0].Value.Uint64() == 0 {
			calm++
		} else {
			calm = 0
		}
	}
	return nil
}

// BenchmarkIdle: workload 8, what a pool of GOMAXPROCS workers holds
// while idle, and what it leaves behind. Per run: idle-B and
// idle-goroutines just after the pool was made; warm-B and
// warm-goroutines after it has run 10,000 tiny tasks and been idle for
// 10 ms (pools that start workers on demand keep some for a while);
// goroutines-left after close, once the count stopped falling (waiting up
// to a second). Bytes are HeapAlloc + StackInuse after GC.
func BenchmarkIdle(b *testing.B) {
	for _, c := range withHandwritten(generatedTiny, handwrittenTiny) {
		if c.name == "inline" {
			continue
		}
		b.Run("impl="+c.name, func(b *testing.B) {
			for range b.N {
				idle(b, c)
			}
		})
	}
}

func idle(b *testing.B, c contestant[tasks.Tiny]) {
	const warmTasks = 10_000
	before := readMem()
	p, err := c.start(config{workers: gomaxprocs()})
	if err != nil {
		b.Fatalf("%s: start: %v", c.name, err)
	}
	fresh := readMem()
	counter := new(tasks.Counter)
	if err := p.submitN(context.Background(), tasks.Tiny{C: counter}, warmTasks); err != nil {
		b.Fatalf("%s: submit: %v", c.name, err)
	}
	if err := waitCount(counter, warmTasks, 30*time.Second); err != nil {
		b.Fatalf("%s: %v", c.name, err)
	}
	time.Sleep(10 * time.Millisecond)
	warm := readMem()
	if err := p.close(); err != nil {
		b.Fatalf("%s: close: %v", c.name, err)
	}
	if counter.Load() != warmTasks {
		b.Fatalf("%s: %d runs, want %d", c.name, counter.Load(), warmTasks)
	}
	left := int64(runtime.NumGoroutine())
	for deadline := time.Now().Add(time.Second); left > before.goroutines && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
		left = int64(runtime.NumGoroutine())
	}
	b.ReportMetric(float64(fresh.heap+fresh.stack-before.heap-before.stack), "idle-B")
	b.ReportMetric(float64(fresh.goroutines-before.goroutines), "idle-goroutines")
	b.ReportMetric(float64(warm.heap+warm.stack-before.heap-before.stack), "warm-B")
	b.ReportMetric(float64(warm.goroutines-before.goroutines), "warm-goroutines")
	b.ReportMetric(float64(left-before.goroutines), "goroutines-left")
}

// BenchmarkCreateShutdown: workload 8, the cost of making a pool of
// GOMAXPROCS workers, running one tiny task on it and shutting it down
// (ns/op, B/op, allocs/op per pool).
func BenchmarkCreateShutdown(b *testing.B) {
	for _, c := range withHandwritten(generatedTiny, handwrittenTiny) {
		if c.name == "inline" {
			continue
		}
		b.Run("impl="+c.name, func(b *testing.B) {
			b.ReportAllocs()
			counter := new(tasks.Counter)
			ctx := context.Background()
			for i := range b.N {
				p, err := c.start(config{workers: gomaxprocs()})
				if err != nil {
					b.Fatalf("%s: start: %v", c.name, err)
				}
				if err := p.submit(ctx, tasks.Tiny{C: counter}); err != nil {
					b.Fatalf("%s: submit: %v", c.name, err)
				}
				if err := waitCount(counter, int64(i+1), 30*time.Second); err != nil {
					b.Fatalf("%s: %v", c.name, err)
				}
				if err := p.close(); err != nil {
					b.Fatalf("%s: close: %v", c.name, err)
				}
			}
			if counter.Load() != int64(b.N) {
				b.Fatalf("%s: %d runs, want %d", c.name, counter.Load(), b.N)
			}
		})
	}
}
