package templates_test

import (
	"context"
	"strconv"
	"testing"

	poolrt "github.com/poolgen/poolgen/runtime"
	"github.com/poolgen/poolgen/templates"
)

// The fair pool against the priority pool, the other pool of one lock
// feeding its workers, and the fixed pool: what sharing between tenants
// costs per task. Run with -benchmem; every benchmark must report 0
// allocs/op.

// BenchmarkFairTiny: one submitter, two workers, a task that does nothing,
// spread over tenants tenants in turn: the per-task cost of Submit, the
// take (the choice of tenant, the clock reads that measure the task) and
// the run.
func BenchmarkFairTiny(b *testing.B) {
	for _, tenants := range []int{1, 16, 1024} {
		jobs := make([]fairJob, 4096)
		for i := range jobs {
			jobs[i] = fairJob{who: "tenant-" + strconv.Itoa(i%tenants)}
		}
		b.Run("tenants="+strconv.Itoa(tenants), func(b *testing.B) {
			p, err := templates.NewFairPool[fairJob](poolrt.Workers(2), poolrt.TenantQueueSize(1024))
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
			if err := p.Shutdown(ctx); err != nil { // every task has run
				b.Fatal(err)
			}
		})
	}
}
