package bench

import (
	"testing"
	"time"

	"github.com/poolgen/poolgen/bench/tasks"
	poolprom "github.com/poolgen/poolgen/contrib/prometheus"
	poolrt "github.com/poolgen/poolgen/runtime"
	"github.com/poolgen/poolgen/runtime/poolmon"
	"github.com/prometheus/client_golang/prometheus"
)

// BenchmarkMetricsCost: workload 9, what poolgen's metrics cost, for every
// poolgen pool (the bar: at most 5% on a 1 µs task). metrics=on is the
// default (counters, and latency histograms sampled one task in 16);
// metrics=off is poolrt.Metrics(false)
// (counters only); metrics=every-task times every task
// (poolrt.LatencySampling(1)), the most a user can ask for, shown for
// information; metrics=monitored is metrics=on with the pool named
// (poolrt.Name) and watched as a service would watch it, ten times more
// often: a poolmon.Monitor sampling it every 100 ms and a Prometheus
// registry with the poolprom collector gathered every 100 ms (Prometheus
// scrapes every 15 s by default), so that the difference from
// metrics=on is what the history and the exporter cost the pool (the
// bar: at most 2% on the 1 µs task). The fixed pools run the 1 µs task of BenchmarkSpin1us from
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
					if s.watch {
						defer watch(b)()
					}
					measure(b, c, config{workers: gomaxprocs()}, 1, tasks.NewSpin1us)
				})
			}
		})
	}
	for _, c := range batchContestants()[:2] {
		b.Run("pool=batch-"+trimPoolgen(c.name), func(b *testing.B) {
			for _, s := range metricsSettings {
				b.Run("metrics="+s.name, func(b *testing.B) {
					if s.watch {
						defer watch(b)()
					}
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
	name  string
	opts  []poolrt.Option
	watch bool // run watch around the pool
}{
	{"on", nil, false},
	{"off", []poolrt.Option{poolrt.Metrics(false)}, false},
	{"every-task", []poolrt.Option{poolrt.LatencySampling(1)}, false},
	{"monitored", []poolrt.Option{poolrt.Name("bench-metrics")}, true},
}

// watchEvery is how often watch samples and gathers the named pools.
const watchEvery = 100 * time.Millisecond

// watch starts what a service runs to watch its named pools, a poolmon
// Monitor and a Prometheus registry with poolprom's collector, sampling
// and gathering every watchEvery, and returns the function that stops
// both.
func watch(b *testing.B) (stop func()) {
	m, err := poolmon.Start(poolmon.Config{Interval: watchEvery})
	if err != nil {
		b.Fatal(err)
	}
	c, err := poolprom.New()
	if err != nil {
		b.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(c)
	quit, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(watchEvery)
		defer tick.Stop()
		for {
			select {
			case <-quit:
				return
			case <-tick.C:
				if _, err := reg.Gather(); err != nil {
					b.Error(err)
					return
				}
			}
		}
	}()
	return func() {
		close(quit)
		<-done
		m.Stop()
	}
}

// metricsExtra holds the metrics-cost benchmarks of the other patterns: run
// gets the sub-benchmark pool=<name> and runs metrics=on, off, every-task.
var metricsExtra []struct {
	name string
	run  func(b *testing.B)
}

// trimPoolgen turns "poolgen-generated" into "generated".
func trimPoolgen(name string) string { return name[len("poolgen-"):] }
