package bench

import (
	"testing"
	"time"

	"github.com/poolgen/poolgen/bench/tasks"
	poolrt "github.com/poolgen/poolgen/runtime"
)

// BenchmarkBreakerCost: what a closed circuit breaker (poolrt.Breaker)
// costs the fixed pools per task, on the smallest task from GOMAXPROCS
// submitters, where the pool's own cost is all there is: breaker=off is
// the default; pool, one breaker for the pool (consecutive failures:
// atomic loads per task); keyed, a breaker per key (BreakerKey: the key
// function and a map lookup more); window, a failure rate over a sliding
// window (every outcome takes the breaker's lock). Compare with
//
//	benchstat -filter .name:BreakerCost -col /breaker results.txt
func BenchmarkBreakerCost(b *testing.B) {
	policy := poolrt.BreakerPolicy{Failures: 5, Cooldown: time.Second}
	window := poolrt.BreakerPolicy{FailureRate: 0.5, Cooldown: time.Second}
	for _, impl := range poolgenImpls(generatedTiny) {
		b.Run("pool=fixed-"+trimPoolgen(impl.name), func(b *testing.B) {
			for _, s := range []struct {
				name string
				opts []poolrt.Option
			}{
				{"off", nil},
				{"pool", []poolrt.Option{poolrt.Breaker(policy)}},
				{"keyed", []poolrt.Option{poolrt.Breaker(policy), poolrt.BreakerKey(func(t tasks.Tiny) *tasks.Counter { return t.C })}},
				{"window", []poolrt.Option{poolrt.Breaker(window)}},
			} {
				c := impl.contestant("", s.opts)
				b.Run("breaker="+s.name, func(b *testing.B) {
					measure(b, c, config{workers: gomaxprocs()}, gomaxprocs(), newTiny)
				})
			}
		})
	}
}
