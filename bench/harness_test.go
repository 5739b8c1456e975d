package bench

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"testing"
	"time"

	"github.com/poolgen/poolgen/bench/tasks"
)

// TestMain calibrates the 1 µs task before anything is timed and prints the
// calibration as benchmark configuration lines, so that it is recorded next
// to the results (benchstat shows such "key: value" lines as the file's
// configuration).
func TestMain(m *testing.M) {
	rounds := tasks.SpinRounds()
	fmt.Printf("spin1us-rounds: %d\n", rounds)
	fmt.Printf("gomaxprocs: %d\n", runtime.GOMAXPROCS(0))
	os.Exit(m.Run())
}

// pool is one contestant's pool for tasks of type T, started for one
// benchmark run. An adapter owns the submission loop, so that it calls its
// pool's concrete Submit directly, as a user would: the harness adds no
// interface or closure call per task.
type pool[T any] interface {
	// submitN submits t n times from the calling goroutine and returns once
	// the pool has accepted all of them. It returns the first error: a
	// contestant must not refuse or drop a task.
	submitN(ctx context.Context, t T, n int) error
	// close shuts the pool down. The harness calls it only after every
	// submitted task has run, and fails if it returns an error.
	close() error
}

// contestant is one row of a benchmark: a named way to start a pool of
// workers for tasks of type T.
type contestant[T any] struct {
	name  string
	start func(workers int) (pool[T], error)
}

// workload is what each contestant runs: a task that counts its runs on the
// counter it is made with.
type workload[T any] func(c *tasks.Counter) T

// runContestants runs one sub-benchmark per contestant, named impl=<name>.
func runContestants[T any](b *testing.B, cs []contestant[T], newTask workload[T]) {
	for _, c := range cs {
		b.Run("impl="+c.name, func(b *testing.B) { measure(b, c, newTask) })
	}
}

// measure times b.N tasks through one contestant: the pool is started
// before the timer and shut down after it; the timed region is submitting
// all b.N tasks from this goroutine AND waiting until all of them have run,
// so ns/op is the cost of one task from submission to completion
// (throughput), not of the submission alone. Every pool gets the same
// number of workers: GOMAXPROCS. The run fails unless every task ran
// exactly once.
func measure[T any](b *testing.B, c contestant[T], newTask workload[T]) {
	b.ReportAllocs()
	workers := runtime.GOMAXPROCS(0)
	p, err := c.start(workers)
	if err != nil {
		b.Fatalf("%s: start: %v", c.name, err)
	}
	counter := new(tasks.Counter)
	t := newTask(counter)
	ctx := context.Background()

	b.ResetTimer()
	if err := p.submitN(ctx, t, b.N); err != nil {
		b.Fatalf("%s: submit: %v", c.name, err)
	}
	if err := waitCount(counter, int64(b.N), 30*time.Second); err != nil {
		b.Fatalf("%s: %v", c.name, err)
	}
	b.StopTimer()

	if err := p.close(); err != nil {
		b.Fatalf("%s: close: %v", c.name, err)
	}
	if got := counter.Load(); got != int64(b.N) {
		b.Fatalf("%s: %d tasks ran, want exactly %d (b.N)", c.name, got, b.N)
	}
}

// waitCount waits until c reaches n, yielding the processor while it waits
// so that the workers can run. It gives up if the count makes no progress
// for stall, which means a contestant lost tasks.
func waitCount(c *tasks.Counter, n int64, stall time.Duration) error {
	last, since := c.Load(), time.Now()
	for i := 0; ; i++ {
		got := c.Load()
		if got >= n {
			return nil
		}
		if i%1024 == 0 {
			if got != last {
				last, since = got, time.Now()
			} else if time.Since(since) > stall {
				return fmt.Errorf("only %d of %d tasks ran; no progress for %v", got, n, stall)
			}
		}
		runtime.Gosched()
	}
}
