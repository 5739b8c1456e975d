package bench

import (
	"context"
	"flag"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/poolgen/poolgen/bench/tasks"
	poolrt "github.com/poolgen/poolgen/runtime"
	"github.com/poolgen/poolgen/runtime/poolimpl"
)

var (
	routerPointFlag = flag.Duration("router.point", time.Second, "router workloads: duration of one phase")
	routerTinyFlag  = flag.Float64("router.tiny", 10000, "router mixed workload: tiny tasks per second")
	routerIOFlag    = flag.Float64("router.io", 1000, "router mixed workload: 1 ms I/O tasks per second")
	routerRateFlag  = flag.Float64("router.rate", 10000, "router shift workload: 1 ms tasks per second, both classes together")
)

// The classes of the router workloads.
const (
	classTiny, classIO = 0, 1
	classA, classB     = 0, 1
)

// routerPool is what the router workloads submit to: a router, or one
// pool for every class.
type routerPool interface {
	Submit(ctx context.Context, t tasks.Routed) error
	Shutdown(ctx context.Context) error
}

// drive submits, open loop, the tasks of one phase of a router workload:
// at rates[k] tasks per second of class k for d, each stamped with its
// submission time, and made by mk. Tasks due at the same moment are
// submitted together; the driver sleeps between them.
func drive(b *testing.B, p routerPool, m *tasks.Mix, phase uint8, d time.Duration, rates [tasks.MixClasses]float64, mk func(class uint8) tasks.Routed) int {
	ctx := context.Background()
	m.Current.Store(uint32(phase))
	start := time.Now()
	var sent [tasks.MixClasses]int
	n := 0
	for {
		el := time.Since(start)
		if el >= d {
			return n
		}
		for k := range tasks.MixClasses {
			for due := int(rates[k] * el.Seconds()); sent[k] < due; sent[k]++ {
				t := mk(uint8(k))
				t.M, t.Kind, t.Phase, t.At = m, uint8(k), phase, m.Now()
				if err := p.Submit(ctx, t); err != nil {
					b.Fatalf("Submit: %v", err)
				}
				n++
			}
		}
		time.Sleep(50 * time.Microsecond)
	}
}

// settleRouted shuts p down and checks that every task ran once.
func settleRouted(b *testing.B, p routerPool, m *tasks.Mix, n int) {
	if err := p.Shutdown(context.Background()); err != nil {
		b.Fatal(err)
	}
	if got := m.Load(); got != int64(n) {
		b.Fatalf("%d tasks ran, %d submitted", got, n)
	}
}

// BenchmarkRouterMixed: tiny tasks (about 1 µs of CPU) at -router.tiny per
// second, and tasks that sleep 1 ms (as I/O waits) at -router.io per
// second, for -router.point. Rows:
//   - tiny-alone: the tiny tasks alone, through a router whose tiny class
//     is a fixed pool of one worker (the bar's reference);
//   - routed: both classes through the router, the I/O class a dynamic
//     pool of up to 64 workers;
//   - tiny-pool+go-io: the control: the tiny tasks on the same pool, each
//     I/O task on a goroutine of its own, outside any pool, for what the
//     I/O load alone does to the tiny tasks' waits;
//   - one-pool: both in one fixed pool of GOMAXPROCS workers, as without
//     routing.
//
// Metrics: tiny-wait-p50-ns, tiny-wait-p99-ns and io-wait-p99-ns, the
// queue waits (submission to start of Run, every task timed).
func BenchmarkRouterMixed(b *testing.B) {
	rounds := spinRounds(time.Microsecond)
	rows := []struct {
		name string
		io   bool
		make func(b *testing.B) routerPool
	}{
		{"tiny-alone", false, newMixedRouter},
		{"routed", true, newMixedRouter},
		{"tiny-pool+go-io", true, func(b *testing.B) routerPool {
			tiny, err := tasks.NewRoutedFixedPool(poolrt.Workers(1), poolrt.QueueSize(1<<16))
			if err != nil {
				b.Fatal(err)
			}
			return &goIO{tiny: tiny}
		}},
		{"one-pool", true, func(b *testing.B) routerPool {
			p, err := tasks.NewRoutedFixedPool(poolrt.Workers(runtime.GOMAXPROCS(0)), poolrt.QueueSize(1<<16))
			if err != nil {
				b.Fatal(err)
			}
			return p
		}},
	}
	for _, row := range rows {
		b.Run("impl="+row.name, func(b *testing.B) {
			var tiny, io poolimpl.HistogramSnapshot
			tasksRun := 0
			b.ResetTimer()
			for range b.N {
				m := tasks.NewMix()
				p := row.make(b)
				rates := [tasks.MixClasses]float64{classTiny: *routerTinyFlag}
				if row.io {
					rates[classIO] = *routerIOFlag
				}
				n := drive(b, p, m, 0, *routerPointFlag, rates, func(class uint8) tasks.Routed {
					if class == classIO {
						return tasks.Routed{D: time.Millisecond}
					}
					return tasks.Routed{N: rounds}
				})
				settleRouted(b, p, m, n)
				tasksRun += n
				m.Wait[classTiny][0].AddTo(&tiny)
				m.Wait[classIO][0].AddTo(&io)
			}
			b.StopTimer()
			b.ReportMetric(float64(tiny.Quantile(0.50)), "tiny-wait-p50-ns")
			b.ReportMetric(float64(tiny.Quantile(0.99)), "tiny-wait-p99-ns")
			if row.io {
				b.ReportMetric(float64(io.Quantile(0.99)), "io-wait-p99-ns")
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(tasksRun), "ns/op")
		})
	}
}

