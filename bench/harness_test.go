package bench

import (
	"context"
	"flag"
	"fmt"
	"math"
	"os"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/poolgen/poolgen/bench/tasks"
	poolrt "github.com/poolgen/poolgen/runtime"
)

// Scenario sizes. The throughput workloads size themselves through b.N
// (-benchtime); the scenario workloads (latency, priority, memory) run a
// fixed amount of work per iteration, chosen by -size:
//
//	smoke  seconds in all: what CI's -benchtime=1x run gets
//	quick  a few seconds per contestant: the report's -quick
//	full   the measured suite: a few seconds per latency point
//
// -size=auto (the default) is smoke under -benchtime=1x or -short, else
// full. The other flags override one dimension of the chosen size.
var (
	sizeFlag      = flag.String("size", "auto", "scenario sizes: smoke, quick, full, or auto (smoke under -benchtime=1x or -short, else full)")
	latPointFlag  = flag.Duration("lat.point", 0, "latency workload: duration of one load point (0: by -size)")
	latTaskFlag   = flag.Duration("lat.task", 20*time.Microsecond, "latency and priority workloads: CPU time of one task")
	latCapFlag    = flag.Float64("lat.capacity", 0, "latency workload: tasks/s the load points are fractions of, the same for every contestant (0: each contestant's own measured capacity)")
	prioPointFlag = flag.Duration("prio.point", 0, "priority workload: duration of the overload (0: by -size)")
	prioLoadFlag  = flag.Float64("prio.load", 1.2, "priority workload: arrival rate as a multiple of the measured capacity")
	prioHighFlag  = flag.Float64("prio.high", 0.2, "priority workload: share of high-priority tasks")
	memTasksFlag  = flag.Int("mem.tasks", 0, "memory workload: tasks queued behind blocked workers (0: by -size)")
	memParkFlag   = flag.Int("mem.parked", 0, "memory workload: tasks queued for pools whose Submit blocks, each one a parked goroutine (0: by -size)")
	spinFlag      = flag.Int("spin.rounds", 0, "spin rounds of the 1 µs task (0: calibrate; cmd/report passes one calibration to every run)")
)

// scale is the resolved size of the scenario workloads.
type scale struct {
	name      string
	latPoint  time.Duration // one latency load point
	capWindow time.Duration // capacity measurement before the points
	prioPoint time.Duration // the priority workload's overload
	memTasks  int           // memory: queued tasks, non-blocking pools
	memParked int           // memory: queued tasks, pools whose Submit blocks
	forkSize  uint32        // fork-join: nodes per tree
	ioWorkers int           // I/O-like workload: workers
}

var scales = map[string]scale{
	"smoke": {"smoke", 20 * time.Millisecond, 10 * time.Millisecond, 20 * time.Millisecond, 10_000, 2_000, 1<<10 - 1, 1000},
	"quick": {"quick", 500 * time.Millisecond, 100 * time.Millisecond, 300 * time.Millisecond, 200_000, 20_000, 1<<13 - 1, 1000},
	"full":  {"full", 3 * time.Second, 300 * time.Millisecond, time.Second, 1_000_000, 200_000, 1<<15 - 1, 1000},
}

var size = sync.OnceValue(func() scale {
	name := *sizeFlag
	if name == "auto" {
		name = "full"
		if f := flag.Lookup("test.benchtime"); testing.Short() || f != nil && f.Value.String() == "1x" {
			name = "smoke"
		}
	}
	s, ok := scales[name]
	if !ok {
		fmt.Fprintf(os.Stderr, "bench: -size=%s: want smoke, quick, full or auto\n", *sizeFlag)
		os.Exit(2)
	}
	if *latPointFlag > 0 {
		s.latPoint = *latPointFlag
	}
	if *prioPointFlag > 0 {
		s.prioPoint = *prioPointFlag
	}
	if *memTasksFlag > 0 {
		s.memTasks = *memTasksFlag
	}
	if *memParkFlag > 0 {
		s.memParked = *memParkFlag
	}
	return s
})

// TestMain calibrates the spinning tasks before anything is timed and
// prints the calibration and the scenario sizes as configuration lines
// ("key: value"), which benchstat and cmd/report keep with the results.
func TestMain(m *testing.M) {
	flag.Parse()
	if c := *latCapFlag; c < 0 || math.IsNaN(c) || math.IsInf(c, 0) {
		fmt.Fprintf(os.Stderr, "bench: -lat.capacity %v: want a finite number of tasks/s, or 0 to measure each contestant's\n", c)
		os.Exit(2)
	}
	if *spinFlag > 0 {
		tasks.SetSpinRounds(*spinFlag)
	}
	s := size()
	fmt.Printf("spin1us-rounds: %d\n", tasks.SpinRounds())
	fmt.Printf("size: %s\n", s.name)
	fmt.Printf("lat-task: %v\n", *latTaskFlag)
	fmt.Printf("lat-point: %v\n", s.latPoint)
	if *latCapFlag > 0 {
		fmt.Printf("lat-capacity: %g\n", *latCapFlag)
	}
	fmt.Printf("mem-tasks: %d\n", s.memTasks)
	fmt.Printf("mem-parked: %d\n", s.memParked)
	os.Exit(m.Run())
}

