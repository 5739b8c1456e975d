package bench

import (
	"testing"

	"github.com/poolgen/poolgen/bench/tasks"
	poolrt "github.com/poolgen/poolgen/runtime"
)

// BenchmarkMetricsCost measures what poolgen's metrics cost on a 1 µs task
// (the bar: at most 5%), for every poolgen fixed pool: metrics=on is the
// default (counters, and latency histograms sampled one task in
// poolrt.DefaultLatencySampling); metrics=off is poolrt.Metrics(false)
// (counters only); metrics=every-task times every task
// (poolrt.LatencySampling(1)), the most a user can ask for, shown for
// information. Compare with
//
//	benchstat -filter .name:MetricsCost -col /metrics results.txt
func BenchmarkMetricsCost(b *testing.B) {
	settings := []struct {
		name string
		opts []poolrt.Option
	}{
		{"on", nil},
		{"off", []poolrt.Option{poolrt.Metrics(false)}},
		{"every-task", []poolrt.Option{poolrt.LatencySampling(1)}},
	}
	for _, impl := range poolgenImpls(generatedSpin1us) {
		b.Run("impl="+impl.name, func(b *testing.B) {
			for _, s := range settings {
				c := impl.contestant("", s.opts)
				b.Run("metrics="+s.name, func(b *testing.B) { measure(b, c, tasks.NewSpin1us) })
			}
		})
	}
}