// goIO is the control row of BenchmarkRouterMixed: the tiny tasks on
// their pool, the I/O tasks each on a goroutine of its own, outside any
// pool.
type goIO struct {
	tiny *tasks.RoutedFixedPool
	wg   sync.WaitGroup
}

func (g *goIO) Submit(ctx context.Context, t tasks.Routed) error {
	if t.Kind == classTiny {
		return g.tiny.Submit(ctx, t)
	}
	g.wg.Go(func() { _ = t.Run(ctx) })
	return nil
}

func (g *goIO) Shutdown(ctx context.Context) error {
	g.wg.Wait()
	return g.tiny.Shutdown(ctx)
}

// newMixedRouter is the router of BenchmarkRouterMixed: tiny tasks on a
// fixed pool of one worker, I/O tasks on a dynamic pool of up to 64.
func newMixedRouter(b *testing.B) routerPool {
	tiny, err := tasks.NewRoutedFixedPool(poolrt.Workers(1), poolrt.QueueSize(1<<16))
	if err != nil {
		b.Fatal(err)
	}
	io, err := tasks.NewRoutedDynamicPool(poolrt.WorkerLimits(1, 64), poolrt.QueueSize(1<<16))
	if err != nil {
		b.Fatal(err)
	}
	r, err := tasks.NewRoutedRouter([]tasks.RoutedRouterClass{{Class: classTiny, Pool: tiny}, {Class: classIO, Pool: io}})
	if err != nil {
		b.Fatal(err)
	}
	return r
}

// BenchmarkRouterShift: two classes of tasks that sleep 1 ms, at
// -router.rate per second together, 90% class a and 10% class b for
// -router.point, then 10% a and 90% b for as long. Each class is a
// dynamic pool. Rows:
//   - static: each class limited to 8 workers;
//   - lend: the classes share a budget of 16 (poolrt.Lend(16)), each
//     keeping 2 (Min), each pool up to 16.
//
// At the default rate a class with 90% of the load keeps 9 workers busy
// while a sleep takes 1 ms (more on a loaded machine, where it takes
// longer): more than static gives it, less than lending can. Metrics, for
// each phase (p1, p2) and class (a, b): tput (tasks/s completed in the
// phase) and wait-p99-ns (of the tasks submitted in the phase).
func BenchmarkRouterShift(b *testing.B) {
	for _, lend := range []bool{false, true} {
		name := "static"
		if lend {
			name = "lend"
		}
		b.Run("impl="+name, func(b *testing.B) {
			var wait [tasks.MixClasses][tasks.MixPhases]poolimpl.HistogramSnapshot
			var done [tasks.MixClasses][tasks.MixPhases]int64
			tasksRun := 0
			b.ResetTimer()
			for range b.N {
				m := tasks.NewMix()
				r := newShiftRouter(b, lend)
				rate := *routerRateFlag
				mk := func(uint8) tasks.Routed { return tasks.Routed{D: time.Millisecond} }
				n := drive(b, r, m, 0, *routerPointFlag, [2]float64{0.9 * rate, 0.1 * rate}, mk)
				n += drive(b, r, m, 1, *routerPointFlag, [2]float64{0.1 * rate, 0.9 * rate}, mk)
				// Completions after the second phase (the drain) are in
				// neither phase's throughput.
				for k := range tasks.MixClasses {
					for ph := range tasks.MixPhases {
						done[k][ph] += m.Done[k][ph].Load()
					}
				}
				settleRouted(b, r, m, n)
				tasksRun += n
				for k := range tasks.MixClasses {
					for ph := range tasks.MixPhases {
						m.Wait[k][ph].AddTo(&wait[k][ph])
					}
				}
			}
			b.StopTimer()
			secs := routerPointFlag.Seconds() * float64(b.N)
			for ph := range tasks.MixPhases {
				for k, class := range []string{"a", "b"} {
					pre := fmt.Sprintf("p%d-%s-", ph+1, class)
					b.ReportMetric(float64(done[k][ph])/secs, pre+"tput")
					b.ReportMetric(float64(wait[k][ph].Quantile(0.99)), pre+"wait-p99-ns")
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(tasksRun), "ns/op")
		})
	}
}

// newShiftRouter is the router of BenchmarkRouterShift.
func newShiftRouter(b *testing.B, lend bool) *tasks.RoutedRouter {
	max, min := 8, 0
	var opts []poolrt.RouterOption
	if lend {
		max, min = 16, 2
		opts = append(opts, poolrt.Lend(16))
	}
	var routes []tasks.RoutedRouterClass
	for _, class := range []uint8{classA, classB} {
		p, err := tasks.NewRoutedDynamicPool(poolrt.WorkerLimits(1, max), poolrt.QueueSize(1<<17))
		if err != nil {
			b.Fatal(err)
		}
		routes = append(routes, tasks.RoutedRouterClass{Class: class, Pool: p, Min: min})
	}
	r, err := tasks.NewRoutedRouter(routes, opts...)
	if err != nil {
		b.Fatal(err)
	}
	return r
}
