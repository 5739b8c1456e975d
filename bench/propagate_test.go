package bench

import (
	"context"
	"testing"
	"time"

	poolrt "github.com/poolgen/poolgen/runtime"
)

// traceKey is the key of the value BenchmarkPropagateCost's submitter
// puts in its context.
type traceKey struct{}

// BenchmarkPropagateCost: what passing the submitter's context on to the
// task costs the fixed pools on the tiny task of BenchmarkTiny from one
// submitter, GOMAXPROCS workers: propagate=off is the default,
// propagate=values is poolrt.PropagateContext (each task takes a recycled
// handle to carry the context, and its worker's reusable context answers
// its values), propagate=deadline is poolrt.PropagateDeadline with a
// submitter's deadline an hour away (the worker's timer re-armed per
// task as well). Every row submits with a context holding a value and
// that deadline. Compare with
//
//	benchstat -filter .name:PropagateCost -col /propagate results.txt
func BenchmarkPropagateCost(b *testing.B) {
	ctx, cancel := context.WithTimeout(context.WithValue(context.Background(), traceKey{}, "trace"), time.Hour)
	defer cancel()
	for _, impl := range poolgenImpls(generatedTiny) {
		b.Run("pool=fixed-"+trimPoolgen(impl.name), func(b *testing.B) {
			for _, s := range []struct {
				name string
				opts []poolrt.Option
			}{
				{"off", nil},
				{"values", []poolrt.Option{poolrt.PropagateContext()}},
				{"deadline", []poolrt.Option{poolrt.PropagateDeadline()}},
			} {
				c := impl.contestant("", s.opts)
				b.Run("propagate="+s.name, func(b *testing.B) {
					measure(b, c, config{workers: gomaxprocs(), ctx: ctx}, 1, newTiny)
				})
			}
		})
	}
}
