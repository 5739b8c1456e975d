// Package tasks holds the task types the benchmarks submit, declared and
// annotated the way a poolgen user would declare them, so that the same
// types feed the generic pools (templates.FixedPool[T]), the pools poolgen
// generates for them (tiny_pool.go, once generated) and every peer pool.
//
// Every task counts its own run on a [Counter] that the harness reads: a
// benchmark passes only if the count equals the number of tasks submitted,
// so a contestant that drops or repeats a task fails instead of looking fast.
package tasks

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

//go:generate go run github.com/poolgen/poolgen/cmd/poolgen -type=Tiny,Spin1us

// Counter counts completed tasks. It sits alone on its cache lines so that
// the tasks' atomic adds contend only with each other, never with pool
// state that happens to be allocated next to it.
type Counter struct {
	_ [128]byte
	n atomic.Int64
	_ [128]byte
}

// Load returns the number of completed tasks.
func (c *Counter) Load() int64 { return c.n.Load() }

// Tiny is the smallest useful task: one atomic add. With it the benchmark
// measures almost nothing but the pool's own cost per task.
//
//poolgen:pools fixed
type Tiny struct {
	C *Counter
}

// Run counts the task.
func (t Tiny) Run(ctx context.Context) error {
	t.C.n.Add(1)
	return nil
}

// Spin1us is a CPU-bound task of about one microsecond: N rounds of a
// xorshift generator (a dependent chain the compiler cannot remove or
// vectorize), then one atomic add. N is fixed when the task is made (see
// [NewSpin1us]), so every task does the same work however the pool
// schedules it; nothing is timed per task.
//
//poolgen:pools fixed
type Spin1us struct {
	C *Counter
	N int
}

// NewSpin1us returns a Spin1us counting on c, with N calibrated to about
// one microsecond on this machine.
func NewSpin1us(c *Counter) Spin1us {
	return Spin1us{C: c, N: SpinRounds()}
}

// Run spins for N rounds and counts the task.
func (t Spin1us) Run(ctx context.Context) error {
	if spin(t.N) == 0 { // never true: keeps the loop's result live
		t.C.n.Add(1 << 32)
	}
	t.C.n.Add(1)
	return nil
}

// spin runs n rounds of xorshift64 and returns the final state, never 0.
//
//go:noinline
func spin(n int) uint64 {
	x := uint64(88172645463325252)
	for range n {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
	}
	return x
}

// mustSpin runs n rounds of spin, using the result so that the call
// cannot be removed.
func mustSpin(n int) {
	if spin(n) == 0 {
		panic("spin returned 0")
	}
}

// Spin runs n rounds of the tasks' CPU work (n from SpinRounds), for
// goroutines that share the CPUs with a workload's pool.
func Spin(n int) { mustSpin(n) }

// SpinTarget is the duration Spin1us is calibrated to.
const SpinTarget = time.Microsecond

var calibration struct {
	once   sync.Once
	rounds int
}

// SetSpinRounds fixes the calibration instead of measuring it: n rounds
// (n > 0) from now on. It must be called before the first SpinRounds;
// the benchmarks' -spin.rounds flag calls it so that several processes
// run the same work.
func SetSpinRounds(n int) {
	calibration.once.Do(func() { calibration.rounds = n })
}

// SpinRounds returns the number of spin rounds that take about
// SpinTarget on this machine. It is measured once per process, on first
// use: the fastest of several timed runs (the least disturbed by other
// load), scaled to SpinTarget.
func SpinRounds() int {
	calibration.once.Do(func() {
		const probe = 200_000
		mustSpin(probe) // warm up
		best := time.Duration(1<<63 - 1)
		for range 15 {
			start := time.Now()
			mustSpin(probe)
			best = min(best, time.Since(start))
		}
		calibration.rounds = max(1, int(int64(probe)*int64(SpinTarget)/int64(max(best, 1))))
	})
	return calibration.rounds
}
