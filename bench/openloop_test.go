package bench

import (
	"context"
	"fmt"
	"math"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/poolgen/poolgen/bench/tasks"
	poolrt "github.com/poolgen/poolgen/runtime"
	"github.com/poolgen/poolgen/runtime/poolimpl"
)

// The open-loop driver shared by the latency and priority workloads.
//
// A point measures the contestant's capacity first, then offers tasks at a
// fixed rate from a schedule: one generator goroutine computes the arrival
// time of task i as start + i/rate and submits it at that time. When the
// generator falls behind (a Submit blocked, or the machine did not run
// it), it submits at once, and the lateness stays in the measurement:
// every task records start − scheduled arrival, so a pool whose Submit
// blocks cannot hide its queue in its callers (no coordinated omission).
// Each task also records start − submission (what the pool alone adds),
// and the generator records its own lateness (submission − schedule).

// spinRounds returns the spin rounds of a task of CPU time d.
func spinRounds(d time.Duration) int {
	return max(1, int(int64(tasks.SpinRounds())*int64(d)/int64(tasks.SpinTarget)))
}

// capacity measures how many tasks of the given rounds a fresh pool of c
// completes per second, fed by one submitter that keeps a bounded number
// of tasks in flight (so that unbounded queues do not fill up), over
// window after a warm-up of window/4.
func capacity(c contestant[tasks.Timed], cfg config, rounds int, window time.Duration) (float64, error) {
	p, err := c.start(cfg)
	if err != nil {
		return 0, err
	}
	rec := tasks.NewRecorder(0)
	ctx := context.Background()
	inflight := int64(4*cfg.workers + 64)
	var submitted int64
	var begin, end time.Time
	var c0, c1 int64
	warm := time.Now().Add(window / 4)
	for {
		now := time.Now()
		if begin.IsZero() && now.After(warm) {
			begin, c0 = now, rec.C.Load()
		}
		if !begin.IsZero() && now.Sub(begin) >= window {
			end, c1 = now, rec.C.Load()
			break
		}
		if submitted-rec.C.Load() >= inflight {
			runtime.Gosched()
			continue
		}
		if err := p.submit(ctx, tasks.Timed{R: rec, Sched: rec.Now(), Sub: rec.Now(), N: rounds}); err != nil {
			_ = p.close()
			return 0, err
		}
		submitted++
	}
	if err := waitCount(&rec.C, submitted, 30*time.Second); err != nil {
		_ = p.close()
		return 0, err
	}
	if err := p.close(); err != nil {
		return 0, err
	}
	return float64(c1-c0) / end.Sub(begin).Seconds(), nil
}

// arrival is what the schedule says of task i besides its time.
type arrival func(i int) (class uint8, prio int64)

// point is one open-loop run's result.
type point struct {
	wait, sub [tasks.NumClasses]poolimpl.HistogramSnapshot
	// waitX and subX are every task's latencies exactly (all classes),
	// for percentiles that the histograms' buckets would round.
	waitX, subX []time.Duration
	late        poolimpl.HistogramSnapshot
	tasks       int
	elapsed     time.Duration
	// paced is the number of submissions a poolgen pool paced
	// (Stats.Paced); 0 for other pools.
	paced uint64
}

// feeder says how the open-loop generator waits for the next arrival and
// what else runs beside the pool. The zero value is the busy generator
// alone.
type feeder struct {
	// sleep: the generator sleeps until each arrival, leaving its P free.
	// Otherwise it yields in a loop (runtime.Gosched) for arrivals less
	// than 2 ms away, keeping its P busy, as a service's request
	// goroutines keep theirs.
	sleep bool
	// handlers goroutines run beside the pool for the whole point, each
	// alternating handlerWork of CPU work with a handlerRest sleep, as a
	// service's request handlers share its CPUs with its pools.
	handlers int
}

const (
	handlerWork = 50 * time.Microsecond
	handlerRest = 100 * time.Microsecond
)

// startHandlers starts n handler goroutines (see feeder) and returns a
// function that stops them and waits until they have returned.
func startHandlers(n int) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	rounds := spinRounds(handlerWork)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-done:
					return
				default:
				}
				tasks.Spin(rounds)
				time.Sleep(handlerRest)
			}
		}()
	}
	return func() { close(done); wg.Wait() }
}

