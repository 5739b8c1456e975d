package bench

import (
	"fmt"
	"testing"

	"github.com/poolgen/poolgen/bench/tasks"
)

// BenchmarkLatency: workload 7, latency under an open-loop load. Tasks of
// -lat.task CPU time (default 20 µs), GOMAXPROCS workers. For each
// contestant: its capacity is measured first (closed loop, one submitter,
// see capacity), then tasks arrive on a schedule at 50% and at 90% of that
// capacity for -lat.point (a few seconds in the full size), from one
// generator goroutine (see openLoop). -lat.capacity sets one capacity for
// every contestant instead, to compare them at the same arrival rates (a
// pool of lower capacity is otherwise measured at a lower rate, which
// leaves more of the machine to the generator). Metrics (over all b.N
// runs):
//
//	p50-ns ... max-ns      start − scheduled arrival: what a caller sees
//	sub-p50-ns ...         start − submission: the pool alone
//	late-p99-ns, late-max-ns  the generator's own lateness (submission −
//	                       schedule), which includes time blocked in Submit
//	cap-tasks/s            the capacity the rates derive from
//
// ns/op is wall time per task. Extra contestants (the dynamic and
// work-stealing pools) join through latencyExtra.
func BenchmarkLatency(b *testing.B) {
	cs := append(lineup(generatedTimed, nil), latencyExtra...)
	rounds := spinRounds(*latTaskFlag)
	for _, load := range []int{50, 90} {
		b.Run(fmt.Sprintf("load=%d%%", load), func(b *testing.B) {
			for _, c := range cs {
				b.Run("impl="+c.name, func(b *testing.B) {
					s := size()
					cfg := config{workers: gomaxprocs()}
					capa := *latCapFlag
					if capa == 0 {
						var err error
						if capa, err = capacity(c, cfg, rounds, s.capWindow); err != nil {
							b.Fatalf("%s: capacity: %v", c.name, err)
						}
					}
					rate := capa * float64(load) / 100
					n := max(100, int(rate*s.latPoint.Seconds()))
					var all point
					b.ResetTimer()
					for range b.N {
						pt, err := openLoop(c, cfg, rounds, n, rate, func(int) (uint8, int64) { return 0, 0 })
						if err != nil {
							b.Fatalf("%s: %v", c.name, err)
						}
						all.merge(pt)
					}
					b.StopTimer()
					reportLatency(b, "", allClasses(&all.wait), true)
					reportLatency(b, "sub-", allClasses(&all.sub), false)
					l := all.late.Latency()
					b.ReportMetric(float64(l.P99), "late-p99-ns")
					b.ReportMetric(float64(l.Max), "late-max-ns")
					b.ReportMetric(capa, "cap-tasks/s")
					b.ReportMetric(float64(all.elapsed.Nanoseconds())/float64(all.tasks), "ns/op")
				})
			}
		})
	}
}

// latencyExtra holds contestants of the latency workload that live in
// files of their own (the dynamic and work-stealing pools).
var latencyExtra []contestant[tasks.Timed]
