package bench

import (
	"context"
	"strconv"
	"testing"
	"time"

	poolrt "github.com/poolgen/poolgen/runtime"
	"github.com/poolgen/poolgen/templates"
)

// pinModes are the two sides of the affinity benchmarks: the same pool
// without and with PinWorkers.
var pinModes = []struct {
	name string
	opts []poolrt.Option
}{
	{"pin=off", nil},
	{"pin=on", []poolrt.Option{poolrt.PinWorkers()}},
}

// noop is the smallest task.
type noop struct{}

func (noop) Run(context.Context) error { return nil }

// BenchmarkWake: the cost of waking a parked worker, pinned or not. One
// worker, one submitter: each op waits (timer stopped) until the worker
// has surely parked, then times a SubmitWait of an empty task: the
// wake-up, the run and the hand-off of the outcome back. A pinned worker
// is locked to its thread, so its wake-up must hand a processor to that
// thread rather than run on whichever thread is free.
func BenchmarkWake(b *testing.B) {
	for _, m := range pinModes {
		b.Run(m.name, func(b *testing.B) {
			p, err := templates.NewFixedPool[noop](append([]poolrt.Option{poolrt.Workers(1)}, m.opts...)...)
			if err != nil {
				b.Fatal(err)
			}
			defer p.ShutdownNow()
			ctx := context.Background()
			for b.Loop() {
				b.StopTimer()
				time.Sleep(100 * time.Microsecond) // the worker parks
				b.StartTimer()
				if err := p.SubmitWait(ctx, noop{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// scan is a cache-heavy task: it walks its worker's buffer (a worker
// resource) with a stride of a cache line, Passes times, so that a worker
// that stays on its CPU finds the buffer in that CPU's cache.
type scan struct{ Passes int }

func (s scan) Run(ctx context.Context) error {
	buf, _ := poolrt.Resource[[]uint64](ctx)
	var x uint64
	for range s.Passes {
		for i := 0; i < len(buf); i += 8 {
			buf[i]++
			x += buf[i]
		}
	}
	if x == 1 {
		buf[0] = x // keep the loop
	}
	return nil
}

// BenchmarkCacheHeavy: GOMAXPROCS workers, each with a buffer of its own
// (WorkerResource), run tasks that walk it; GOMAXPROCS submitters keep
// them busy. Pinned, a worker and its buffer stay on one CPU; unpinned,
// the scheduler may move a worker between CPUs, and its buffer must then
// be fetched into the new CPU's cache. buf=256KiB fits a core's L2 (512
// KiB on the machines measured) but not two workers' buffers in one;
// buf=4KiB is the control, whose buffer any CPU holds in L1: a
// difference there is not the cache's. ns/op is per task.
func BenchmarkCacheHeavy(b *testing.B) {
	for _, size := range []int{4 << 10, 256 << 10} {
		open := func(context.Context) ([]uint64, error) { return make([]uint64, size/8), nil }
		passes := 4 * (256 << 10) / size // the same work per task at every size
		for _, m := range pinModes {
			b.Run("buf="+strconv.Itoa(size>>10)+"KiB/"+m.name, func(b *testing.B) {
				opts := append([]poolrt.Option{poolrt.Workers(gomaxprocs()), poolrt.WorkerResource(open, func([]uint64) {})}, m.opts...)
				p, err := templates.NewFixedPool[scan](opts...)
				if err != nil {
					b.Fatal(err)
				}
				ctx := context.Background()
				b.ResetTimer()
				b.SetParallelism(1)
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						if err := p.Submit(ctx, scan{Passes: passes}); err != nil {
							b.Error(err)
							return
						}
					}
				})
				if err := p.Shutdown(ctx); err != nil {
					b.Fatal(err)
				}
			})
		}
	}
}

// ioConn stands for an I/O worker's resource: a connection's state.
type ioConn struct{ buf [256]byte }

// ioTask is an I/O task's stand-in: it touches its worker's connection.
type ioTask struct{}

func (ioTask) Run(ctx context.Context) error {
	if c, ok := poolrt.Resource[*ioConn](ctx); ok {
		c.buf[0]++
	}
	return nil
}

// BenchmarkIOWorkers: a pool of 4096 workers with a resource each (the
// shape of a pool of I/O workers, one connection per worker). Per run:
// B/worker, what each idle worker holds, heap and stack, its resource
// (a 256-byte ioConn) included, measured after GC; ns/op is the wake-up
// latency, SubmitWait of a task to the idle pool.
func BenchmarkIOWorkers(b *testing.B) {
	const workers = 4096
	for _, res := range []bool{false, true} {
		name := "resource=off"
		if res {
			name = "resource=on"
		}
		b.Run(name, func(b *testing.B) {
			before := readMem()
			opts := []poolrt.Option{poolrt.Workers(workers)}
			if res {
				opts = append(opts, poolrt.WorkerResource(func(context.Context) (*ioConn, error) {
					return new(ioConn), nil
				}, func(*ioConn) {}))
			}
			p, err := templates.NewFixedPool[ioTask](opts...)
			if err != nil {
				b.Fatal(err)
			}
			for p.Stats().Idle < workers {
				time.Sleep(time.Millisecond)
			}
			after := readMem()
			ctx := context.Background()
			for b.Loop() {
				if err := p.SubmitWait(ctx, ioTask{}); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			// After the loop: b.Loop's first call resets reported metrics.
			b.ReportMetric(float64(after.heap+after.stack-before.heap-before.stack)/workers, "B/worker")
			if err := p.Shutdown(ctx); err != nil {
				b.Fatal(err)
			}
		})
	}
}
