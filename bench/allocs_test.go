package bench

import (
	"context"
	"runtime"
	"testing"

	"github.com/poolgen/poolgen/bench/tasks"
	poolrt "github.com/poolgen/poolgen/runtime"
)

// TestAllocs asserts that submitting to a poolgen pool allocates nothing in
// steady state, for every poolgen fixed pool (generated and generic), with
// metrics on and off, for each task type of the throughput workloads, and
// for the batch pools. The count is process-wide, so it covers the workers
// running the tasks too.
func TestAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	t.Run("task=Tiny", func(t *testing.T) {
		testAllocs(t, poolgenImpls(generatedTiny), newTiny)
	})
	t.Run("task=Spin1us", func(t *testing.T) {
		testAllocs(t, poolgenImpls(generatedSpin1us), tasks.NewSpin1us)
	})
	t.Run("task=Item", testBatchAllocs)
}

// testBatchAllocs checks the batch pools: Submit per item, batches of 64.
func testBatchAllocs(t *testing.T) {
	const (
		size = 64
		runs = 200 // measured calls of size Submits each
	)
	for _, c := range batchContestants()[:2] {
		for _, m := range []struct {
			suffix string
			opts   []poolrt.Option
		}{{"", nil}, {"-nometrics", []poolrt.Option{poolrt.Metrics(false)}}} {
			t.Run("impl="+c.name+m.suffix, func(t *testing.T) {
				p, err := c.start(runtime.GOMAXPROCS(0), size, m.opts...)
				if err != nil {
					t.Fatal(err)
				}
				counter := new(tasks.ItemCounter)
				ctx := context.Background()
				var submitErr error
				submit := func() {
					if err := p.submitItems(ctx, counter, size); err != nil && submitErr == nil {
						submitErr = err
					}
				}
				for range 100 {
					submit() // warm up: batches and their slices exist
				}
				allocs := testing.AllocsPerRun(runs, submit)
				if submitErr != nil {
					t.Fatal(submitErr)
				}
				if err := p.close(); err != nil {
					t.Fatal(err)
				}
				if want := int64((100 + runs + 1) * size); counter.Load() != want {
					t.Errorf("%d items handled, want %d", counter.Load(), want)
				}
				if allocs != 0 {
					t.Errorf("%v allocations per %d Submits, want 0", allocs, size)
				}
			})
		}
	}
}

func testAllocs[T any](t *testing.T, impls []poolgenImpl[T], newTask workload[T]) {
	const (
		warm  = 10_000 // tasks run before measuring: steady state
		runs  = 20_000 // measured calls of one Submit each
		batch = 1_000  // Submits per call in the stricter check
	)
	for _, impl := range impls {
		for _, m := range []struct {
			suffix string
			opts   []poolrt.Option
		}{{"", nil}, {"-nometrics", []poolrt.Option{poolrt.Metrics(false)}}} {
			c := impl.contestant(m.suffix, m.opts)
			t.Run("impl="+c.name, func(t *testing.T) {
				p, err := c.start(config{workers: runtime.GOMAXPROCS(0)})
				if err != nil {
					t.Fatal(err)
				}
				counter := new(tasks.Counter)
				task := newTask(counter)
				ctx := context.Background()
				var submitErr error
				submit := func(n int) func() {
					return func() {
						if err := p.submitN(ctx, task, n); err != nil && submitErr == nil {
							submitErr = err
						}
					}
				}
				submit(warm)()
				perSubmit := testing.AllocsPerRun(runs, submit(1))
				// AllocsPerRun truncates its average to an integer, so
				// the per-Submit figure cannot see an allocation made once
				// per batch of tasks; over batch Submits per call it can.
				perBatch := testing.AllocsPerRun(runs/batch, submit(batch))
				if submitErr != nil {
					t.Fatal(submitErr)
				}
				if err := p.close(); err != nil {
					t.Fatal(err)
				}
				// AllocsPerRun makes one extra, unmeasured call.
				want := int64(warm + runs + 1 + (runs/batch+1)*batch)
				if got := counter.Load(); got != want {
					t.Errorf("%d tasks ran, want %d", got, want)
				}
				if perSubmit != 0 {
					t.Errorf("%v allocations per Submit, want 0", perSubmit)
				}
				if perBatch != 0 {
					t.Errorf("%v allocations per %d Submits, want 0", perBatch, batch)
				}
			})
		}
	}
}
