package bench

import (
	"testing"
	"time"

	"github.com/poolgen/poolgen/bench/tasks"
	poolrt "github.com/poolgen/poolgen/runtime"
)

// BenchmarkTimeoutCost: what a per-task timeout (poolrt.TaskTimeout) costs
// the fixed pools on the 1 µs task of BenchmarkSpin1us from one
// submitter: timeout=off is the default, timeout=on gives every task a
// timeout it never reaches (each worker's context re-armed per task: a
// clock read, a timer reset and stop). Compare with
//
//	benchstat -filter .name:TimeoutCost -col /timeout results.txt
func BenchmarkTimeoutCost(b *testing.B) {
	for _, impl := range poolgenImpls(generatedSpin1us) {
		b.Run("pool=fixed-"+trimPoolgen(impl.name), func(b *testing.B) {
			for _, s := range []struct {
				name string
				opts []poolrt.Option
			}{
				{"off", nil},
				{"on", []poolrt.Option{poolrt.TaskTimeout(time.Second)}},
			} {
				c := impl.contestant("", s.opts)
				b.Run("timeout="+s.name, func(b *testing.B) {
					measure(b, c, config{workers: gomaxprocs()}, 1, tasks.NewSpin1us)
				})
			}
		})
	}
}
