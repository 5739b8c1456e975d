package bench

import (
	rtmetrics "runtime/metrics"
	"sync"
	"testing"
	"time"

	"github.com/poolgen/poolgen/bench/tasks"
)

// BenchmarkSleep1ms: workload 3, I/O-like. Every task blocks for 1 ms on a
// timer (time.Sleep; ~1.1 ms on Linux, whose timers fire on the
// millisecond), and every pool has 1,000 workers, so the ideal is one task
// per microsecond however many cores there are. One submitter. ns/op is
// per task (throughput); B/op and allocs/op are per task; peak-goroutines
// and peak-MB (heap objects plus goroutine stacks, sampled every 10 ms
// with runtime/metrics, above what the process held before the pool
// started) say what holding a thousand blocked tasks costs.
// Extra contestants (the dynamic pool) join through sleepExtra.
func BenchmarkSleep1ms(b *testing.B) {
	workers := size().ioWorkers
	cs := append(lineup(generatedSleep, nil), sleepExtra...)
	for _, c := range cs {
		b.Run("impl="+c.name, func(b *testing.B) {
			peak := watchPeak()
			measure(b, c, config{workers: workers}, 1, func(c *tasks.Counter) tasks.Sleep {
				return tasks.Sleep{C: c, D: time.Millisecond}
			})
			g, bytes := peak()
			b.ReportMetric(float64(g), "peak-goroutines")
			b.ReportMetric(float64(bytes)/1e6, "peak-MB")
		})
	}
}

// sleepExtra holds contestants of the I/O-like workload that live in
// files of their own (the work-stealing, priority and dynamic pools).
var sleepExtra []contestant[tasks.Sleep]

// watchPeak samples the goroutine count and the bytes of heap objects and
// stacks every 10 ms until the returned function is called, which returns
// the peaks above the values at the start (not counting its own sampling
// goroutine).
func watchPeak() func() (goroutines, bytes int64) {
	samples := []rtmetrics.Sample{
		{Name: "/sched/goroutines:goroutines"},
		{Name: "/memory/classes/heap/objects:bytes"},
		{Name: "/memory/classes/heap/stacks:bytes"},
		{Name: "/memory/classes/os-stacks:bytes"},
	}
	read := func() (int64, int64) {
		rtmetrics.Read(samples)
		var bytes uint64
		for _, s := range samples[1:] {
			bytes += s.Value.Uint64()
		}
		return int64(samples[0].Value.Uint64()), int64(bytes)
	}
	g0, b0 := read()
	var mu sync.Mutex
	pg, pb := g0, b0
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for {
			g, b := read()
			mu.Lock()
			pg, pb = max(pg, g), max(pb, b)
			mu.Unlock()
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	}()
	return func() (int64, int64) {
		close(stop)
		<-done
		mu.Lock()
		defer mu.Unlock()
		return pg - g0 - 1, pb - b0 // less the sampling goroutine
	}
}