// openLoop starts a pool of c with cfg and offers it n tasks of the given
// rounds at rate tasks per second, then waits until all ran, shuts the
// pool down and checks that each task ran exactly once (by ID).
func openLoop(c contestant[tasks.Timed], cfg config, rounds, n int, rate float64, classOf arrival) (*point, error) {
	return openLoopFed(c, cfg, rounds, n, rate, classOf, feeder{})
}

// openLoopFed is openLoop with the generator and company that f says.
func openLoopFed(c contestant[tasks.Timed], cfg config, rounds, n int, rate float64, classOf arrival, f feeder) (*point, error) {
	p, err := c.start(cfg)
	if err != nil {
		return nil, err
	}
	if f.handlers > 0 {
		defer startHandlers(f.handlers)()
	}
	rec := tasks.NewRecorder(n)
	ctx := context.Background()
	var late poolimpl.Histogram
	interval := float64(time.Second) / rate
	begin := time.Now()
	start := rec.Now() + int64(time.Millisecond)
	for i := range n {
		due := start + int64(math.Round(float64(i)*interval))
		for now := rec.Now(); now < due; now = rec.Now() {
			switch {
			case f.sleep:
				time.Sleep(time.Duration(due - now))
			case due-now > int64(2*time.Millisecond):
				time.Sleep(time.Duration(due-now) - 1500*time.Microsecond) // Linux timers fire on the ms
			default:
				runtime.Gosched()
			}
		}
		class, prio := classOf(i)
		sub := rec.Now()
		late.Record(time.Duration(sub - due))
		if err := p.submit(ctx, tasks.Timed{R: rec, Sched: due, Sub: sub, ID: uint32(i), Class: class, Prio: prio, N: rounds}); err != nil {
			_ = p.close()
			return nil, fmt.Errorf("submit %d: %w", i, err)
		}
	}
	if err := waitCount(&rec.C, int64(n), 30*time.Second); err != nil {
		_ = p.close()
		return nil, err
	}
	elapsed := time.Since(begin)
	var paced uint64
	if s, ok := p.(interface{ stats() poolrt.Stats }); ok {
		paced = s.stats().Paced
	}
	if err := p.close(); err != nil {
		return nil, fmt.Errorf("close: %w", err)
	}
	if bad, first := rec.Missing(n); bad > 0 || rec.C.Load() != int64(n) {
		return nil, fmt.Errorf("%d of %d tasks did not run exactly once (first: %d); %d runs", bad, n, first, rec.C.Load())
	}
	pt := &point{tasks: n, elapsed: elapsed, paced: paced}
	pt.waitX, pt.subX = rec.Exact(n)
	for k := range tasks.NumClasses {
		rec.Wait[k].AddTo(&pt.wait[k])
		rec.Sub[k].AddTo(&pt.sub[k])
	}
	late.AddTo(&pt.late)
	return pt, nil
}

// merge adds q's histograms to p's.
func (p *point) merge(q *point) {
	for k := range tasks.NumClasses {
		addSnapshot(&p.wait[k], &q.wait[k])
		addSnapshot(&p.sub[k], &q.sub[k])
	}
	p.waitX = append(p.waitX, q.waitX...)
	p.subX = append(p.subX, q.subX...)
	addSnapshot(&p.late, &q.late)
	p.tasks += q.tasks
	p.elapsed += q.elapsed
	p.paced += q.paced
}

func addSnapshot(dst, src *poolimpl.HistogramSnapshot) {
	dst.Count += src.Count
	dst.Sum += src.Sum
	dst.Max = max(dst.Max, src.Max)
	for i := range dst.Buckets {
		dst.Buckets[i] += src.Buckets[i]
	}
}

// allClasses merges the histograms of every class.
func allClasses(h *[tasks.NumClasses]poolimpl.HistogramSnapshot) *poolimpl.HistogramSnapshot {
	var s poolimpl.HistogramSnapshot
	for k := range h {
		addSnapshot(&s, &h[k])
	}
	return &s
}

// reportLatency reports l's percentiles as metrics named prefix+"p50-ns", ...
func reportLatency(b *testing.B, prefix string, s *poolimpl.HistogramSnapshot, all bool) {
	l := s.Latency()
	b.ReportMetric(float64(l.P50), prefix+"p50-ns")
	if all {
		b.ReportMetric(float64(l.P95), prefix+"p95-ns")
	}
	b.ReportMetric(float64(l.P99), prefix+"p99-ns")
	if all {
		b.ReportMetric(float64(l.P999), prefix+"p999-ns")
	}
	b.ReportMetric(float64(l.Max), prefix+"max-ns")
}
