package templates_test

import (
	"context"
	"testing"
	"time"

	poolrt "github.com/poolgen/poolgen/runtime"
	"github.com/poolgen/poolgen/templates"
)

// noop is a task that does nothing.
type noop struct{}

func (noop) Run(context.Context) error { return nil }

// BenchmarkScheduleCost measures Submit on a pool that never schedules
// (SubmitAfter's zero cost when unused) and SubmitAfter's own cost per
// task: the push into the delay queue, for tasks due in an hour (the
// pool is replaced whenever its schedule is full).
func BenchmarkScheduleCost(b *testing.B) {
	ctx := context.Background()
	b.Run("Submit", func(b *testing.B) {
		p, err := templates.NewFixedPool[noop](poolrt.Workers(2), poolrt.QueueSize(1024))
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			if err := p.Submit(ctx, noop{}); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		p.Shutdown(ctx)
	})
	b.Run("SubmitAfter", func(b *testing.B) {
		const size = 1 << 16
		p, err := templates.NewFixedPool[noop](poolrt.Workers(1), poolrt.QueueSize(size))
		if err != nil {
			b.Fatal(err)
		}
		limit := p.Stats().QueueCap
		n := 0
		b.ReportAllocs()
		for b.Loop() {
			if n == limit {
				b.StopTimer()
				p.ShutdownNow()
				if p, err = templates.NewFixedPool[noop](poolrt.Workers(1), poolrt.QueueSize(size)); err != nil {
					b.Fatal(err)
				}
				n = 0
				b.StartTimer()
			}
			if err := p.SubmitAfter(time.Hour, noop{}); err != nil {
				b.Fatal(err)
			}
			n++
		}
		b.StopTimer()
		p.ShutdownNow()
	})
}

// TestSubmitAfterAllocs: once the delay queue has grown, scheduling a task
// allocates nothing.
func TestSubmitAfterAllocs(t *testing.T) {
	r, err := templates.NewFixedPool[noop](poolrt.Workers(1), poolrt.QueueSize(4096))
	if err != nil {
		t.Fatal(err)
	}
	defer r.ShutdownNow()
	if err := r.SubmitAfter(time.Hour, noop{}); err != nil {
		t.Fatal(err)
	}
	// Amortized over the heap's growth: at most one allocation per
	// doubling, well under one per call.
	allocs := testing.AllocsPerRun(1000, func() {
		if err := r.SubmitAfter(time.Hour, noop{}); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 0.05 {
		t.Errorf("SubmitAfter: %v allocs per call, want ~0", allocs)
	}
	submits := testing.AllocsPerRun(1000, func() {
		if err := r.TrySubmit(noop{}); err != nil && err != poolrt.ErrQueueFull {
			t.Fatal(err)
		}
	})
	if submits != 0 {
		t.Errorf("TrySubmit on a pool that schedules: %v allocs, want 0", submits)
	}
}
