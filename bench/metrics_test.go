package bench

import (
	"testing"

	"github.com/poolgen/poolgen/bench/tasks"
	poolrt "github.com/poolgen/poolgen/runtime"
)

// BenchmarkMetricsCost: workload 9, what poolgen's metrics cost, for every
// poolgen pool (the bar: at most 5% on a 1 µs task). metrics=on is the
// default (counters, and latency histograms sampled one task in 16);
// metrics=off is poolrt.Metrics(false)
// (counters only); metrics=every-task times every task
// (poolrt.LatencySampling(1)), the most a user can ask for, shown for
// information. The fixed pools run the 1 µs task of BenchmarkSpin1us from
// one submitter; the batch pools the items of BenchmarkBatch in batches of
// 64. The peers have no such switch (pond always counts; ants counts only
// running workers), so they are not here. Pending patterns join through
// metricsExtra. Compare with
//
//	benchstat -filter .name:MetricsCost -col /metrics results.txt
func BenchmarkMetricsCost(b *testing.B) {
	for _, impl := range poolgenImpls(generatedSpin1us) {
		b.Run("pool=fixed-"+trimPoolgen(impl.name), func(b *testing.B) {
			for _, s := range metricsSettings {
				c := impl.contestant("", s.opts)
				b.Run("metrics="+s.name, func(b *testing.B) {
					measure(b, c, config{workers: gomaxprocs()}, 1, tasks.NewSpin1us)
				})
			}
		})
	}
	for _, c := range batchContestants()[:2] {
		b.Run("pool=batch-"+trimPoolgen(c.name), func(b *testing.B) {
			for _, s := range metricsSettings {
				b.Run("metrics="+s.name, func(b *testing.B) {
					start := c.start
					batchRun(b, batcher{c.name, func(w, k int, _ ...poolrt.Option) (batchPool, error) {
						return start(w, k, s.opts...)
					}}, 64)
				})
			}
		})
	}
	for _, m := range metricsExtra {
		b.Run("pool="+m.name, m.run)
	}
}

// metricsSettings are the metrics configurations every pool runs under.
var metricsSettings = []struct {
	name string
	opts []poolrt.Option
}{
	{"on", nil},
	{"off", []poolrt.Option{poolrt.Metrics(false)}},
	{"every-task", []poolrt.Option{poolrt.LatencySampling(1)}},
}

// metricsExtra holds the metrics-cost benchmarks of the other patterns: run
// gets the sub-benchmark pool=<name> and runs metrics=on, off, every-task.
var metricsExtra []struct {
	name string
	run  func(b *testing.B)
}

// trimPoolgen turns "poolgen-generated" into "generated".
func trimPoolgen(name string) string { return name[len("poolgen-"):] }
