package templates_test

import (
	"context"
	"testing"

	poolrt "github.com/poolgen/poolgen/runtime"
)

// BenchmarkShedTiny: what Shed costs a pool that is not overloaded, on
// tiny tasks (BenchmarkRankTiny's): the fixed and priority pools with
// shedding off and on. On, each submission loads the controller's state
// and each timed task's start hands it its wait. Run with -benchmem;
// every benchmark must report 0 allocs/op.
func BenchmarkShedTiny(b *testing.B) {
	jobs := rankBenchJobs(4096, 16)
	for _, bp := range rankBenchPools[:2] {
		for _, on := range []bool{false, true} {
			name := bp.name + "/shed=off"
			opts := []poolrt.Option{poolrt.Workers(2)}
			if on {
				name = bp.name + "/shed=on"
				opts = append(opts, poolrt.Shed(poolrt.ShedPolicy{}))
			}
			b.Run(name, func(b *testing.B) {
				p, err := bp.new(opts...)
				if err != nil {
					b.Fatal(err)
				}
				ctx := context.Background()
				b.ReportAllocs()
				b.ResetTimer()
				for i := range b.N {
					if err := p.Submit(ctx, jobs[i&(len(jobs)-1)]); err != nil {
						b.Fatal(err)
					}
				}
				if err := p.Shutdown(ctx); err != nil {
					b.Fatal(err)
				}
			})
		}
	}
}