// pool is one contestant's pool for tasks of type T, started for one
// benchmark run. An adapter owns the submission loop, so that it calls its
// pool's concrete Submit directly, as a user would: the throughput
// workloads make no interface or closure call per task in the harness.
type pool[T any] interface {
	// submitN submits t n times from the calling goroutine and returns once
	// the pool has accepted all of them. It returns the first error: a
	// contestant must not refuse or drop a task. Several goroutines may
	// call it at once.
	submitN(ctx context.Context, t T, n int) error
	// submit submits one task, as submitN(ctx, t, 1) does. The scenario
	// workloads, whose tasks differ, call it once per task.
	submit(ctx context.Context, t T) error
	// close shuts the pool down. The harness calls it only after every
	// submitted task has run, and fails if it returns an error.
	close() error
}

// forker is a pool whose tasks can submit subtasks to it (fork-join).
type forker[T any] interface {
	pool[T]
	// fork submits t from inside a running task. It must not block on a
	// busy pool (that deadlocks a pool whose workers all fork): it queues
	// t if the pool can take it at once and otherwise runs t on the calling
	// goroutine.
	fork(ctx context.Context, t T)
}

// config is how a workload wants a contestant's pool.
type config struct {
	workers int
	// queue, if not 0, is how many waiting tasks a bounded queue must hold
	// (poolgen's QueueSize, a channel's capacity); pools with unbounded
	// queues ignore it.
	queue int
	// nested: tasks will submit to the pool (fork-join); pools whose only
	// non-blocking mode is a setting (ants) are started in it.
	nested bool
	// opts are extra options for poolgen pools.
	opts []poolrt.Option
	// ctx is the context tasks are submitted with; nil means
	// context.Background().
	ctx context.Context
}

// contestant is one row of a benchmark: a named way to start a pool of
// workers for tasks of type T.
type contestant[T any] struct {
	name  string
	start func(cfg config) (pool[T], error)
	// blocking: Submit waits while every worker is busy (there is no
	// queue), so tasks waiting for a worker live in blocked submitters.
	blocking bool
	// noFork, if not empty, says why the contestant cannot run the
	// fork-join workload.
	noFork string
}

// workload is what each contestant runs: a task that counts its runs on the
// counter it is made with.
type workload[T any] func(c *tasks.Counter) T

// gomaxprocs is the number of workers and submitters a workload means by
// GOMAXPROCS, read when it runs (go test -cpu changes it).
func gomaxprocs() int { return runtime.GOMAXPROCS(0) }

// runContestants runs one sub-benchmark per contestant, named impl=<name>,
// each timing b.N tasks from submitters goroutines on pools of workers
// workers.
func runContestants[T any](b *testing.B, cs []contestant[T], workers, submitters int, newTask workload[T]) {
	for _, c := range cs {
		b.Run("impl="+c.name, func(b *testing.B) {
			measure(b, c, config{workers: workers}, submitters, newTask)
		})
	}
}

// measure times b.N tasks through one contestant: the pool is started
// before the timer and shut down after it; the timed region is submitting
// all b.N tasks from submitters goroutines AND waiting until all of them
// have run, so ns/op is the cost of one task from submission to completion
// (throughput), not of the submission alone. The run fails unless every
// task ran exactly once: the tasks are identical values, so "exactly once"
// is checked as "b.N runs counted, and no more after shutdown" (a pool
// that dropped one task and ran another twice would pass; one that does
// either alone fails).
func measure[T any](b *testing.B, c contestant[T], cfg config, submitters int, newTask workload[T]) {
	b.ReportAllocs()
	p, err := c.start(cfg)
	if err != nil {
		b.Fatalf("%s: start: %v", c.name, err)
	}
	counter := new(tasks.Counter)
	t := newTask(counter)
	ctx := cfg.ctx
	if ctx == nil {
		ctx = context.Background()
	}

	b.ResetTimer()
	if submitters <= 1 {
		if err := p.submitN(ctx, t, b.N); err != nil {
			b.Fatalf("%s: submit: %v", c.name, err)
		}
	} else {
		var wg sync.WaitGroup
		errs := make(chan error, submitters)
		for i := range submitters {
			n := b.N / submitters
			if i < b.N%submitters {
				n++
			}
			wg.Go(func() {
				if err := p.submitN(ctx, t, n); err != nil {
					errs <- err
				}
			})
		}
		wg.Wait()
		close(errs)
		if err := <-errs; err != nil {
			b.Fatalf("%s: submit: %v", c.name, err)
		}
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
	return waitFor(c.Load, n, stall)
}

// waitFor waits until load() reaches n; see waitCount.
func waitFor(load func() int64, n int64, stall time.Duration) error {
	last, since := load(), time.Now()
	for i := 0; ; i++ {
		got := load()
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
		if i < 1<<16 {
			runtime.Gosched()
		} else {
			time.Sleep(50 * time.Microsecond) // a long wait (blocking tasks): stop spinning
		}
	}
}
