package bench

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/poolgen/poolgen/bench/tasks"
)

// BenchmarkPriority: workload 5, priority under overload. Tasks of
// -lat.task CPU time (default 20 µs), GOMAXPROCS workers; a share -prio.high
// (default 20%) of them are high priority (Prio 1, class hi), the rest low
// (Prio 0, class lo), picked by a hash of the task's number. Before each
// row the machine's capacity is measured with no pool at all: the same
// tasks run on GOMAXPROCS goroutines for a moment (see machineCapacity);
// then tasks arrive on a schedule at -prio.load (default 1.2×) that
// capacity for -prio.point, so that every contestant faces the same
// arrivals and no pool can keep up: a backlog builds up, and is then
// drained. (A contestant's own capacity, as the latency workload uses, is
// too noisy an estimate on a shared machine to set an overload by.)
// Every bounded queue is sized to hold the whole run, so that Submit never
// blocks where the pool has a queue at all and the order of the backlog is
// the pool's to choose. Metrics, from scheduled arrival to start, per
// class: hi-p50-ns, hi-p99-ns, hi-max-ns, lo-p50-ns, lo-p99-ns, lo-max-ns
// (the lowest class's maximum wait is what aging bounds), late-p99-ns as
// in BenchmarkLatency, and cap-tasks/s, the capacity the rate derives from.
//
// Every peer is FIFO and runs the workload as such: it shows the waits
// without priorities. chan-prio is the usual hand-written priority pool:
// one channel per class, workers preferring the high one. poolgen's
// priority pools (with and without poolrt.Aging) join through
// priorityExtra, first.
func BenchmarkPriority(b *testing.B) {
	cs := append(priorityExtra[:len(priorityExtra):len(priorityExtra)],
		lineup(generatedTimed, []contestant[tasks.Timed]{{name: "chan-prio", start: startChanPrio}})...)
	rounds := spinRounds(*latTaskFlag)
	high := uint32(*prioHighFlag * 1000)
	classOf := func(i int) (uint8, int64) {
		if mix32(uint32(i))%1000 < high {
			return 1, 1
		}
		return 0, 0
	}
	for _, c := range cs {
		b.Run("impl="+c.name, func(b *testing.B) {
			s := size()
			cfg := config{workers: gomaxprocs()}
			capa := machineCapacity(cfg.workers, rounds, s.capWindow)
			rate := capa * *prioLoadFlag
			n := max(100, int(rate*s.prioPoint.Seconds()))
			cfg.queue = n
			var all point
			b.ResetTimer()
			for range b.N {
				pt, err := openLoop(c, cfg, rounds, n, rate, classOf)
				if err != nil {
					b.Fatalf("%s: %v", c.name, err)
				}
				all.merge(pt)
			}
			b.StopTimer()
			reportLatency(b, "hi-", &all.wait[1], false)
			reportLatency(b, "lo-", &all.wait[0], false)
			b.ReportMetric(float64(all.late.Latency().P99), "late-p99-ns")
			b.ReportMetric(capa, "cap-tasks/s")
			b.ReportMetric(float64(all.elapsed.Nanoseconds())/float64(all.tasks), "ns/op")
		})
	}
}

// machineCapacity measures how many tasks of the given rounds the machine
// runs per second on workers goroutines with no pool: each goroutine runs
// tasks back to back for window.
func machineCapacity(workers, rounds int, window time.Duration) float64 {
	rec := tasks.NewRecorder(0)
	t := tasks.Timed{R: rec, N: rounds}
	ctx := context.Background()
	start := time.Now()
	deadline := start.Add(window)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for time.Now().Before(deadline) {
				_ = t.Run(ctx)
			}
		})
	}
	wg.Wait()
	return float64(rec.C.Load()) / time.Since(start).Seconds()
}

// priorityExtra holds contestants of the priority workload that live in
// files of their own (the priority and dynamic pools). they come first.
var priorityExtra []contestant[tasks.Timed]

// mix32 is a cheap integer hash (splitmix32's finalizer).
func mix32(x uint32) uint32 {
	x ^= x >> 16
	x *= 0x7feb352d
	x ^= x >> 15
	x *= 0x846ca68b
	x ^= x >> 16
	return x
}

// chanPrio is the priority pool a Go programmer writes by hand: a channel
// per class, and workers that take a high-priority task whenever one is
// waiting and otherwise whichever comes first.
type chanPrio struct {
	high, low chan tasks.Timed
	wg        sync.WaitGroup
}

func startChanPrio(cfg config) (pool[tasks.Timed], error) {
	q := max(cfg.queue, chanCap)
	p := &chanPrio{high: make(chan tasks.Timed, q), low: make(chan tasks.Timed, q)}
	ctx := context.Background()
	for range cfg.workers {
		p.wg.Go(func() {
			high, low := p.high, p.low
			for high != nil || low != nil {
				select {
				case t, ok := <-high:
					if !ok {
						high = nil
						continue
					}
					_ = t.Run(ctx)
					continue
				default:
				}
				select {
				case t, ok := <-high:
					if !ok {
						high = nil
						continue
					}
					_ = t.Run(ctx)
				case t, ok := <-low:
					if !ok {
						low = nil
						continue
					}
					_ = t.Run(ctx)
				}
			}
		})
	}
	return p, nil
}

func (p *chanPrio) submitN(ctx context.Context, t tasks.Timed, n int) error {
	for range n {
		if err := p.submit(ctx, t); err != nil {
			return err
		}
	}
	return nil
}

func (p *chanPrio) submit(ctx context.Context, t tasks.Timed) error {
	if t.Prio > 0 {
		p.high <- t
	} else {
		p.low <- t
	}
	return nil
}

func (p *chanPrio) close() error {
	close(p.high)
	close(p.low)
	p.wg.Wait()
	return nil
}
