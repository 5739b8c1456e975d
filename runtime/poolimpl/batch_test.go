package poolimpl

import (
	"context"
	"testing"
	"time"

	poolrt "github.com/poolgen/poolgen/runtime"
)

// TestBatchYieldLeavesNextBatchReady: a worker of the batch pool gives way
// at the end of its slice before it takes the next ready batch, so that
// the batch stays ready, for an idle worker to take, while the worker
// waits for its P again.
func TestBatchYieldLeavesNextBatchReady(t *testing.T) {
	var p Batch[int, string]
	handled := make(chan []int, 2)
	probe := probeYields(t, func() bool {
		p.mu.Lock()
		defer p.mu.Unlock()
		return p.nready > 0
	})
	first := true
	err := p.Init([]poolrt.Option{poolrt.Workers(1), poolrt.MaxBatch(2), poolrt.Linger(time.Hour)}, func(ctx context.Context, b []int) error {
		handled <- b
		if first {
			first = false
			// The next batch is ready (full) before this one ends, and
			// the slice is over: the worker gives way before taking it.
			for _, v := range []int{3, 4} {
				if err := p.Submit(ctx, v, "k"); err != nil {
					return err
				}
			}
			p.workers[0].slice.end, p.workers[0].slice.left = 1, 1
			probe.arm()
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	defer p.ShutdownNow()
	for _, v := range []int{1, 2} {
		if err := p.Submit(context.Background(), v, "k"); err != nil {
			t.Fatal(err)
		}
	}
	for range 2 {
		select {
		case <-handled:
		case <-time.After(5 * time.Second):
			t.Fatal("a batch was not handled within 5s")
		}
	}
	probe.gaveWay(t, "took its next batch")
}
